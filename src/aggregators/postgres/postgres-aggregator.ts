/**
 * postgresAggregator: one store for many app servers (`pg` pool, own schema).
 *
 * - A batch is one statement, one round trip, atomic without BEGIN/COMMIT
 *   (write-statement.ts): events inserted `ON CONFLICT (id) DO NOTHING`, the
 *   rollup increments the client computed applied only when every event was
 *   new (else computed from the rows actually inserted), so concurrent or
 *   replayed writes never count an event twice.
 * - Sketches are append-only deltas in that statement — no row lock, no
 *   read-modify-write — compacted off the write path (sketch-deltas.ts).
 * - The day's salt is shared through the store (first writer wins).
 */
import { assertKnownKeys, ERROR_CODES, invalidOption, isPrivacyLogError, PrivacyLogError } from '../../errors.js';
import { createStatsEngine } from '../../stats/engine.js';
import { DAY_MS, type EventRow, eventRow, SLOT_MS, utcDay } from '../../stats/event-columns.js';
import type { StatsQuery, StatsResult } from '../../stats/query.js';
import { rollupIncrements } from '../../stats/rollup.js';
import {
  checkBatch,
  checkRetention,
  RETENTION_CHUNK,
  type RetentionOptions,
  retentionCutoffs,
  saltKeepFrom,
} from '../../stats/store-support.js';
import { isDay } from '../../stats/time-range.js';
import type { Batch, StatsAggregator } from '../aggregator.js';
import { loadPg, type PgClientLike, type PgPoolLike } from './driver.js';
import { migrate } from './migrations.js';
import { postgresBackend } from './postgres-backend.js';
import { COMPACT_SLICE, compactSketchKeys, sketchCompactor, sketchDeltas, uncompactedKeys } from './sketch-deltas.js';
import { applyRollupsSql, insertBatchSql, rollupParams } from './write-statement.js';

export interface PostgresAggregatorOptions extends RetentionOptions {
  /** Connection string. Default: the DATABASE_URL environment variable. Ignored when `pool` is given. */
  connectionString?: string;
  /** An existing pool (pg.Pool or compatible); it is not ended by close(). */
  pool?: PgPoolLike;
  /** Schema holding privacy-log's tables. Default 'privacy_log'. */
  schema?: string;
  /** Name in pipeline metrics. Default 'postgres'. */
  name?: string;
  /** Pool size when privacy-log creates the pool. Default 4. */
  maxConnections?: number;
  /** How long to wait for a connection. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export const DEFAULT_POSTGRES_SCHEMA = 'privacy_log';
export const DEFAULT_POSTGRES_NAME = 'postgres';
export const DEFAULT_MAX_CONNECTIONS = 4;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Attempts for a transaction that hit a deadlock or serialization failure. */
const TX_ATTEMPTS = 3;
/** Keys per transaction when sweeping for uncompacted sketch deltas. */

const OPTION_KEYS = [
  'connectionString',
  'pool',
  'schema',
  'name',
  'maxConnections',
  'connectTimeoutMs',
  'retentionDays',
  'rollupRetentionMonths',
  'retentionIntervalMs',
] as const;
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const WHERE = 'postgresAggregator()';

export interface PostgresAggregator extends StatsAggregator {
  /** Resolves once connected and migrated; rejects with STORE_UNAVAILABLE (or MISSING_DEPENDENCY). */
  readonly ready: Promise<void>;
  readonly schema: string;
  forget(sessionId: string): Promise<number>;
  salt(day: string, candidate: string): Promise<string>;
  query(q: StatsQuery): Promise<StatsResult>;
  runRetention(now?: number): Promise<{ events: number; rollups: number; sketches: number; salts: number }>;
  /** Drop the whole schema with its data (for tests and benchmarks). */
  dropSchema(): Promise<void>;
  close(): Promise<void>;
}

function isTransient(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '40P01' || code === '40001';
}

const ignoreClientError = (): undefined => undefined;

/**
 * Check a connection out of the pool with an 'error' listener on it. The pool
 * only listens on idle clients; without this, a connection dropped while checked
 * out (a server restart) would surface as an uncaught exception and end the
 * process. The query in flight rejects instead, and the batch is retried.
 */
async function checkout(p: PgPoolLike): Promise<PgClientLike> {
  const client = await p.connect();
  (client as { on?: (e: string, f: () => undefined) => void }).on?.('error', ignoreClientError);
  return client;
}

/** Return a connection; one that failed (`err`) is destroyed rather than reused. */
function checkin(client: PgClientLike, err?: unknown): void {
  (client as { off?: (e: string, f: () => undefined) => void }).off?.('error', ignoreClientError);
  client.release(err instanceof Error ? err : undefined);
}

/**
 * @example
 * const store = postgresAggregator({ connectionString: process.env.DATABASE_URL, schema: 'privacy_log' });
 * await store.ready; // optional: fail fast at startup
 * const pipeline = createPipeline({ aggregators: [store] });
 */
export function postgresAggregator(options: PostgresAggregatorOptions = {}): PostgresAggregator {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, OPTION_KEYS, WHERE);
  const schema = options.schema ?? DEFAULT_POSTGRES_SCHEMA;
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema))
    throw invalidOption(WHERE, 'schema', 'a lower-case SQL identifier (letters, digits, _; at most 63)');
  const quoted = `"${schema}"`;
  const name = options.name ?? DEFAULT_POSTGRES_NAME;
  if (typeof name !== 'string' || name.length === 0) throw invalidOption(WHERE, 'name', 'a non-empty string');
  const connectionString = options.connectionString ?? process.env.DATABASE_URL;
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString.length === 0))
    throw invalidOption(WHERE, 'connectionString', 'a non-empty postgres:// URL');
  const external = options.pool;
  if (external !== undefined && (typeof external !== 'object' || typeof external.connect !== 'function'))
    throw invalidOption(WHERE, 'pool', 'a pg.Pool (or an object with query, connect and end)');
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 100)
    throw invalidOption(WHERE, 'maxConnections', 'an integer from 1 to 100');
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 100 || connectTimeoutMs > 600_000)
    throw invalidOption(WHERE, 'connectTimeoutMs', 'an integer from 100 to 600000');
  const retention = checkRetention(WHERE, options);

  const insertBatch = insertBatchSql(quoted);
  // Named, so each connection parses and plans the write once, not per batch.
  const writeStatementName = `privacy-log-write-${schema}`;
  const applyRollups = applyRollupsSql(quoted);
  let pool: PgPoolLike | undefined;
  let initializing: Promise<PgPoolLike> | undefined;
  let closed = false;

  const unavailable = (err: unknown) => {
    if (isPrivacyLogError(err)) return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new PrivacyLogError(
      ERROR_CODES.STORE_UNAVAILABLE,
      `${WHERE}: cannot use PostgreSQL (schema ${schema}): ${msg} — check that the server runs and accepts connections, and the URL, user and permissions (CREATE on the database for the first start).`,
      { cause: err, retryable: true },
    );
  };

  /** Connect and migrate, once; a failure is retried at the next use. */
  const init = (): Promise<PgPoolLike> => {
    if (pool) return Promise.resolve(pool);
    initializing ??= (async () => {
      let p: PgPoolLike;
      if (external) p = external;
      else {
        const pg = await loadPg();
        const created = new pg.Pool({
          connectionString,
          max: maxConnections,
          connectionTimeoutMillis: connectTimeoutMs,
          application_name: 'privacy-log',
        });
        // An idle client's error must not crash the process; the next query reports it.
        created.on('error', () => undefined);
        p = created;
      }
      try {
        const client = await checkout(p);
        try {
          await migrate(client, schema, quoted);
        } finally {
          checkin(client);
        }
      } catch (err) {
        if (!external) await p.end().catch(() => undefined);
        throw err;
      }
      pool = p;
      return p;
    })().catch((err) => {
      initializing = undefined;
      throw unavailable(err);
    });
    return initializing;
  };

  const ready = init().then(() => undefined);
  ready.catch(() => undefined);

  const assertOpen = (op: string) => {
    if (closed) {
      throw new PrivacyLogError(ERROR_CODES.CLOSED, `${name}: ${op}() after close(); create a new aggregator.`, {
        retryable: false,
      });
    }
  };

  const failed = (op: string, err: unknown) =>
    isPrivacyLogError(err)
      ? err
      : new PrivacyLogError(
          ERROR_CODES.AGGREGATOR_FAILED,
          `${name}: ${op} failed: ${err instanceof Error ? err.message : String(err)} — it will be retried; check the PostgreSQL server.`,
          { cause: err, retryable: true },
        );

  /**
   * Run `fn` on one connection, retrying deadlocks and other transient errors:
   * inside BEGIN/COMMIT when `transaction`, else as one statement (atomic on
   * its own, without the extra round trips).
   */
  async function onConnection<T>(op: string, transaction: boolean, fn: (c: PgClientLike) => Promise<T>): Promise<T> {
    const p = await init();
    let lastErr: unknown;
    for (let i = 0; i < TX_ATTEMPTS; i++) {
      let client: PgClientLike;
      try {
        client = await checkout(p);
      } catch (err) {
        throw failed(op, err);
      }
      try {
        if (transaction) await client.query('BEGIN');
        const out = await fn(client);
        if (transaction) await client.query('COMMIT');
        checkin(client);
        return out;
      } catch (err) {
        if (transaction) await client.query('ROLLBACK').catch(() => undefined);
        // A failed connection is discarded by the pool instead of being reused.
        checkin(client, err);
        lastErr = err;
        if (!isTransient(err)) break;
      }
    }
    throw failed(op, lastErr);
  }
  const tx = <T>(op: string, fn: (c: PgClientLike) => Promise<T>) => onConnection(op, true, fn);
  const attempt = <T>(op: string, fn: (c: PgClientLike) => Promise<T>) => onConnection(op, false, fn);

  const compactor = sketchCompactor((keys, wait) => tx('compact', (c) => compactSketchKeys(c, quoted, keys, wait)));

  /** Compact keys left with several rows by any server (one that stopped before compacting, say); bounded. */
  async function sweepSketches(): Promise<number> {
    let removed = 0;
    for (let i = 0; i < 100 && !closed; i++) {
      const keys = await uncompactedKeys(await init(), quoted, COMPACT_SLICE);
      if (keys.length === 0) break;
      const n = await tx('compact', (c) => compactSketchKeys(c, quoted, keys, false));
      // Another server is compacting right now: leave the rest to a later sweep.
      if (n === null) break;
      removed += n;
      if (n === 0 || keys.length < COMPACT_SLICE) break;
    }
    return removed;
  }

  const engine = createStatsEngine(postgresBackend(init, quoted));
  let retentionRunning: Promise<unknown> | undefined;

  async function runRetention(now = Date.now()) {
    assertOpen('runRetention');
    const p = await init();
    const c = retentionCutoffs(now, retention);
    const out = { events: 0, rollups: 0, sketches: 0, salts: 0 };
    for (let i = 0; i < 100_000 && !closed; i++) {
      const r = await p.query(
        `DELETE FROM ${quoted}.events WHERE id IN (SELECT id FROM ${quoted}.events WHERE ts < $1 LIMIT ${RETENTION_CHUNK})`,
        [c.eventsBefore],
      );
      out.events += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < RETENTION_CHUNK) break;
    }
    if (closed) return out;
    out.rollups +=
      (await p.query(`DELETE FROM ${quoted}.rollup_day WHERE day < $1`, [c.rollupDayBefore])).rowCount ?? 0;
    out.rollups += (await p.query(`DELETE FROM ${quoted}.rollup_slot WHERE slot < $1`, [c.slotBefore])).rowCount ?? 0;
    out.sketches += (await p.query(`DELETE FROM ${quoted}.sketches WHERE day < $1`, [c.rollupDayBefore])).rowCount ?? 0;
    out.salts += (await p.query(`DELETE FROM ${quoted}.salts WHERE day < $1`, [c.saltDayBefore])).rowCount ?? 0;
    return out;
  }

  const timer = setInterval(() => {
    if (closed || retentionRunning || !pool) return;
    retentionRunning = runRetention()
      .then(sweepSketches)
      .catch(() => undefined)
      .finally(() => {
        retentionRunning = undefined;
      });
  }, retention.retentionIntervalMs);
  timer.unref();

  return {
    name,
    schema,
    ready,
    describe: () => ({
      kind: 'postgresql',
      location: `schema "${schema}"`,
      retentionDays: retention.retentionDays,
      rollupRetentionMonths: retention.rollupRetentionMonths,
    }),
    async write(batch: Batch): Promise<void> {
      assertOpen('write');
      // Sketch deltas are appended, never locked: no need to sort them.
      const b = checkBatch(name, batch, { ordered: false });
      if (b.events.length === 0 && b.sketches.length === 0) return;
      // The day's string is made once per UTC day of the batch (a batch mostly holds one), not per event.
      let dayNum = Number.NaN;
      let day = '';
      const records = b.rows.map((r, i) => {
        if (Math.floor(r.ts / DAY_MS) !== dayNum) {
          dayNum = Math.floor(r.ts / DAY_MS);
          day = utcDay(r.ts);
        }
        return {
          id: r.id,
          ts: r.ts,
          site: r.site,
          kind: r.kind,
          page: r.page ?? null,
          referrer: r.referrer ?? null,
          browser: r.browser ?? null,
          os: r.os ?? null,
          device: r.device,
          isp: r.isp ?? null,
          domain: r.domain ?? null,
          download: r.download ?? null,
          bot: r.bot ? 1 : 0,
          session_id: r.sessionId ?? null,
          doc: b.events[i],
          day,
          slot: Math.floor(r.ts / SLOT_MS),
        };
      });
      const deltas = sketchDeltas(b.sketches);
      await attempt('write', (c) =>
        c.query({
          name: writeStatementName,
          text: insertBatch,
          values: [
            JSON.stringify(records),
            deltas.map((d) => d.key[0]),
            deltas.map((d) => d.key[1]),
            deltas.map((d) => d.key[2]),
            deltas.map((d) => d.key[3]),
            deltas.map((d) => d.blob),
            ...rollupParams(rollupIncrements(b.rows, 1, true)),
            records.length,
          ],
        }),
      );
      compactor.touched(deltas.map((d) => d.key));
    },
    async forget(sessionId: string): Promise<number> {
      assertOpen('forget');
      if (typeof sessionId !== 'string' || sessionId.length === 0)
        throw invalidOption(`${name}.forget()`, 'sessionId', 'a non-empty string');
      return tx('forget', async (c) => {
        const del = await c.query(`DELETE FROM ${quoted}.events WHERE session_id = $1 RETURNING doc`, [sessionId]);
        if (del.rows.length === 0) return 0;
        const rows: EventRow[] = del.rows.map((r) => eventRow(r.doc as never));
        await c.query(applyRollups, rollupParams(rollupIncrements(rows, -1, true)));
        await c.query(`DELETE FROM ${quoted}.rollup_day WHERE events <= 0`);
        await c.query(`DELETE FROM ${quoted}.rollup_slot WHERE events <= 0`);
        return del.rows.length;
      });
    },
    async salt(day: string, candidate: string): Promise<string> {
      assertOpen('salt');
      if (!isDay(day)) throw invalidOption(`${name}.salt()`, 'day', 'a day YYYY-MM-DD');
      if (typeof candidate !== 'string' || candidate.length === 0)
        throw invalidOption(`${name}.salt()`, 'candidate', 'a non-empty string');
      const p = await init();
      try {
        const r = await p.query(
          `WITH del AS (DELETE FROM ${quoted}.salts WHERE day < $3),
                ins AS (INSERT INTO ${quoted}.salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING RETURNING salt)
           SELECT salt FROM ins UNION ALL SELECT salt FROM ${quoted}.salts WHERE day = $1`,
          [day, candidate, saltKeepFrom(day)],
        );
        const got = r.rows[0]?.salt;
        if (typeof got === 'string') return got;
        // Another server inserted it after this statement's snapshot: read it now.
        const again = await p.query(`SELECT salt FROM ${quoted}.salts WHERE day = $1`, [day]);
        return String(again.rows[0]?.salt ?? candidate);
      } catch (err) {
        throw failed('salt', err);
      }
    },
    async query(q: StatsQuery): Promise<StatsResult> {
      assertOpen('query');
      return engine.query(q);
    },
    runRetention,
    async dropSchema(): Promise<void> {
      const p = await init();
      await p.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await retentionRunning;
      // Fold this server's sketch deltas, so a store left alone reads one row per key.
      if (pool) await compactor.flush().catch(() => undefined);
      const p = pool;
      pool = undefined;
      if (p && !external) await p.end();
    },
  };
}
