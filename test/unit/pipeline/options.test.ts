import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isPrivacyLogError } from '../../../src/errors.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import {
  DEFAULT_BATCH_MAX_EVENTS,
  DEFAULT_QUEUE_MAX_EVENTS,
  DEFAULT_RETRY_MAX_ATTEMPTS,
  DEFAULT_SPOOL_DIR,
  resolvePipelineOptions,
  spoolNameOf,
} from '../../../src/pipeline/options.js';
import { sinkDouble } from './doubles.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('createPipeline options', () => {
  it('resolves the documented defaults', () => {
    const o = resolvePipelineOptions(undefined);
    expect(o).toMatchObject({
      batchMaxEvents: DEFAULT_BATCH_MAX_EVENTS,
      batchMaxWaitMs: 1000,
      queueMaxEvents: DEFAULT_QUEUE_MAX_EVENTS,
      overflow: 'spool',
      spool: { dir: DEFAULT_SPOOL_DIR, fsyncIntervalMs: 500, maxBytes: 1024 ** 3, segmentBytes: 16 * 1024 * 1024 },
      retry: { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: true, maxAttempts: DEFAULT_RETRY_MAX_ATTEMPTS },
      enrichTimeoutMs: 300,
      flushMs: 10_000,
      closeMs: 10_000,
      validate: true,
    });
    expect(resolvePipelineOptions({ spool: false }).spool).toBeUndefined();
  });

  it('suggests the right key for a misspelling, at every level', () => {
    const top = thrown(() => createPipeline({ aggregator: [] } as never));
    expect(isPrivacyLogError(top, ERROR_CODES.INVALID_OPTION)).toBe(true);
    expect((top as Error).message).toContain('Did you mean "aggregators"?');
    const nested = thrown(() => createPipeline({ retry: { maxAttemps: 3 } } as never));
    expect((nested as Error).message).toContain('Did you mean "maxAttempts"?');
    const spool = thrown(() => createPipeline({ spool: { fsyncInterval: 5 } } as never));
    expect((spool as Error).message).toContain('Did you mean "fsyncIntervalMs"?');
  });

  it.each([
    [{ batch: { maxEvents: 0 } }, 'batch.maxEvents'],
    [{ batch: { maxEvents: 20 }, queue: { maxEvents: 10 } }, 'batch.maxEvents'],
    [{ queue: { overflow: 'block' } }, 'queue.overflow'],
    [{ retry: { initialMs: 100, maxMs: 10 } }, 'retry.maxMs'],
    [{ retry: { multiplier: 0.5 } }, 'retry.multiplier'],
    [{ retry: { jitter: 'yes' } }, 'retry.jitter'],
    [{ spool: { dir: '' } }, 'spool.dir'],
    [{ spool: { maxBytes: 10 } }, 'spool.maxBytes'],
    [{ enrichTimeoutMs: -1 }, 'enrichTimeoutMs'],
    [{ onError: 'log' }, 'onError'],
    [{ aggregators: {} }, 'aggregators'],
  ])('rejects %j naming %s', (options, field) => {
    const err = thrown(() => createPipeline(options as never));
    expect(isPrivacyLogError(err, ERROR_CODES.INVALID_OPTION)).toBe(true);
    expect((err as Error).message).toContain(field);
  });

  it('rejects a factory passed instead of an aggregator, and duplicate names', () => {
    const notCalled = thrown(() => createPipeline({ aggregators: [sinkDouble] as never }));
    expect((notCalled as Error).message).toMatch(/did you pass the factory/);
    const dup = thrown(() => createPipeline({ aggregators: [sinkDouble('x'), sinkDouble('x')], spool: false }));
    expect((dup as Error).message).toMatch(/used twice/);
  });

  it('makes directory-safe spool names', () => {
    expect(spoolNameOf('sqlite')).toBe('sqlite');
    expect(spoolNameOf('../etc/passwd')).toBe('__etc_passwd');
    expect(spoolNameOf('http://collector:8080')).toBe('http___collector_8080');
    expect(spoolNameOf('')).toBe('_');
  });

  it('exposes the aggregators and the first stats source', () => {
    const plain = sinkDouble('plain');
    const stats = Object.assign(sinkDouble('stats'), { query: async () => ({}) as never });
    const p = createPipeline({ aggregators: [plain, stats], spool: false });
    expect(p.aggregators.map((a) => a.name)).toEqual(['plain', 'stats']);
    expect(p.stats).toBe(stats);
  });

  it('rejects a bad flush/close timeout with a coded error', async () => {
    const p = createPipeline({ spool: false });
    await expect(p.flush({ timeoutMs: -5 })).rejects.toMatchObject({ code: ERROR_CODES.INVALID_OPTION });
    await p.close();
  });
});
