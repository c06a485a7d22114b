/**
 * WAL checkpoints off the event loop. SQLite copies the write-ahead log back
 * into the database file when it passes 1000 pages, inside whichever commit
 * crossed the line — on the writer's thread, 15–35 ms (with fsync) in the
 * middle of a batch. Here the writer's connection turns that off and a worker
 * thread with its own connection runs PASSIVE checkpoints (they never block
 * the writer) whenever the writer says the log has grown. If the worker
 * cannot start or dies, the writer goes back to checkpointing itself.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** Pages of log a checkpoint is asked for at (SQLite's own default threshold). */
export const CHECKPOINT_LOG_PAGES = 1000;
/** Commits between two checkpoint requests at first; then adjusted so each one finds ≈ CHECKPOINT_LOG_PAGES. */
const FIRST_EVERY_COMMITS = 32;
const MIN_EVERY_COMMITS = 4;
const MAX_EVERY_COMMITS = 1024;
/** SQLite's own threshold, restored when the worker is gone. */
const INLINE_AUTOCHECKPOINT_PAGES = 1000;

// Plain CommonJS for an eval'd worker: the same code runs from src (tsx, vitest) and from dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  // [busy, pages in the log, pages copied]; -1 when the checkpoint failed (it is asked again later).
  let log = -1;
  try { log = db.pragma('wal_checkpoint(PASSIVE)')[0].log; } catch {}
  parentPort.postMessage(log);
});
parentPort.postMessage(-1);
`;

export interface WalCheckpointer {
  /** A transaction committed: ask for a checkpoint when about CHECKPOINT_LOG_PAGES pages of log have built up. */
  committed(): void;
  /** Stop the worker (the connection's close checkpoints what is left). */
  close(): Promise<void>;
  /** Whether checkpoints run on the worker now (false once it failed: the writer checkpoints itself). */
  readonly background: boolean;
}

/**
 * @example
 * const ckpt = walCheckpointer(db, file, 5000);
 * writeTx.immediate(rows);
 * ckpt.committed();
 * await ckpt.close();
 */
export function walCheckpointer(db: Database.Database, file: string, busyTimeoutMs: number): WalCheckpointer {
  let worker: Worker | undefined;
  let busy = true; // until the worker says it is ready
  let commits = 0;
  let every = FIRST_EVERY_COMMITS;
  let background = false;
  const inline = () => {
    if (!background) return;
    background = false;
    try {
      db.pragma(`wal_autocheckpoint = ${INLINE_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The connection is closing; nothing left to checkpoint for.
    }
  };
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file, busyTimeoutMs },
    });
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    background = true;
    worker.on('message', (log: number) => {
      busy = false;
      // Aim the next request at about CHECKPOINT_LOG_PAGES of log, whatever a commit writes.
      if (log > 0)
        every = Math.min(
          MAX_EVERY_COMMITS,
          Math.max(MIN_EVERY_COMMITS, Math.round((every * CHECKPOINT_LOG_PAGES) / log)),
        );
      // Commits that came while the worker was starting or busy: ask now, not at the next
      // commit (there may be none for a while, and the log would wait for it).
      if (commits >= every) request();
    });
    worker.on('error', () => {
      worker = undefined;
      inline();
    });
    worker.on('exit', () => {
      worker = undefined;
      inline();
    });
  } catch {
    worker = undefined;
    inline();
  }
  function request(): void {
    if (worker === undefined || busy) return;
    commits = 0;
    busy = true;
    worker.postMessage('checkpoint');
  }
  return {
    get background() {
      return background;
    },
    committed() {
      if (++commits >= every) request();
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w === undefined) return;
      background = false;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage('close');
      // A worker stuck on a lock is not worth waiting for: the writer's close checkpoints anyway.
      const timer = setTimeout(() => void w.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
