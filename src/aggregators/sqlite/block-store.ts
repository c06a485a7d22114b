/**
 * Raw events in SQLite as blocks (migration 5): one row of `event_blocks` per
 * write slice (≤ 250 events), its columns encoded by event-block.ts, and one
 * row per event id in `event_ids` (what makes inserts idempotent; deleted
 * with the event, by retention or forget). Binding one row per event cost
 * ~4 µs of every event's write; a block binds nine values for all of its
 * events.
 *
 * Everything here runs inside the caller's transaction: the functions are
 * plain statements over one connection, with no scheduling of their own.
 */
import type Database from 'better-sqlite3';
import type { PrivacyEvent } from '../../event.js';
import { DAY_MS, type EventRow } from '../../stats/event-columns.js';
import type { RollupAccumulator } from '../../stats/rollup.js';
import {
  decodeEvents,
  decodeQueryBlock,
  decodeRows,
  type EncodedBlock,
  encodeBlock,
  type QueryBlock,
  type StoredBlock,
} from './event-block.js';

/** Blocks deleted per retention statement (≈ 250 events each). */
const EXPIRE_BLOCKS = 4;

/** What one slice's insert kept: the block holding the events whose ids were new (0: none), decoded for counting. */
interface InsertedSlice {
  block: number;
  stored: QueryBlock | undefined;
}

/** One session's first and last event and pageviews on one UTC day (a session_day row). */
export interface SessionDay {
  sessionId: string;
  day: number;
  site: string;
  bot: 0 | 1;
  first: number;
  last: number;
  pageviews: number;
}

/** A block's events cut in two: those kept (rows and events) and those gone (rows). */
interface Split {
  rows: EventRow[];
  events: PrivacyEvent[];
  gone: EventRow[];
}

/** Decode a whole block and split its events by `keep`. */
function split(full: StoredBlock, keep: (row: EventRow, i: number) => boolean): Split {
  const rows = decodeRows(full);
  const events = decodeEvents(full, rows);
  const out: Split = { rows: [], events: [], gone: [] };
  for (let i = 0; i < rows.length; i++) {
    if (keep(rows[i]!, i)) {
      out.rows.push(rows[i]!);
      out.events.push(events[i]!);
    } else out.gone.push(rows[i]!);
  }
  return out;
}

/** A session_day row being summed, chained to the same session's other (day, site, bot) rows. */
interface SessionDayLink extends SessionDay {
  next: SessionDayLink | undefined;
}

/**
 * Per-(session, day, site, bot) sums of the events of some blocks, kept by
 * session id: a session's rows for other days, sites or bot flags (rare: a
 * session is one visitor on one site, mostly within a day) are chained to its
 * first. The session and site strings come from the blocks' dictionaries
 * (their hashes computed once), where a joined key string cost a new string
 * per event; one map entry a session instead of three nested maps.
 */
export class SessionSums {
  private readonly bySession = new Map<string, SessionDayLink>();
  private readonly rows: SessionDayLink[] = [];

  /** Add the consenting events of a block (those with a session), only those in [from, to). */
  add(q: QueryBlock, from = -Infinity, to = Infinity): void {
    if (q.sessionsSize === 0) return;
    const session = q.session;
    const site = q.code('site');
    const kind = q.code('kind');
    const pageview = q.codeOf('pageview');
    const ts = q.ts;
    const bot = q.bot;
    for (let i = 0; i < q.n; i++) {
      const s = session[i]!;
      if (s === 0) continue;
      const t = ts[i]!;
      if (t < from || t >= to) continue;
      const sessionId = q.sessionEntry(s);
      const day = Math.floor(t / DAY_MS);
      const siteName = q.entry(site[i]!);
      const b = bot[i] === 1 ? 1 : 0;
      const first = this.bySession.get(sessionId);
      let d = first;
      while (d !== undefined && (d.day !== day || d.bot !== b || d.site !== siteName)) d = d.next;
      if (d === undefined) {
        d = { sessionId, day, site: siteName, bot: b, first: t, last: t, pageviews: 0, next: undefined };
        if (first === undefined) this.bySession.set(sessionId, d);
        else {
          d.next = first.next;
          first.next = d;
        }
        this.rows.push(d);
      }
      if (t < d.first) d.first = t;
      if (t > d.last) d.last = t;
      if (kind[i] === pageview) d.pageviews++;
    }
  }

  get size(): number {
    return this.rows.length;
  }

  /** Every row summed, in the order first seen. */
  values(): readonly SessionDay[] {
    return this.rows;
  }
}

// INDEXED BY: for ORDER BY id alone SQLite would rather scan every block in rowid order.
const STORED_SQL =
  'SELECT cols, dict, sessions, ids, rest FROM event_blocks INDEXED BY event_blocks_ts WHERE ts_max >= ? AND ts_min < ?';

/**
 * The raw events stored with a time in [from, to), in the order they were
 * stored, read through any connection to the file (a read-only one too);
 * with `session`, only that consenting session's (the blocks whose session
 * list does not name it are not decoded).
 *
 * @example
 * const db = new Database('./data/privacy-log.db', { readonly: true });
 * const today = storedEvents(db, Date.parse('2026-03-10'), Date.parse('2026-03-11'));
 */
export function storedEvents(db: Database.Database, from = -Infinity, to = Infinity, session?: string): PrivacyEvent[] {
  const out: PrivacyEvent[] = [];
  const blocks = (
    session === undefined
      ? db.prepare(`${STORED_SQL} ORDER BY id`).all(from, to)
      : db.prepare(`${STORED_SQL} AND instr(sessions, ?) > 0 ORDER BY id`).all(from, to, JSON.stringify(session))
  ) as StoredBlock[];
  for (const b of blocks) {
    const rows = decodeRows(b);
    const wanted = (i: number) =>
      rows[i]!.ts >= from && rows[i]!.ts < to && (session === undefined || rows[i]!.sessionId === session);
    let any = false;
    for (let i = 0; i < rows.length && !any; i++) any = wanted(i);
    if (!any) continue;
    const events = decodeEvents(b, rows);
    for (let i = 0; i < rows.length; i++) if (wanted(i)) out.push(events[i]!);
  }
  return out;
}

/**
 * The block statements of one connection.
 *
 * @example
 * const blocks = blockStore(db);
 * const slice = blocks.insert(rows, events); // inside a write transaction
 */
export function blockStore(db: Database.Database) {
  // A deleted block's id may be used again: its ids went with it, and no journal row names it (forget and
  // retention fold first).
  const nextBlock = db.prepare('SELECT coalesce(max(id), 0) + 1 FROM event_blocks').pluck();
  const insertIds = db.prepare('INSERT OR IGNORE INTO event_ids (id, block) SELECT value, ? FROM json_each(?)');
  const newIds = db
    .prepare('SELECT id FROM event_ids WHERE id IN (SELECT value FROM json_each(?)) AND block = ?')
    .pluck();
  const insertBlock = db.prepare(
    'INSERT INTO event_blocks (id, ts_min, ts_max, n, cols, dict, sessions, ids, rest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const updateBlock = db.prepare(
    'UPDATE event_blocks SET ts_min = ?, ts_max = ?, n = ?, cols = ?, dict = ?, sessions = ?, ids = ?, rest = ? WHERE id = ?',
  );
  const deleteBlock = db.prepare('DELETE FROM event_blocks WHERE id = ?');
  const queryColumns = db.prepare('SELECT cols, dict, sessions FROM event_blocks WHERE id = ?');
  const fullBlock = db.prepare('SELECT id, cols, dict, sessions, ids, rest FROM event_blocks WHERE id = ?');
  // What a block read for queries lacks to be rebuilt whole.
  const idsAndRest = db.prepare('SELECT ids, rest FROM event_blocks WHERE id = ?');
  // Blocks overlapping [from, to): ts_max >= from through the index, ts_min < to checked on its entries.
  const inRange = db.prepare('SELECT id, cols, dict, sessions FROM event_blocks WHERE ts_max >= ? AND ts_min < ?');
  const spansInRange = db.prepare(
    'SELECT ts_min, ts_max, cols, dict, sessions FROM event_blocks WHERE ts_max >= ? AND ts_min < ?',
  );
  const spansInRangeNoSessions = db.prepare(
    'SELECT ts_min, ts_max, cols, dict FROM event_blocks WHERE ts_max >= ? AND ts_min < ?',
  );
  const expiredBlocks = db.prepare(`SELECT id FROM event_blocks WHERE ts_max < ? LIMIT ${EXPIRE_BLOCKS}`).pluck();
  const countOf = db
    .prepare('SELECT coalesce(sum(n), 0) FROM event_blocks WHERE id IN (SELECT value FROM json_each(?))')
    .pluck();
  // By id, through the blocks' own id lists (event_ids has no index on block).
  const deleteIdsOfBlocks = db.prepare(
    `DELETE FROM event_ids WHERE id IN
     (SELECT j.value FROM event_blocks b, json_each(b.ids) j WHERE b.id IN (SELECT value FROM json_each(?)))`,
  );
  const deleteBlocks = db.prepare('DELETE FROM event_blocks WHERE id IN (SELECT value FROM json_each(?))');
  const deleteIds = db.prepare('DELETE FROM event_ids WHERE id IN (SELECT value FROM json_each(?))');
  const straddling = db.prepare('SELECT id FROM event_blocks WHERE ts_max >= ? AND ts_min < ?').pluck();

  type Row = StoredBlock & { id: number };

  /** The blocks overlapping [from, to), decoded with their sessions, one row at a time (see blockSpans). */
  function* withSessionsIn(from: number, to: number): Generator<QueryBlock> {
    for (const b of inRange.iterate(from, to) as IterableIterator<Row>)
      yield decodeQueryBlock(b.cols, b.dict, b.sessions);
  }

  /** Re-encode a block with only the events kept (none: the block goes), and delete the ids of the others. */
  const rewrite = (id: number, part: Split) => {
    deleteIds.run(JSON.stringify(part.gone.map((r) => r.id)));
    if (part.rows.length === 0) {
      deleteBlock.run(id);
      return;
    }
    const e = encodeBlock(part.rows, part.events);
    updateBlock.run(e.tsMin, e.tsMax, e.n, e.cols, e.dict, e.sessions, e.ids, e.rest, id);
  };

  return {
    /**
     * Store a slice of a batch as one block: the ids not stored before (a
     * repeated id counts once) and their events. Inside a write transaction;
     * `encoded` is the slice's block when it was encoded beforehand.
     */
    insert(rows: readonly EventRow[], events: readonly PrivacyEvent[], encoded?: EncodedBlock): InsertedSlice {
      if (rows.length === 0) return { block: 0, stored: undefined };
      const block = nextBlock.get() as number;
      let enc = encoded ?? encodeBlock(rows, events);
      const changes = insertIds.run(block, enc.ids).changes;
      if (changes !== rows.length) {
        // A replay (or an id twice in the batch): keep the first event of each id this slice inserted.
        if (changes === 0) return { block: 0, stored: undefined };
        const fresh = new Set(newIds.all(enc.ids, block) as string[]);
        const r: EventRow[] = [];
        const e: PrivacyEvent[] = [];
        for (let i = 0; i < rows.length; i++)
          if (fresh.delete(rows[i]!.id)) {
            r.push(rows[i]!);
            e.push(events[i]!);
          }
        enc = encodeBlock(r, e);
      }
      insertBlock.run(block, enc.tsMin, enc.tsMax, enc.n, enc.cols, enc.dict, enc.sessions, enc.ids, enc.rest);
      return { block, stored: decodeQueryBlock(enc.cols, enc.dict) };
    },

    /** A block decoded for counting (the rollups of a batch another connection wrote); undefined if it is gone. */
    countsOf(block: number): QueryBlock | undefined {
      const b = queryColumns.get(block) as Pick<StoredBlock, 'cols' | 'dict'> | undefined;
      return b === undefined ? undefined : decodeQueryBlock(b.cols, b.dict);
    },

    /** Add the sessions of some blocks to `into`. */
    sumSessions(blocks: Iterable<number>, into: SessionSums): void {
      for (const id of blocks) {
        const b = queryColumns.get(id) as Pick<StoredBlock, 'cols' | 'dict' | 'sessions'> | undefined;
        if (b !== undefined) into.add(decodeQueryBlock(b.cols, b.dict, b.sessions));
      }
    },

    /**
     * Every block overlapping [from, to), for queries, read one row at a
     * time: a month of blocks is never in memory at once. Each comes with its
     * time range (from its row: known before decoding) and is decoded (with
     * its sessions when asked for) only when the caller calls `decode()`,
     * which throws for a damaged block while the iteration goes on. The
     * connection is busy until the loop over them ends (or breaks, or
     * throws), so the loop must run no other statement.
     */
    *blockSpans(
      from: number,
      to: number,
      withSessions: boolean,
    ): Generator<{ tsMin: number; tsMax: number; decode(): QueryBlock }> {
      const rows = (withSessions ? spansInRange : spansInRangeNoSessions).iterate(from, to) as IterableIterator<
        Row & { ts_min: number; ts_max: number }
      >;
      for (const b of rows)
        yield {
          tsMin: b.ts_min,
          tsMax: b.ts_max,
          decode: () =>
            withSessions ? decodeQueryBlock(b.cols, b.dict, b.sessions) : decodeQueryBlock(b.cols, b.dict),
        };
    },

    /** Sessions of the consenting events in [from, to) (retention re-sums the day it cut part-way). */
    sessionsInRange(from: number, to: number, into: SessionSums): void {
      for (const q of withSessionsIn(from, to)) into.add(q, from, to);
    },

    /**
     * Take a session's events (and their ids) out of the blocks overlapping
     * the given UTC days. Returns how many, with their rollup increments
     * subtracted into `gone`.
     */
    forget(sessionId: string, days: readonly number[], gone: RollupAccumulator): number {
      const seen = new Set<number>();
      let removed = 0;
      for (const day of days)
        for (const b of inRange.all(day * DAY_MS, (day + 1) * DAY_MS) as Row[]) {
          if (seen.has(b.id)) continue;
          seen.add(b.id);
          const q = decodeQueryBlock(b.cols, b.dict, b.sessions);
          const code = q.sessionCodeOf(sessionId);
          if (code <= 0) continue;
          const session = q.session;
          const whole = { ...b, ...(idsAndRest.get(b.id) as Pick<StoredBlock, 'ids' | 'rest'>) };
          const part = split(whole, (_, i) => session[i] !== code);
          gone.add(part.gone, -1);
          removed += part.gone.length;
          rewrite(b.id, part);
        }
      return removed;
    },

    /**
     * One retention step: delete up to EXPIRE_BLOCKS blocks that end before
     * `before`, with their ids. Returns the events deleted and whether more
     * such blocks may remain.
     */
    expireSome(before: number): { events: number; more: boolean } {
      const ids = expiredBlocks.all(before) as number[];
      if (ids.length === 0) return { events: 0, more: false };
      const list = JSON.stringify(ids);
      const events = countOf.get(list) as number;
      deleteIdsOfBlocks.run(list);
      deleteBlocks.run(list);
      return { events, more: ids.length === EXPIRE_BLOCKS };
    },

    /**
     * Retention's edge: blocks holding events on both sides of `before` keep
     * only the later ones (their rollup increments stay: rollups outlive raw
     * events). Returns the events deleted.
     */
    cutAt(before: number): number {
      let removed = 0;
      for (const id of straddling.all(before, before) as number[]) {
        const part = split(fullBlock.get(id) as Row, (row) => row.ts >= before);
        if (part.gone.length === 0) continue;
        removed += part.gone.length;
        rewrite(id, part);
      }
      return removed;
    },

    /** The stored events in [from, to), in the order they were stored. */
    events: (from: number, to: number): PrivacyEvent[] => storedEvents(db, from, to),
  };
}

export type BlockStore = ReturnType<typeof blockStore>;
