import { describe, expect, it } from 'vitest';
import { memoryAggregator } from '../../../src/aggregators/memory-aggregator.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { makeEvent } from '../../conformance/dataset.js';

describe('memoryAggregator', () => {
  it('exposes stored events in arrival order, each id once', async () => {
    const m = memoryAggregator();
    const a = makeEvent({ time: '2026-03-10T10:00:00.000Z', path: '/a' });
    const b = makeEvent({ time: '2026-03-10T10:01:00.000Z', path: '/b' });
    await m.write({ events: [a, b], sketches: [] });
    await m.write({ events: [b, a], sketches: [] });
    expect(m.events.map((e) => e.request.path)).toEqual(['/a', '/b']);
    expect(m.name).toBe('memory');
    expect(memoryAggregator({ name: 'dev' }).name).toBe('dev');
  });

  it('is a StatsSource over what it holds', async () => {
    const m = memoryAggregator();
    await m.write({ events: [makeEvent({ time: '2026-03-10T10:00:00.000Z' })], sketches: [] });
    const r = await m.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['pageviews'] });
    expect(r.results).toEqual([{ pageviews: 1 }]);
  });

  it('validates its options with "did you mean"', () => {
    expect(() => memoryAggregator({ nmae: 'x' } as never)).toThrow(/Did you mean "name"/);
    try {
      memoryAggregator({ name: '' });
      expect.unreachable();
    } catch (e) {
      expect(isPrivacyLogError(e, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    }
  });
});
