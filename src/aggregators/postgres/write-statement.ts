/**
 * The SQL of a postgresAggregator write: one statement per batch (one round
 * trip, atomic without BEGIN/COMMIT).
 *
 * - Events: `jsonb_to_recordset` → `INSERT … ON CONFLICT (id) DO NOTHING
 *   RETURNING`, so a replayed or concurrently written event is stored once.
 * - Rollups: the client sends the batch's increments ($7–$20, computed by
 *   rollupIncrements, sorted); they apply only when every event of the batch
 *   was inserted ($21 = the batch's size). Otherwise the statement computes
 *   them itself from the rows it actually inserted. Either way an event is
 *   counted once, and the server does no grouping in the common case.
 * - Sketches: one delta row per key ($2–$6), appended (sketch-deltas.ts).
 */
import type { RollupIncrements } from '../../stats/rollup.js';

const EVENT_RECORD =
  'id uuid, ts bigint, site text, kind text, page text, referrer text, browser text, os text, device text, isp text, domain text, download text, bot smallint, session_id text, doc jsonb';

export function insertBatchSql(s: string): string {
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
  ), n AS (
    SELECT count(*)::int AS inserted FROM ins
  ), rows AS (
    -- Only when some ids were already stored (a replay, a concurrent writer):
    -- then the rollups count the rows actually inserted.
    SELECT ins.*, input.day, input.slot FROM ins JOIN input USING (id)
    WHERE (SELECT inserted FROM n) < $21
  ), roll AS (
    INSERT INTO ${s}.rollup_day (dimension, day, site, value, bot, events, pageviews, downloads)
    SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::smallint[], $12::bigint[], $13::bigint[], $14::bigint[])
    WHERE (SELECT inserted FROM n) = $21
    UNION ALL (
      SELECT d.dimension, ins.day, ins.site, d.value, ins.bot, count(*),
             count(*) FILTER (WHERE ins.kind = 'pageview'), count(*) FILTER (WHERE ins.kind = 'download')
      FROM rows ins CROSS JOIN LATERAL (VALUES ${dims}) AS d(dimension, value)
      WHERE d.value IS NOT NULL
      GROUP BY 1, 2, 3, 4, 5 ORDER BY d.dimension COLLATE "C", ins.day COLLATE "C", ins.site COLLATE "C", d.value COLLATE "C", ins.bot)
    ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET
      events = rollup_day.events + EXCLUDED.events,
      pageviews = rollup_day.pageviews + EXCLUDED.pageviews,
      downloads = rollup_day.downloads + EXCLUDED.downloads
  ), slots AS (
    INSERT INTO ${s}.rollup_slot (slot, site, bot, events, pageviews, downloads)
    SELECT * FROM unnest($15::bigint[], $16::text[], $17::smallint[], $18::bigint[], $19::bigint[], $20::bigint[])
    WHERE (SELECT inserted FROM n) = $21
    UNION ALL (
      SELECT slot, site, bot, count(*), count(*) FILTER (WHERE kind = 'pageview'), count(*) FILTER (WHERE kind = 'download')
      FROM rows GROUP BY 1, 2, 3 ORDER BY slot, site COLLATE "C", bot)
    ON CONFLICT (slot, site, bot) DO UPDATE SET
      events = rollup_slot.events + EXCLUDED.events,
      pageviews = rollup_slot.pageviews + EXCLUDED.pageviews,
      downloads = rollup_slot.downloads + EXCLUDED.downloads
  ), deltas AS (
    INSERT INTO ${s}.sketches (dimension, day, site, value, registers)
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])
  )
  SELECT inserted FROM n`;
}

export function applyRollupsSql(s: string): string {
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

export function rollupParams(inc: RollupIncrements): unknown[] {
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
