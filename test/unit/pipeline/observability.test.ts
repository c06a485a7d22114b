import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { escapeLabel, prometheusMetrics } from '../../../src/pipeline/prometheus.js';
import { eventOf, sinkDouble } from './doubles.js';

const LINE = /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{aggregator="(?:[^"\\]|\\.)*"\})? -?\d+(\.\d+)?)$/;

describe('prometheusMetrics', () => {
  it('renders every counter with HELP/TYPE lines and per-aggregator labels', async () => {
    const down = sinkDouble('down "quoted"\\name', 'fail');
    const up = sinkDouble('up');
    const p = createPipeline({
      aggregators: [down, up],
      spool: false,
      retry: { initialMs: 1, maxMs: 1, maxAttempts: 1 },
      onError: () => undefined,
    });
    p.push(eventOf(1));
    p.push(eventOf(2));
    await p.flush();
    const text = prometheusMetrics(p);
    const lines = text.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(LINE);
    expect(text).toContain('privacy_log_events_accepted_total 2\n');
    expect(text).toContain('privacy_log_events_dropped_total 2\n');
    expect(text).toContain('privacy_log_aggregator_events_delivered_total{aggregator="up"} 2\n');
    expect(text).toContain('privacy_log_aggregator_up{aggregator="down \\"quoted\\"\\\\name"} 0\n');
    expect(text).toContain('privacy_log_aggregator_up{aggregator="up"} 1\n');
    expect(text).toMatch(/privacy_log_aggregator_failing_since_seconds\{aggregator="up"\} 0\n/);
    expect(text).toMatch(/# TYPE privacy_log_events_queued gauge/);
    // Each family is declared exactly once.
    const types = lines.filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    await p.close();
  });

  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});

describe('forget and salt', () => {
  it('fans forget out, and filters the session out of batches still queued', async () => {
    const a = sinkDouble('a');
    const hanging = sinkDouble('b', 'fail');
    const p = createPipeline({
      aggregators: [a, hanging],
      spool: false,
      batch: { maxWaitMs: 60_000 },
      retry: { initialMs: 5, maxMs: 5, maxAttempts: 1000 },
      onError: () => undefined,
    });
    const granted = { consent: { analytics: 'granted' as const, source: 'choice' as const }, session: { id: 's-1' } };
    p.push(eventOf(1, granted));
    p.push(eventOf(2));
    expect(a.writes + hanging.writes).toBe(0); // nothing written yet: the batch is still open
    expect(await p.forget('s-1')).toBe(0);
    expect(a.forgotten).toEqual(['s-1']);
    hanging.mode = 'ok';
    await p.flush();
    expect([...a.stored.keys()]).toEqual([eventOf(2).id]); // the withdrawn session never reached a store
    expect([...hanging.stored.keys()]).toEqual([eventOf(2).id]);
    await expect(p.forget('')).rejects.toMatchObject({ code: ERROR_CODES.INVALID_OPTION });
    await p.close();
  });

  it('reports a failing forget with the aggregator name', async () => {
    const bad = Object.assign(sinkDouble('bad'), {
      forget: async () => {
        throw new Error('db down');
      },
    });
    const p = createPipeline({ aggregators: [sinkDouble('good'), bad], spool: false });
    await expect(p.forget('s')).rejects.toThrow(/"bad"/);
    await p.close();
  });

  it('takes the salt from the first aggregator that keeps salts, else the candidate', async () => {
    const keeper = Object.assign(sinkDouble('k'), { salt: async (_d: string, _c: string) => 'shared' });
    expect(
      await createPipeline({ aggregators: [sinkDouble('x'), keeper], spool: false }).salt('2026-11-24', 'mine'),
    ).toBe('shared');
    expect(await createPipeline({ aggregators: [sinkDouble('x')], spool: false }).salt('2026-11-24', 'mine')).toBe(
      'mine',
    );
    const errors: string[] = [];
    const broken = Object.assign(sinkDouble('k'), {
      salt: async () => {
        throw new Error('no');
      },
    });
    const p = createPipeline({ aggregators: [broken], spool: false, onError: (e) => errors.push(e.message) });
    expect(await p.salt('2026-11-24', 'mine')).toBe('mine');
    expect(errors[0]).toMatch(/could not share the day's salt/);
  });
});

describe('failures while closing', () => {
  it('a batch that fails during close() is spooled and the failure still reaches onError', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'privacy-log-close-fail-'));
    const errors: string[] = [];
    try {
      const pipeline = createPipeline({
        aggregators: [sinkDouble('down', 'fail')],
        spool: { dir },
        onError: (e) => errors.push(`${e.code} ${e.message}`),
      });
      for (let i = 1; i <= 3; i++) pipeline.push(eventOf(i));
      await pipeline.close({ timeoutMs: 2000 });
      expect(pipeline.metrics()).toMatchObject({ accepted: 3, spoolPending: 3, dropped: 0 });
      expect(errors.some((m) => m.includes('"down"') || m.includes('down'))).toBe(true);
      expect(errors.some((m) => /spooled for replay/.test(m))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
