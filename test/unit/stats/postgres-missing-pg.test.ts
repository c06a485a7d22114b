import { describe, expect, it, vi } from 'vitest';

// A test double standing in for an install without the optional `pg` peer: importing it fails.
vi.mock('pg', () => {
  throw new Error("Cannot find package 'pg'");
});

const { postgresAggregator } = await import('../../../src/aggregators/postgres/postgres-aggregator.js');
const { loadPg } = await import('../../../src/aggregators/postgres/driver.js');

describe('postgresAggregator without the pg package', () => {
  it('loading the driver is a coded MISSING_DEPENDENCY telling what to install', async () => {
    const err = await loadPg().then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; retryable: boolean; cause: unknown },
    );
    expect(err?.code).toBe('PRIVACY_LOG_E_MISSING_DEPENDENCY');
    expect(err?.message).toContain('npm install pg');
    expect(err?.retryable).toBe(false);
    expect(err?.cause).toBeInstanceOf(Error);
  });

  it('creating the aggregator does not load pg; ready and write report MISSING_DEPENDENCY', async () => {
    const a = postgresAggregator({ connectionString: 'postgres://127.0.0.1:5432/test' });
    const ready = await a.ready.then(
      () => undefined,
      (e: unknown) => e as { code: string },
    );
    expect(ready?.code).toBe('PRIVACY_LOG_E_MISSING_DEPENDENCY');
    const write = await a
      .write({
        events: [],
        sketches: [{ day: '2026-03-10', site: 's', dimension: 'site', value: '', registers: [[1, 1]] }],
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code: string; retryable: boolean },
      );
    expect(write?.code).toBe('PRIVACY_LOG_E_MISSING_DEPENDENCY');
    expect(write?.retryable).toBe(false);
    await a.close();
  });
});
