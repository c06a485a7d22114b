/**
 * Starts the example site in-process on a free loopback port with a fresh
 * data directory, and reads back what it stored: the privacy-log events in the
 * real SQLite file (after flushing the pipeline) and the contact submissions.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  CONTACTS_DB_FILE,
  createSite,
  PRIVACY_DB_FILE,
  type Site,
  type SiteOptions,
} from '../../../examples/kindergarten-site/site.js';
import { storedEvents } from '../../../src/aggregators/sqlite/block-store.js';
import type { PrivacyEvent } from '../../../src/event.js';

/** How long `events(until)` waits for a matching event. */
export const EVENTS_WAIT_MS = 5000;

export interface SiteUnderTest extends Site {
  /** Lines the site logged (server errors, privacy-log errors). */
  logLines: string[];
  /**
   * Flush the pipeline, then read every stored event, oldest first. With `until`, repeat (for at most
   * {@link EVENTS_WAIT_MS}) until some stored event matches: a request's event is pushed when its
   * response closes on the server, which can be a moment after the browser has the page.
   */
  events(until?: (e: PrivacyEvent) => boolean): Promise<PrivacyEvent[]>;
  /** Stop the site and delete its data directory. */
  dispose(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'oblachko-e2e-'));
}

export async function startSite(options: SiteOptions = {}): Promise<SiteUnderTest> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const logLines: string[] = [];
  const site = await createSite({
    port: 0,
    host: '127.0.0.1',
    statsToken: 'e2e-token-0123456789abcdef',
    debugRoutes: true,
    log: (line) => logLines.push(line),
    ...options,
    dataDir,
  });
  return Object.assign(site, {
    logLines,
    async events(until?: (e: PrivacyEvent) => boolean) {
      const deadline = Date.now() + EVENTS_WAIT_MS;
      for (;;) {
        await site.privacy.pipeline.flush({ timeoutMs: 5000 });
        const events = readStoredEvents(join(dataDir, PRIVACY_DB_FILE));
        if (!until || events.some(until) || Date.now() > deadline) return events;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async dispose() {
      await site.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/** Every event in the privacy-log SQLite file, oldest first, as stored. */
export function readStoredEvents(file: string): PrivacyEvent[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // The SQLite aggregator keeps events in encoded blocks, in arrival order; this decodes them exactly.
    return storedEvents(db);
  } finally {
    db.close();
  }
}

export interface ContactRow {
  [column: string]: unknown;
}

export function readContacts(dataDir: string): { columns: string[]; rows: ContactRow[] } {
  const db = new Database(join(dataDir, CONTACTS_DB_FILE), { readonly: true, fileMustExist: true });
  try {
    const columns = (db.prepare('PRAGMA table_info(contact_submissions)').all() as { name: string }[]).map(
      (c) => c.name,
    );
    const rows = db.prepare('SELECT * FROM contact_submissions ORDER BY id').all() as ContactRow[];
    return { columns, rows };
  } finally {
    db.close();
  }
}

/** Every regular file under `dir`, recursively, with its path relative to `dir`. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** Files under `dir` (except those `skip` accepts) whose bytes contain any of `needles` (UTF-8 and UTF-16LE). */
export async function filesContaining(
  dir: string,
  needles: readonly string[],
  skip: (rel: string) => boolean,
): Promise<string[]> {
  const hits: string[] = [];
  for (const rel of await listFiles(dir)) {
    if (skip(rel)) continue;
    const path = join(dir, rel);
    if ((await stat(path)).size === 0) continue;
    const bytes = await readFile(path);
    for (const n of needles) {
      if (bytes.includes(Buffer.from(n, 'utf8')) || bytes.includes(Buffer.from(n, 'utf16le'))) {
        hits.push(`${rel} contains "${n}"`);
      }
    }
  }
  return hits;
}
