/**
 * Test doubles for the pipeline tests: sinks that fail, hang or refuse on demand.
 * They stand in for a broken destination, which a real aggregator cannot be made
 * to be on cue. Every double de-duplicates by event id, like real aggregators,
 * and counts the duplicates it saw.
 */
import type { Aggregator, Batch, SketchUpdate } from '../../../src/aggregators/aggregator.js';
import { ERROR_CODES, PrivacyLogError } from '../../../src/errors.js';
import type { PrivacyEvent } from '../../../src/event.js';

export type SinkMode = 'ok' | 'fail' | 'hang' | 'refuse';

export interface SinkDouble extends Aggregator {
  mode: SinkMode;
  /** Distinct events stored, by id. */
  readonly stored: Map<string, PrivacyEvent>;
  readonly sketches: SketchUpdate[];
  /** Events received again after they were already stored (at-least-once replays). */
  duplicates: number;
  writes: number;
  failedWrites: number;
  closed: boolean;
  /** Fail every write until Date.now() passes this. */
  failUntil: number;
  /** Delay every successful write by this many ms. */
  delayMs: number;
  forgotten: string[];
}

/** A sink double whose behaviour the test flips with `mode` / `failUntil`. */
export function sinkDouble(name = 'sink', mode: SinkMode = 'ok'): SinkDouble {
  const sink: SinkDouble = {
    name,
    mode,
    stored: new Map(),
    sketches: [],
    duplicates: 0,
    writes: 0,
    failedWrites: 0,
    closed: false,
    failUntil: 0,
    delayMs: 0,
    forgotten: [],
    async write(batch: Batch, signal?: AbortSignal): Promise<void> {
      sink.writes++;
      if (sink.mode === 'hang') {
        await new Promise<void>((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      if (sink.mode === 'fail' || Date.now() < sink.failUntil) {
        sink.failedWrites++;
        throw new Error(`${name}: simulated outage`);
      }
      if (sink.mode === 'refuse') {
        sink.failedWrites++;
        throw new PrivacyLogError(ERROR_CODES.REMOTE_REJECTED, `${name}: simulated refusal`, { retryable: false });
      }
      if (sink.delayMs > 0) await new Promise((r) => setTimeout(r, sink.delayMs));
      for (const e of batch.events) {
        if (sink.stored.has(e.id)) sink.duplicates++;
        else sink.stored.set(e.id, e);
      }
      sink.sketches.push(...batch.sketches);
    },
    async forget(sessionId: string): Promise<number> {
      sink.forgotten.push(sessionId);
      let n = 0;
      for (const [id, e] of sink.stored) {
        if (e.session?.id === sessionId) {
          sink.stored.delete(id);
          n++;
        }
      }
      return n;
    },
    async close(): Promise<void> {
      sink.closed = true;
    },
  };
  return sink;
}

/** A deterministic, valid UUID for sequence number n (UUIDv7 layout, time bits zero). */
export function idOf(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `00000000-0000-7000-8000-${hex}`;
}

export function seqOf(id: string): number {
  return Number.parseInt(id.slice(24), 16);
}

/** A valid event with sequence number n. */
export function eventOf(n: number, overrides: Partial<PrivacyEvent> = {}): PrivacyEvent {
  return {
    id: idOf(n),
    time: '2026-11-24T10:00:00.000Z',
    site: 'oblachko',
    kind: 'pageview',
    request: { method: 'GET', path: `/page/${n % 7}` },
    response: { status: 200, bytes: 1024, durationMs: 1.5 },
    client: { address: '203.0.113.0', prefixLength: 24 },
    agent: { browser: 'Firefox', browserVersion: '120', os: 'Linux', device: 'desktop', bot: false },
    consent: { analytics: 'denied', source: 'default' },
    ...overrides,
  };
}

/** Waits until `check()` is true, polling every `everyMs`, at most `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000, everyMs = 5): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The accounting identity, top level and per aggregator. Returns a description of the first violation. */
export function invariantViolation(m: {
  accepted: number;
  delivered: number;
  dropped: number;
  queued: number;
  spoolPending: number;
  aggregators: Record<
    string,
    { accepted?: number; delivered: number; dropped: number; queued: number; spoolPending: number }
  >;
}): string | undefined {
  const sum = m.delivered + m.dropped + m.queued + m.spoolPending;
  if (m.accepted !== sum) return `top: accepted ${m.accepted} != ${sum} (${JSON.stringify(m)})`;
  for (const [name, a] of Object.entries(m.aggregators)) {
    const s = a.delivered + a.dropped + a.queued + a.spoolPending;
    if (a.accepted !== s) return `${name}: accepted ${a.accepted} != ${s} (${JSON.stringify(a)})`;
  }
  return undefined;
}
