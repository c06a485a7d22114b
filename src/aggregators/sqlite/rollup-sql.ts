/**
 * The SQL that computed rollup increments from the event rows of schema 4
 * (event_rows, one row per event). Migration 5 uses it once, to add what the
 * schema-4 journal names before those rows become blocks.
 */
import { COLUMN_PROPERTIES, SLOT_MS } from '../../stats/event-columns.js';

/**
 * Rollup increments computed by SQLite from event rows (`where` picks them:
 * the rows of folded batches, or a session's rows times -1), in one pass over
 * the rows crossed with the property list.
 */
export function rollupFromEventsSql(where: string, sign: 1 | -1): { days: string; slots: string } {
  const counts = `${sign} * COUNT(*), ${sign} * COUNT(CASE WHEN kind = 'pageview' THEN 1 END), ${sign} * COUNT(CASE WHEN kind = 'download' THEN 1 END)`;
  const dims = COLUMN_PROPERTIES.map((d) => `('${d}')`).join(', ');
  const value = `CASE d.column1 ${COLUMN_PROPERTIES.map((d) => `WHEN '${d}' THEN ${d}`).join(' ')} END`;
  const update = `events = events + excluded.events, pageviews = pageviews + excluded.pageviews, downloads = downloads + excluded.downloads`;
  return {
    days: `INSERT INTO rollup_day (dimension, day, site, value, bot, events, pageviews, downloads)
      SELECT dimension, day, site, value, bot, ${counts} FROM (
        SELECT d.column1 AS dimension, date(ts / 1000, 'unixepoch') AS day, site, ${value} AS value, bot, kind
        FROM event_rows CROSS JOIN (VALUES ${dims}) AS d WHERE ${where}
      ) WHERE value IS NOT NULL
      GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET ${update}`,
    slots: `INSERT INTO rollup_slot (slot, site, bot, events, pageviews, downloads)
      SELECT ts / ${SLOT_MS} AS slot, site, bot, ${counts} FROM event_rows WHERE ${where}
      GROUP BY 1, 2, 3
      ON CONFLICT (slot, site, bot) DO UPDATE SET ${update}`,
  };
}
