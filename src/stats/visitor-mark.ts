/**
 * A visitor mark: the HyperLogLog register index and rank derived from the
 * visitor's daily-salted keyed hash, packed in one small integer so the request
 * path allocates nothing for it. Marks travel beside events inside the pipeline
 * and become sketch updates at batch time; they are never stored on an event.
 *
 * Derivation (src/capture/visitor-hash.ts): h = SipHash-2-4 of
 * `UA 0xFF address 0xFF site` keyed by the UTC day's random salt; index = the top
 * 14 bits of h (MARK_INDEX_BITS), rank = leading zeros of the remaining 50 bits
 * plus one (1..MARK_MAX_RANK = 51). A packed mark is therefore always >= 1.
 */
import type { SketchDimension } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';

const RANK_BITS = 6;
const RANK_MASK = (1 << RANK_BITS) - 1;

/** Pack a register index (< 2^14) and a rank (1..51) into one integer. */
export function packMark(index: number, rank: number): number {
  return index * (RANK_MASK + 1) + rank;
}

export function markIndex(mark: number): number {
  return Math.floor(mark / (RANK_MASK + 1));
}

export function markRank(mark: number): number {
  return mark & RANK_MASK;
}

/**
 * The (dimension, value) pairs an event contributes visitors to. Every event
 * with a mark counts for 'site'; the breakdown dimensions only where the event
 * has that field.
 */
export function sketchKeysOf(e: PrivacyEvent): Array<[SketchDimension, string]> {
  const keys: Array<[SketchDimension, string]> = [['site', '']];
  if (e.kind === 'pageview') keys.push(['page', e.request.path]);
  if (e.referrer && e.referrer.type !== 'internal') keys.push(['referrer', e.referrer.host]);
  if (e.agent.browser) keys.push(['browser', e.agent.browser]);
  if (e.agent.os) keys.push(['os', e.agent.os]);
  keys.push(['device', e.agent.device]);
  if (e.client.isp) keys.push(['isp', e.client.isp]);
  if (e.client.domain) keys.push(['domain', e.client.domain]);
  if (e.download) keys.push(['download', e.download.file]);
  return keys;
}
