/**
 * "What this site recorded about your visit": the last event recorded for each
 * visitor, held in process memory only, for a few minutes. Entries are keyed by
 * an HMAC of address and User-Agent under a random per-process key (never by
 * the address), bounded in number, and expire; nothing here is ever persisted.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { PrivacyEvent } from '../event.js';

export interface RecentEventsOptions {
  ttlMs: number;
  maxEntries: number;
}

export class RecentEvents {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, { event: PrivacyEvent; expires: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: RecentEventsOptions) {
    this.#ttlMs = options.ttlMs;
    this.#max = options.maxEntries;
  }

  /** The keyed hash that stands for one visitor (address + User-Agent) in this process. */
  key(address: string, userAgent: string): string {
    return createHmac('sha256', this.#key).update(address).update('\0').update(userAgent).digest('base64url');
  }

  get(key: string, now = Date.now()): PrivacyEvent | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.event;
  }

  set(key: string, event: PrivacyEvent, now = Date.now()): void {
    this.#entries.delete(key);
    this.#entries.set(key, { event, expires: now + this.#ttlMs });
    // Map keeps insertion order: the first entries are the oldest.
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
