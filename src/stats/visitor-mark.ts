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
import { SKETCH_PRECISION, type SketchDimension } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';

const RANK_BITS = 6;
const RANK_MASK = (1 << RANK_BITS) - 1;
/** Packed marks per register index: markIndex(m) = floor(m / MARKS_PER_INDEX). */
export const MARKS_PER_INDEX = RANK_MASK + 1;
/** Every packed mark is below this (2^14 register indexes × MARKS_PER_INDEX). */
export const MARK_LIMIT = 2 ** SKETCH_PRECISION * MARKS_PER_INDEX;

/** Pack a register index (< 2^14) and a rank (1..51) into one integer. */
export function packMark(index: number, rank: number): number {
  return index * MARKS_PER_INDEX + rank;
}

export function markIndex(mark: number): number {
  return Math.floor(mark / MARKS_PER_INDEX);
}

export function markRank(mark: number): number {
  return mark & RANK_MASK;
}

/** Whether `m` is a packed mark: an integer below MARK_LIMIT with a rank (anything else is no visitor). */
export function isPackedMark(m: number | undefined): m is number {
  return m !== undefined && m >= 0 && m < MARK_LIMIT && Number.isInteger(m) && markRank(m) !== 0;
}

/**
 * Call `visit(dimension, value, arg, slot)` for each (dimension, value) pair an
 * event contributes visitors to: 'site' for every event with a mark, the
 * breakdown dimensions only where the event has that field. `slot` is the
 * dimension's position in SKETCH_DIMENSIONS (a visitor can index an array by
 * it instead of looking the name up). Allocates nothing.
 */
export function eachSketchKey<T>(
  e: PrivacyEvent,
  visit: (d: SketchDimension, value: string, arg: T, slot: number) => void,
  arg: T,
): void {
  visit('site', '', arg, 0);
  if (e.kind === 'pageview') visit('page', e.request.path, arg, 1);
  if (e.referrer && e.referrer.type !== 'internal') visit('referrer', e.referrer.host, arg, 2);
  if (e.agent.browser) visit('browser', e.agent.browser, arg, 3);
  if (e.agent.os) visit('os', e.agent.os, arg, 4);
  visit('device', e.agent.device, arg, 5);
  if (e.client.isp) visit('isp', e.client.isp, arg, 6);
  if (e.client.domain) visit('domain', e.client.domain, arg, 7);
  if (e.download) visit('download', e.download.file, arg, 8);
}

const pushKey = (d: SketchDimension, value: string, into: Array<[SketchDimension, string]>) => {
  into.push([d, value]);
};

/** The (dimension, value) pairs of `eachSketchKey`, as a list. */
export function sketchKeysOf(e: PrivacyEvent): Array<[SketchDimension, string]> {
  const keys: Array<[SketchDimension, string]> = [];
  eachSketchKey(e, pushKey, keys);
  return keys;
}
