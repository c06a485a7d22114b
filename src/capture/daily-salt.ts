/**
 * Daily salts for the visitor hash (DESIGN §7).
 *
 * One random 128-bit salt per UTC day. Until the shared store answers, the
 * process uses its own random candidate; the store keeps the first writer's
 * salt, so every server ends up hashing a visitor the same way. A salt is held
 * in memory for its day and the day after (late requests), then forgotten.
 *
 * Days are numbered as whole UTC days since the epoch (`Math.floor(ms / 864e5)`),
 * so finding a request's day needs no Date object.
 */
import { randomBytes } from 'node:crypto';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';

/** Milliseconds in a UTC day (UTC has no DST; leap seconds are not in epoch ms). */
export const DAY_MS = 86_400_000;

/** A salt is 128 random bits written as 32 lowercase hex digits. */
export const SALT_HEX_LENGTH = 32;

const SALT_RE = /^[0-9a-f]{32}$/;

/** The UTC day number of a time in epoch milliseconds. */
export function dayNumberOf(timeMs: number): number {
  return Math.floor(timeMs / DAY_MS);
}

/** 'YYYY-MM-DD' of a UTC day number. */
export function dayLabel(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

/** A fresh random salt: 128 bits as 32 lowercase hex digits. */
export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** True for a well-formed salt (what {@link newSalt} produces). */
export function isSalt(value: unknown): value is string {
  return typeof value === 'string' && SALT_RE.test(value);
}

/**
 * The SipHash key of a salt: four little-endian 32-bit words
 * `[k0 low, k0 high, k1 low, k1 high]`, as SipHash reads its 16 key bytes.
 */
export function saltKey(salt: string): Int32Array {
  const bytes = Buffer.from(salt, 'hex');
  const key = new Int32Array(4);
  for (let w = 0; w < 4; w++) {
    const o = w * 4;
    key[w] =
      (bytes[o] as number) |
      ((bytes[o + 1] as number) << 8) |
      ((bytes[o + 2] as number) << 16) |
      ((bytes[o + 3] as number) << 24);
  }
  return key;
}

/** One day's salt as the hasher holds it. */
export interface DaySalt {
  day: number;
  label: string;
  /** The salt in use: the local candidate until the store answers, then the store's. */
  salt: string;
  key: Int32Array;
  /** True once the shared store has answered for this day (or there is no store). */
  agreed: boolean;
  /** The fetch in flight, if any. */
  pending: Promise<void> | undefined;
  /** Failed store attempts so far (drives the retry backoff). */
  failures: number;
}

/** A day's salt record with a fresh local candidate. */
export function localDaySalt(day: number, agreed: boolean): DaySalt {
  const salt = newSalt();
  return { day, label: dayLabel(day), salt, key: saltKey(salt), agreed, pending: undefined, failures: 0 };
}

/** Overwrite a salt record's key material, so the old salt does not linger in the buffer. */
export function wipeDaySalt(s: DaySalt): void {
  s.key.fill(0);
  s.salt = '';
}

/** How long before UTC midnight the next day's salt is fetched. */
export const SALT_PREFETCH_LEAD_MS = 10 * 60_000;
/** First retry delay after the salt store failed; doubles per failure. */
export const SALT_RETRY_INITIAL_MS = 5_000;
/** Longest retry delay. */
export const SALT_RETRY_MAX_MS = 5 * 60_000;
/** How long `ready()` waits for the store before rejecting. */
export const SALT_READY_TIMEOUT_MS = 10_000;

export interface DailySaltsOptions {
  saltSource?: ((day: string, candidate: string) => Promise<string>) | undefined;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined;
  onError?: ((error: PrivacyLogError) => void) | undefined;
}

/** The salts of yesterday, today and tomorrow, and the cheap lookup of a request's key. */
export interface DailySalts {
  /** The SipHash key for a request at `timeMs`. The array is updated in place when the store answers. */
  keyFor(timeMs: number): Int32Array;
  ready(): Promise<void>;
  close(): void;
  /** Labels of the days whose salts are in memory, oldest first (for tests and diagnostics). */
  daysInMemory(): string[];
}

/**
 * Keeps the daily salts: creates the local candidate, asks the store, prefetches
 * tomorrow's before midnight, retries failures with backoff, and forgets salts
 * older than yesterday. `keyFor` is two comparisons while the request is in the
 * cached [start, end) window of the current day.
 *
 * @example
 * const salts = createDailySalts({ saltSource: (day, c) => store.salt(day, c) });
 * const key = salts.keyFor(Date.now());
 */
export function createDailySalts(options: DailySaltsOptions): DailySalts {
  return new SaltBook(options);
}

class SaltBook implements DailySalts {
  private readonly source: DailySaltsOptions['saltSource'];
  private readonly now: () => number;
  private readonly onError: DailySaltsOptions['onError'];
  private readonly byDay = new Map<number, DaySalt>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly lastError = new Map<number, PrivacyLogError>();
  private today = Number.NaN;
  private fastStart = 0;
  private fastEnd = 0;
  private fastKey: Int32Array = new Int32Array(4);
  private maintenance: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: DailySaltsOptions) {
    this.source = options.saltSource;
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
    this.maintain(this.clock());
  }

  keyFor(timeMs: number): Int32Array {
    if (timeMs >= this.fastStart && timeMs < this.fastEnd) return this.fastKey;
    return this.slowKeyFor(timeMs);
  }

  ready(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const day = this.today;
    const entry = this.byDay.get(day);
    if (entry === undefined || entry.agreed) return Promise.resolve();
    const pending = entry.pending ?? this.fetch(entry);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new PrivacyLogError(
            ERROR_CODES.TIMEOUT,
            `visitor salts: the salt store did not answer for ${entry.label} within ${SALT_READY_TIMEOUT_MS} ms; check the store (marks use a local salt meanwhile).`,
          ),
        );
      }, SALT_READY_TIMEOUT_MS);
      timer.unref();
      void pending.then(() => {
        clearTimeout(timer);
        if (entry.agreed || this.closed) resolve();
        else reject(this.lastError.get(day) ?? storeError(entry.label, 'no answer'));
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.maintenance) clearTimeout(this.maintenance);
    for (const entry of this.byDay.values()) wipeDaySalt(entry);
    this.byDay.clear();
    this.fastStart = 0;
    this.fastEnd = 0;
  }

  daysInMemory(): string[] {
    return [...this.byDay.values()].sort((a, b) => a.day - b.day).map((e) => e.label);
  }

  private clock(): number {
    const t = this.now();
    return Number.isFinite(t) ? t : Date.now();
  }

  private slowKeyFor(timeMs: number): Int32Array {
    if (this.closed) return this.fastKey;
    const nowMs = this.clock();
    if (dayNumberOf(nowMs) !== this.today || nowMs >= this.fastEnd) this.maintain(nowMs);
    if (timeMs >= this.fastStart && timeMs < this.fastEnd) return this.fastKey;
    const day = dayNumberOf(timeMs);
    if (!(day >= this.today - 1 && day <= this.today + 1)) return this.fastKey;
    return this.entry(day).key;
  }

  /** The record for `day`, created (and fetched) if missing. */
  private entry(day: number): DaySalt {
    let entry = this.byDay.get(day);
    if (entry === undefined) {
      entry = localDaySalt(day, this.source === undefined);
      this.byDay.set(day, entry);
      if (this.source !== undefined) void this.fetch(entry);
    }
    return entry;
  }

  /** Roll the day forward if needed, prefetch tomorrow near midnight, forget old salts, re-arm the timer. */
  private maintain(nowMs: number): void {
    if (this.closed) return;
    const today = dayNumberOf(nowMs);
    this.today = today;
    for (const [day, entry] of this.byDay) {
      if (day < today - 1 || day > today + 1) {
        wipeDaySalt(entry);
        this.byDay.delete(day);
        this.lastError.delete(day);
      }
    }
    const current = this.entry(today);
    const start = today * DAY_MS;
    const end = start + DAY_MS;
    const prefetchAt = end - SALT_PREFETCH_LEAD_MS;
    if (nowMs >= prefetchAt) this.entry(today + 1);
    this.fastStart = start;
    this.fastEnd = this.byDay.has(today + 1) ? end : prefetchAt;
    this.fastKey = current.key;
    if (this.maintenance) clearTimeout(this.maintenance);
    const next = this.fastEnd === end ? end : prefetchAt;
    this.maintenance = setTimeout(() => this.maintain(this.clock()), clampDelay(next - nowMs));
    this.maintenance.unref();
  }

  /** Ask the store for `entry`'s day; never rejects. */
  private fetch(entry: DaySalt): Promise<void> {
    const source = this.source;
    if (source === undefined) return Promise.resolve();
    if (entry.pending) return entry.pending;
    const pending = Promise.resolve()
      .then(() => source(entry.label, entry.salt))
      .then((answer) => {
        if (this.closed || this.byDay.get(entry.day) !== entry) return;
        if (!isSalt(answer)) {
          throw storeError(entry.label, 'the store returned something that is not a 32-hex-digit salt');
        }
        if (answer !== entry.salt) {
          entry.salt = answer;
          entry.key.set(saltKey(answer));
        }
        entry.agreed = true;
        entry.failures = 0;
        this.lastError.delete(entry.day);
      })
      .catch((cause: unknown) => {
        if (this.closed || this.byDay.get(entry.day) !== entry) return;
        const error =
          cause instanceof PrivacyLogError && cause.code === ERROR_CODES.STORE_UNAVAILABLE
            ? cause
            : storeError(entry.label, 'the store failed', cause);
        this.lastError.set(entry.day, error);
        entry.failures++;
        this.report(error);
        const delay = Math.min(SALT_RETRY_MAX_MS, SALT_RETRY_INITIAL_MS * 2 ** (entry.failures - 1));
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!this.closed && this.byDay.get(entry.day) === entry && !entry.agreed) void this.fetch(entry);
        }, delay);
        timer.unref();
        this.timers.add(timer);
      })
      .finally(() => {
        entry.pending = undefined;
      });
    entry.pending = pending;
    return pending;
  }

  private report(error: PrivacyLogError): void {
    if (this.onError === undefined) return;
    try {
      this.onError(error);
    } catch {
      // A throwing error handler must not break salt maintenance.
    }
  }
}

function storeError(label: string, what: string, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(
    ERROR_CODES.STORE_UNAVAILABLE,
    `visitor salts: ${what} for ${label}; unique visitors are counted with a local salt until it answers (several servers may then count one visitor twice). Check the store.`,
    { cause },
  );
}

function clampDelay(ms: number): number {
  return Math.min(Math.max(ms, 1_000), 2_147_483_647);
}
