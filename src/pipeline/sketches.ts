/**
 * Folds visitor marks into sparse HyperLogLog updates at batch time
 * (DESIGN §7): one register map per (UTC day, site, dimension, value), the
 * maximum rank per register. Marks never touch the events themselves.
 */
import {
  SKETCH_DIMENSIONS,
  SKETCH_PRECISION,
  type SketchDimension,
  type SketchUpdate,
} from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import { eachSketchKey, isPackedMark, markIndex, markRank } from '../stats/visitor-mark.js';

/** Marks below zero mean "no mark" (the event contributes no visitor). */
export const NO_MARK = -1;

/** Register index bits of an entry's code: code = key × INDEX_SPAN + index. */
const INDEX_BITS = SKETCH_PRECISION;
const INDEX_SPAN = 2 ** INDEX_BITS;
const INDEX_MASK = INDEX_SPAN - 1;
/**
 * Events a batch is built in at most at once: an entry's code is its key ×
 * 2^INDEX_BITS + register index in 32 bits, so a chunk may reach at most
 * 2^18 keys (9 dimensions × 2^14 events). A larger batch is built chunk by
 * chunk, each chunk's keys updated on their own.
 */
export const SKETCH_CHUNK_EVENTS = 2 ** 14;

type Pair = readonly [number, number];
/** One (day, site)'s keys: per dimension slot, value → key number (created on first use). */
type BySlot = Array<Map<string, number> | undefined>;

/**
 * Buffers shared by every batch (a chunk's entries, one per (event, key)):
 * the entry's code, its event's position in the chunk, and the second half
 * of each for the radix sort's passes. They grow to the largest chunk seen
 * (at most 9 × SKETCH_CHUNK_EVENTS entries: 4 arrays of 576 KiB).
 */
let codes = new Uint32Array(4096);
let positions = new Uint32Array(4096);
let codesB = new Uint32Array(4096);
let positionsB = new Uint32Array(4096);
const counts = new Uint32Array(256);

/**
 * Sort the first `n` entries by code (`bits` significant bits), positions
 * alongside: least-significant-digit radix sort, a byte per pass, stable.
 * Linear in n: a comparison sort of a batch's ~8 entries an event cost
 * three times as much. Leaves the result in `codes` and `positions`.
 */
function sortEntries(n: number, bits: number): void {
  for (let shift = 0; shift < bits; shift += 8) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((codes[i] as number) >>> shift) & 0xff]!++;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[d] as number;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const c = codes[i] as number;
      const at = counts[(c >>> shift) & 0xff]!++;
      codesB[at] = c;
      positionsB[at] = positions[i] as number;
    }
    [codes, codesB] = [codesB, codes];
    [positions, positionsB] = [positionsB, positions];
  }
}

/**
 * One chunk's keys and entries, filled by `note` for every key of every
 * marked event. A key is numbered on first sight (per day and site, one
 * value map per dimension slot).
 */
class ChunkKeys {
  constructor(
    /** Events in the chunk. */
    readonly events: number,
  ) {}
  /** The current (day, site): per dimension slot, value → key. */
  bySlot: BySlot = [];
  day = '';
  site = '';
  readonly days: string[] = [];
  readonly sites: string[] = [];
  readonly slotOf: number[] = [];
  readonly values: string[] = [];
  n = 0;
  /** The register index and chunk position of the event being noted. */
  index = 0;
  position = 0;
}

function note(_dimension: SketchDimension, value: string, k: ChunkKeys, slot: number): void {
  let byValue = k.bySlot[slot];
  if (byValue === undefined) {
    byValue = new Map();
    k.bySlot[slot] = byValue;
  }
  let key = byValue.get(value);
  if (key === undefined) {
    key = k.values.length;
    byValue.set(value, key);
    k.days.push(k.day);
    k.sites.push(k.site);
    k.slotOf.push(slot);
    k.values.push(value);
  }
  // Below 2^32 (key < 2^18): stored exactly, read back with >>> (unsigned).
  codes[k.n] = key * INDEX_SPAN + k.index;
  positions[k.n] = k.position;
  k.n++;
}

/** Note every key of the marked events in [from, to) of a batch. */
function noteChunk(events: readonly PrivacyEvent[], marks: readonly number[], from: number, to: number): ChunkKeys {
  const capacity = (to - from) * SKETCH_DIMENSIONS.length;
  if (codes.length < capacity) {
    const size = Math.max(capacity, codes.length * 2);
    codes = new Uint32Array(size);
    positions = new Uint32Array(size);
    codesB = new Uint32Array(size);
    positionsB = new Uint32Array(size);
  }
  const k = new ChunkKeys(to - from);
  // day → site → per-slot value maps; consecutive events nearly always share both.
  const groups = new Map<string, Map<string, BySlot>>();
  let bySite: Map<string, BySlot> | undefined;
  let lastSite: string | undefined;
  for (let i = from; i < to; i++) {
    const mark = marks[i];
    // Anything but a packed mark is no visitor, never a wrong one.
    if (!isPackedMark(mark)) continue;
    const event = events[i] as PrivacyEvent;
    if (bySite === undefined || k.day.length !== 10 || !event.time.startsWith(k.day)) {
      k.day = event.time.slice(0, 10);
      bySite = groups.get(k.day);
      if (bySite === undefined) {
        bySite = new Map();
        groups.set(k.day, bySite);
      }
      lastSite = undefined;
    }
    if (event.site !== lastSite) {
      lastSite = event.site;
      k.site = lastSite;
      let bySlot = bySite.get(lastSite);
      if (bySlot === undefined) {
        bySlot = new Array(SKETCH_DIMENSIONS.length).fill(undefined);
        bySite.set(lastSite, bySlot);
      }
      k.bySlot = bySlot;
    }
    k.index = markIndex(mark);
    k.position = i - from;
    eachSketchKey(event, note, k);
  }
  return k;
}

/** A chunk's updates: entries sorted by key and register, the highest rank of each register's run kept. */
function chunkUpdates(k: ChunkKeys, marks: readonly number[], from: number, out: SketchUpdate[]): void {
  const n = k.n;
  if (n === 0) return;
  sortEntries(n, INDEX_BITS + Math.ceil(Math.log2(k.values.length + 1)));
  // One pair object per event, made when first needed, shared by every key it reached (pairs are read-only).
  const pairs: Array<Pair | undefined> = new Array(k.events);
  let j = 0;
  while (j < n) {
    const key = (codes[j] as number) >>> INDEX_BITS;
    // The key's run of entries, and its registers counted first: each list allocated once, at its size.
    let end = j + 1;
    let count = 1;
    for (; end < n && (codes[end] as number) >>> INDEX_BITS === key; end++) if (codes[end] !== codes[end - 1]) count++;
    const registers: Pair[] = new Array(count);
    let w = 0;
    while (j < end) {
      const code = codes[j] as number;
      // The run of this register: keep the event with the highest rank.
      let best = positions[j] as number;
      let rank = markRank(marks[from + best] as number);
      for (j++; j < end && codes[j] === code; j++) {
        const r = markRank(marks[from + (positions[j] as number)] as number);
        if (r > rank) {
          rank = r;
          best = positions[j] as number;
        }
      }
      let p = pairs[best];
      if (p === undefined) {
        p = [code & INDEX_MASK, rank];
        pairs[best] = p;
      }
      registers[w++] = p;
    }
    out.push({
      day: k.days[key] as string,
      site: k.sites[key] as string,
      dimension: SKETCH_DIMENSIONS[k.slotOf[key] as number] as SketchDimension,
      value: k.values[key] as string,
      registers,
    });
  }
}

/**
 * The batch's sketch updates: one per (UTC day, site, dimension, value) its
 * marked events reach (per chunk of SKETCH_CHUNK_EVENTS events), each with
 * the highest rank per register, sorted by register index. An event's
 * registers are one read-only pair object, shared by the keys it reached.
 *
 * @example
 * const sketches = buildSketchUpdates(events, marks); // marks[i] belongs to events[i]
 */
export function buildSketchUpdates(
  events: readonly PrivacyEvent[],
  marks: readonly number[],
  chunk = SKETCH_CHUNK_EVENTS,
): SketchUpdate[] {
  const out: SketchUpdate[] = [];
  for (let from = 0; from < events.length; from += chunk) {
    const to = Math.min(events.length, from + chunk);
    chunkUpdates(noteChunk(events, marks, from, to), marks, from, out);
  }
  return out;
}
