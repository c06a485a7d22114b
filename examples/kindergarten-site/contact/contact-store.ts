/**
 * The site's own store of contact-form submissions: a SQLite file of its own,
 * apart from the request logs. It holds what the parent typed and the version
 * of the personal-data consent they gave — and no IP address, no User-Agent,
 * nothing from the request. Submissions older than the retention promised in
 * the consent document are deleted on every write.
 */
import Database from 'better-sqlite3';

/** The consent document promises deletion after one year at the latest. */
export const DEFAULT_CONTACT_RETENTION_DAYS = 365;
const DAY_MS = 86_400_000;

export interface ContactSubmission {
  name: string;
  phone?: string;
  email?: string;
  message: string;
  /** Version of the personal-data consent document the parent agreed to. */
  pdConsentVersion: string;
}

export interface StoredSubmission extends ContactSubmission {
  id: number;
  /** ISO 8601 UTC: when the submission (and with it the consent) was received. */
  createdAt: string;
}

export interface ContactStore {
  add(submission: ContactSubmission, now?: Date): number;
  list(limit?: number): StoredSubmission[];
  close(): void;
}

interface Row {
  id: number;
  created_at: string;
  name: string;
  phone: string | null;
  email: string | null;
  message: string;
  pd_consent_version: string;
}

export function openContactStore(file: string, retentionDays = DEFAULT_CONTACT_RETENTION_DAYS): ContactStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS contact_submissions (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    message TEXT NOT NULL,
    pd_consent_version TEXT NOT NULL
  ) STRICT`);
  const insert = db.prepare(
    'INSERT INTO contact_submissions (created_at, name, phone, email, message, pd_consent_version) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const purge = db.prepare('DELETE FROM contact_submissions WHERE created_at < ?');
  const select = db.prepare('SELECT * FROM contact_submissions ORDER BY id DESC LIMIT ?');
  let closed = false;

  return {
    add(s, now = new Date()) {
      purge.run(new Date(now.getTime() - retentionDays * DAY_MS).toISOString());
      const result = insert.run(
        now.toISOString(),
        s.name,
        s.phone ?? null,
        s.email ?? null,
        s.message,
        s.pdConsentVersion,
      );
      return Number(result.lastInsertRowid);
    },
    list(limit = 100) {
      return (select.all(limit) as Row[]).map((r) => ({
        id: r.id,
        createdAt: r.created_at,
        name: r.name,
        ...(r.phone === null ? {} : { phone: r.phone }),
        ...(r.email === null ? {} : { email: r.email }),
        message: r.message,
        pdConsentVersion: r.pd_consent_version,
      }));
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
