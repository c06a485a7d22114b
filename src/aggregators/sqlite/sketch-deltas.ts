/**
 * The SQLite store's sketch rows: a fold appends one delta row per key (the
 * registers its batches raised), and compaction merges each key's rows into
 * one, off the write path, in slices of about SLICE_MS. Readers merge every
 * row of a key, so results never depend on whether compaction ran.
 */
import type Database from 'better-sqlite3';
import { mergeBlobs } from '../../stats/hll.js';
import { yieldTurn } from '../../stats/store-support.js';
import type { SqliteBackend } from './sqlite-backend.js';
import type { SketchEntry, SketchKey } from './write-journal.js';

/** The bound of one background transaction (sketch appends before a fold, compaction). */
export const SLICE_MS = 1;
/** Keys compacted per transaction, so compaction never holds the write lock for long. */
const COMPACT_SLICE = 256;

/**
 * The sketch rows of one connection. `committed` is called after each
 * transaction this commits (the WAL checkpointer counts them).
 *
 * @example
 * const deltas = sketchDeltas(db, backend, () => checkpointer?.committed());
 * deltas.append(entry);        // inside the fold's transaction
 * await deltas.compact();      // later, in slices
 */
export function sketchDeltas(db: Database.Database, backend: SqliteBackend, committed: () => void) {
  const appendSketch = db.prepare(
    'INSERT INTO sketches (dimension, day, site, value, registers) VALUES (?, ?, ?, ?, ?)',
  );
  const keySketches = db.prepare(
    'SELECT rowid AS id, registers FROM sketches WHERE dimension = ? AND day = ? AND site = ? AND value = ?',
  );
  const deleteSketch = db.prepare('DELETE FROM sketches WHERE rowid = ?');
  // Keys this connection appended deltas to since the last compaction.
  const dirty = new Map<string, SketchKey>();

  /** Append one key's summed delta (if any) and note the key for compaction. Inside a transaction. */
  const append = (m: SketchEntry) => {
    if (m.hll.isEmpty()) return;
    appendSketch.run(...m.key, m.hll.encode());
    backend.invalidate(m.key[0], m.key[1]);
    const k = m.key.join('\u0000');
    if (!dirty.has(k)) dirty.set(k, m.key);
  };

  /**
   * Before a scheduled fold: append the in-memory deltas from `from` on,
   * until SLICE_MS has passed; returns where to go on. This shortens the
   * fold's own transaction (which must apply the rollups and delete the
   * journal rows at once). Safe to commit apart: sketch merges are idempotent
   * (max), so a journal row holding the same pairs, folded later by any
   * connection, adds nothing to them.
   */
  const drainSlice = db.transaction((entries: readonly SketchEntry[], from: number): number => {
    const started = performance.now();
    let i = from;
    while (i < entries.length) {
      append(entries[i++]!);
      if (performance.now() - started >= SLICE_MS) break;
    }
    return i;
  });

  /** Merge each key's rows into one, from `from` on, until COMPACT_SLICE keys or SLICE_MS; returns where to go on. */
  const compactSlice = db.transaction((keys: readonly SketchKey[], from: number) => {
    const started = performance.now();
    const end = Math.min(keys.length, from + COMPACT_SLICE);
    let i = from;
    while (i < end) {
      const k = keys[i++]!;
      const parts = keySketches.all(...k) as Array<{ id: number; registers: Uint8Array }>;
      if (parts.length >= 2) {
        let merged: Uint8Array | undefined;
        for (const p of parts) merged = mergeBlobs(merged, p.registers);
        for (const p of parts) deleteSketch.run(p.id);
        appendSketch.run(...k, merged!);
      }
      if (performance.now() - started >= SLICE_MS) break;
    }
    return i;
  });

  return {
    append,

    /** Keys appended to since the last compaction. */
    get dirtyKeys(): number {
      return dirty.size;
    },

    /**
     * Append in-memory deltas in short transactions, a turn of the loop
     * between them, releasing each once committed (a fold skips emptied
     * deltas). Stops when `stop()` says so, or when a fold by a read in
     * between released the list (its length drops to 0).
     */
    async drain(entries: readonly SketchEntry[], stop: () => boolean): Promise<void> {
      for (let i = 0; i < entries.length && !stop(); ) {
        const from = i;
        i = drainSlice.immediate(entries, from);
        for (let j = from; j < i; j++) entries[j]!.hll.release();
        committed();
        await yieldTurn();
      }
    },

    /** Compact the dirty keys in slices, yielding between them; a failed slice leaves its keys for next time. */
    async compact(): Promise<void> {
      const keys = [...dirty.values()];
      dirty.clear();
      for (let i = 0; i < keys.length; ) {
        const from = i;
        try {
          i = compactSlice.immediate(keys, from);
        } catch {
          i = Math.min(keys.length, from + COMPACT_SLICE);
          for (let j = from; j < i; j++) dirty.set(keys[j]!.join('\u0000'), keys[j]!);
        }
        committed();
        await yieldTurn();
      }
    },

    /** Compact every dirty key now, without yielding (close). Throws on the first failure; deltas stay valid. */
    compactNow(): void {
      const keys = [...dirty.values()];
      for (let i = 0; i < keys.length; ) i = compactSlice.immediate(keys, i);
    },
  };
}
