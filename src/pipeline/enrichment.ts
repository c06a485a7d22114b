/**
 * Merges pending client enrichment (reverse DNS, ISP) into copies of a batch's
 * events, waiting at most a total timeout. Events are treated as immutable:
 * an enriched event is a shallow copy with a new `client` object.
 */
import { EVENT_LIMITS, type PrivacyEvent, validateEvent } from '../event.js';
import type { ClientEnrichment } from './types.js';

/**
 * Waits for the given enrichments (index-aligned with `events`, holes allowed)
 * for at most `timeoutMs` in total, or until `cut` is aborted, then returns
 * the events with every resolved enrichment merged. Rejected or late
 * enrichments leave their event as it was.
 *
 * @example
 * const enriched = await applyEnrichments(events, pending, 300);
 */
export async function applyEnrichments(
  events: readonly PrivacyEvent[],
  pending: ReadonlyArray<Promise<ClientEnrichment> | undefined>,
  timeoutMs: number,
  cut?: AbortSignal,
): Promise<PrivacyEvent[]> {
  const resolved: Array<ClientEnrichment | undefined> = new Array(events.length);
  const waits: Promise<void>[] = [];
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i];
    if (p === undefined) continue;
    waits.push(
      Promise.resolve(p).then(
        (v) => {
          resolved[i] = v;
        },
        () => undefined,
      ),
    );
  }
  if (waits.length > 0 && cut?.aborted !== true) {
    let timer: NodeJS.Timeout | undefined;
    let onCut: (() => void) | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        if (cut !== undefined) {
          onCut = resolve;
          cut.addEventListener('abort', onCut, { once: true });
        }
      }),
    ]);
    if (timer !== undefined) clearTimeout(timer);
    // Nothing stays attached to the long-lived signal once this batch is done waiting.
    if (onCut !== undefined) cut?.removeEventListener('abort', onCut);
  }
  const out = events.slice();
  for (let i = 0; i < out.length; i++) {
    const r = resolved[i];
    if (r !== undefined) out[i] = mergeEnrichment(out[i] as PrivacyEvent, r);
  }
  return out;
}

/** A copy of `event` with the enrichment's defined, well-formed fields on `client`; the event itself if none apply. */
export function mergeEnrichment(event: PrivacyEvent, e: ClientEnrichment): PrivacyEvent {
  if (typeof e !== 'object' || e === null) return event;
  const client = { ...event.client };
  let changed = false;
  if (typeof e.isp === 'string' && e.isp.length > 0 && e.isp.length <= EVENT_LIMITS.isp) {
    client.isp = e.isp;
    changed = true;
  }
  if (typeof e.asn === 'number') {
    client.asn = e.asn;
    changed = true;
  }
  if (typeof e.domain === 'string' && e.domain.length > 0 && e.domain.length <= EVENT_LIMITS.domain) {
    client.domain = e.domain;
    changed = true;
  }
  if (!changed) return event;
  const merged: PrivacyEvent = { ...event, client };
  // Enrichment comes from outside data (DNS): never let it make a valid event invalid.
  return validateEvent(merged) === undefined ? merged : event;
}
