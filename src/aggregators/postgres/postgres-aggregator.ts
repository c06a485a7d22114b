/**
 * postgresAggregator: one store for many app servers (`pg` pool, own schema).
 *
 * - A batch's events and rollups go in one statement (one round trip):
 *   `jsonb_to_recordset` → `INSERT … ON CONFLICT (id) DO NOTHING RETURNING`
 *   → rollup upserts over the rows actually inserted, so concurrent or
 *   replayed writes never count an event twice.
 * - Sketches merge under row locks (`SELECT … FOR UPDATE` in key order, max
 *   per register, `UPDATE`) in the same transaction, so concurrent writers
 *   never lose a register.
 * - The day's salt is shared through the store (first writer wins).
 */
import { assertKnownKeys, ERROR_CODES, invalidOption, isPrivacyLogError, PrivacyLogError } from '../../errors.js';
import { createStatsEngine } from '../../stats/engine.js';
import { type EventRow, eventRow, SLOT_MS, utcDay } from '../../stats/event-columns.js';
import { mergePairsIntoBlob } from '../../stats/hll.js';
import type { StatsQuery, StatsResult } from '../../stats/query.js';
import { type RollupIncrements, rollupIncrements } from '../../stats/rollup.js';
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

const EVENT_RECORD =
  'id uuid, ts bigint, site text, kind text, page text, referrer text, browser text, os text, device text, isp text, domain text, download text, bot smallint, session_id text, doc jsonb';

function insertBatchSql(s: string): string {
  const dims = ['page', 'referrer', 'browser', 'os', 'device', 'isp', 'domain', 'download', 'kind']
    .map((d) => `('${d}', ins.${d})`)
    .join(', ');
  return `WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD}, day text, slot bigint)
  ), ins AS (
    INSERT INTO ${s}.events (id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id, doc)
    SELECT id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id, doc
    FROM input ORDER BY id
    ON CONFLICT (id) DO NOTHING
    RETURNING id, site, kind, page, referrer, browser, os, device, isp, domain, download, bot
  ), rows AS (
    SELECT ins.*, input.day, input.slot FROM ins JOIN input USING (id)
  ), roll AS (
    INSERT INTO ${s}.rollup_day (dimension, day, site, value, bot, events, pageviews, downloads)
    SELECT d.dimension, ins.day, ins.site, d.value, ins.bot, count(*),
           count(*) FILTER (WHERE ins.kind = 'pageview'), count(*) FILTER (WHERE ins.kind = 'download')
    FROM rows ins CROSS JOIN LATERAL (VALUES ${dims}) AS d(dimension, value)
    WHERE d.value IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET
      events = rollup_day.events + EXCLUDED.events,
      pageviews = rollup_day.pageviews + EXCLUDED.pageviews,
      downloads = rollup_day.downloads + EXCLUDED.downloads
  ), slots AS (
    INSERT INTO ${s}.rollup_slot (slot, site, bot, events, pageviews, downloads)
    SELECT slot, site, bot, count(*), count(*) FILTER (WHERE kind = 'pageview'), count(*) FILTER (WHERE kind = 'download')
    FROM rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (slot, site, bot) DO UPDATE SET
      events = rollup_slot.events + EXCLUDED.events,
      pageviews = rollup_slot.pageviews + EXCLUDED.pageviews,
      downloads = rollup_slot.downloads + EXCLUDED.downloads
  ), ensure AS (
    INSERT INTO ${s}.sketches (dimension, day, site, value, registers)
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS k(dimension, day, site, value)
      CROSS JOIN (SELECT '\\x01'::bytea) AS e(registers)
    ORDER BY 1, 2, 3, 4
    ON CONFLICT DO NOTHING
  )
  SELECT count(*)::int AS inserted FROM ins`;
}

function applyRollupsSql(s: string): string {
  return `WITH d AS (
    INSERT INTO ${s}.rollup_day (dimension, day, site, value, bot, events, pageviews, downloads)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::bigint[], $7::bigint[], $8::bigint[])
    ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET
      events = rollup_day.events + EXCLUDED.events,
      pageviews = rollup_day.pageviews + EXCLUDED.pageviews,
      downloads = rollup_day.downloads + EXCLUDED.downloads
  )
  INSERT INTO ${s}.rollup_slot (slot, site, bot, events, pageviews, downloads)
  SELECT * FROM unnest($9::bigint[], $10::text[], $11::smallint[], $12::bigint[], $13::bigint[], $14::bigint[])
  ON CONFLICT (slot, site, bot) DO UPDATE SET
    events = rollup_slot.events + EXCLUDED.events,
    pageviews = rollup_slot.pageviews + EXCLUDED.pageviews,
    downloads = rollup_slot.downloads + EXCLUDED.downloads`;
}

function rollupParams(inc: RollupIncrements): unknown[] {
  const d = inc.days;
  const s = inc.slots;
  return [
    d.map((x) => x.dimension),
    d.map((x) => x.day),
    d.map((x) => x.site),
    d.map((x) => x.value),
    d.map((x) => (x.bot ? 1 : 0)),
    d.map((x) => x.events),
    d.map((x) => x.pageviews),
    d.map((x) => x.downloads),
    s.map((x) => x.slot),
    s.map((x) => x.site),
    s.map((x) => (x.bot ? 1 : 0)),
    s.map((x) => x.events),
    s.map((x) => x.pageviews),
    s.map((x) => x.downloads),
  ];
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

  /** Run `fn` in a transaction on one connection, retrying deadlocks. */
  async function tx<T>(op: string, fn: (c: PgClientLike) => Promise<T>): Promise<T> {
    const p = await init();
    let lastErr: unknown;
    for (let attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
      let client: PgClientLike;
      try {
        client = await checkout(p);
      } catch (err) {
        throw failed(op, err);
      }
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        checkin(client);
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        // A failed connection is discarded by the pool instead of being reused.
        checkin(client, err);
        lastErr = err;
        if (!isTransient(err)) break;
      }
    }
    throw failed(op, lastErr);
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
      const b = checkBatch(name, batch);
      if (b.events.length === 0 && b.sketches.length === 0) return;
      const records = b.rows.map((r, i) => {
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
          day: utcDay(r.ts),
          slot: Math.floor(r.ts / SLOT_MS),
        };
      });
      const sk = b.sketches;
      const keyParams = [
        sk.map((u) => u.dimension),
        sk.map((u) => u.day),
        sk.map((u) => u.site),
        sk.map((u) => u.value),
      ];
      await tx('write', async (c) => {
        await c.query(insertBatch, [JSON.stringify(records), ...keyParams]);
        if (sk.length === 0) return;
        const locked = await c.query(
          `SELECT s.dimension, s.day, s.site, s.value, s.registers FROM ${quoted}.sketches s
           JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(dimension, day, site, value)
             USING (dimension, day, site, value)
           ORDER BY 1, 2, 3, 4 FOR UPDATE OF s`,
          keyParams,
        );
        const current = new Map<string, Uint8Array>();
        for (const r of locked.rows) {
          current.set(`${r.dimension}\u0000${r.day}\u0000${r.site}\u0000${r.value}`, r.registers as Uint8Array);
        }
        const merged = new Map<string, Uint8Array>();
        for (const u of sk) {
          const key = `${u.dimension}\u0000${u.day}\u0000${u.site}\u0000${u.value}`;
          merged.set(key, mergePairsIntoBlob(merged.get(key) ?? current.get(key), u.registers));
        }
        const keys = [...merged.keys()].map((k) => k.split('\u0000'));
        await c.query(
          `UPDATE ${quoted}.sketches AS t SET registers = u.registers
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(dimension, day, site, value, registers)
           WHERE t.dimension = u.dimension AND t.day = u.day AND t.site = u.site AND t.value = u.value`,
          [
            keys.map((k) => k[0]),
            keys.map((k) => k[1]),
            keys.map((k) => k[2]),
            keys.map((k) => k[3]),
            [...merged.values()].map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
          ],
        );
      });
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
      const p = pool;
      pool = undefined;
      if (p && !external) await p.end();
    },
  };
}
