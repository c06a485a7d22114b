/**
 * The PostgreSQL schema, as versioned migrations in the aggregator's own
 * schema. Applied under a transaction-scoped advisory lock, so servers that
 * start together migrate once.
 */
import type { PgQueryable } from './driver.js';

/** Migration n (1-based) takes the schema from version n-1 to n; `s` is the quoted schema name. Append only. */
export const POSTGRES_MIGRATIONS: ReadonlyArray<(s: string) => string> = [
  (s) => `
  CREATE TABLE ${s}.events (
    id uuid PRIMARY KEY,
    ts bigint NOT NULL,
    site text NOT NULL,
    kind text NOT NULL,
    page text,
    referrer text,
    browser text,
    os text,
    device text NOT NULL,
    isp text,
    domain text,
    download text,
    bot smallint NOT NULL,
    session_id text,
    doc jsonb NOT NULL
  );
  CREATE INDEX events_ts ON ${s}.events (ts);
  CREATE INDEX events_session ON ${s}.events (session_id) WHERE session_id IS NOT NULL;
  CREATE INDEX events_session_ts ON ${s}.events (ts, session_id, kind, bot, site) WHERE session_id IS NOT NULL;
  CREATE TABLE ${s}.rollup_day (
    dimension text NOT NULL,
    day text NOT NULL,
    site text NOT NULL,
    value text NOT NULL,
    bot smallint NOT NULL,
    events bigint NOT NULL,
    pageviews bigint NOT NULL,
    downloads bigint NOT NULL,
    PRIMARY KEY (dimension, day, site, value, bot)
  );
  CREATE TABLE ${s}.rollup_slot (
    slot bigint NOT NULL,
    site text NOT NULL,
    bot smallint NOT NULL,
    events bigint NOT NULL,
    pageviews bigint NOT NULL,
    downloads bigint NOT NULL,
    PRIMARY KEY (slot, site, bot)
  );
  CREATE TABLE ${s}.sketches (
    dimension text NOT NULL,
    day text NOT NULL,
    site text NOT NULL,
    value text NOT NULL,
    registers bytea NOT NULL,
    PRIMARY KEY (dimension, day, site, value)
  );
  CREATE TABLE ${s}.salts (
    day text PRIMARY KEY,
    salt text NOT NULL
  );
  `,
  // 2: sketches become append-only deltas. A write inserts the registers its
  // batch brought (no row lock, no read-modify-write); readers merge every row
  // of a key; compaction (sketch-compaction.ts) folds a key's rows into one off
  // the write path. The empty rows version 1 created before each merge go.
  (s) => `
  ALTER TABLE ${s}.sketches DROP CONSTRAINT sketches_pkey;
  CREATE INDEX sketches_key ON ${s}.sketches (dimension, day, site, value);
  DELETE FROM ${s}.sketches WHERE registers = '\\x01'::bytea;
  `,
];

/** Bring the schema up to date. `client` must be a dedicated connection (not a pool). */
export async function migrate(client: PgQueryable, schema: string, quoted: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`privacy-log:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_version (version integer NOT NULL)`);
    const r = await client.query(`SELECT max(version) AS v FROM ${quoted}.schema_version`);
    const current = Number(r.rows[0]?.v ?? 0);
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new Error(
        `schema ${schema} is at version ${current}, newer than this privacy-log knows (${POSTGRES_MIGRATIONS.length}); upgrade privacy-log`,
      );
    }
    for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) {
      await client.query(POSTGRES_MIGRATIONS[v]!(quoted));
      await client.query(`INSERT INTO ${quoted}.schema_version (version) VALUES ($1)`, [v + 1]);
    }
    await client.query('COMMIT');
    return POSTGRES_MIGRATIONS.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
