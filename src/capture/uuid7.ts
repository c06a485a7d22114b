/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Ids are
 * time-ordered, and monotonic within one process: inside the same millisecond
 * the 12-bit `rand_a` field counts up (RFC 9562 §6.2, method 1), so ids sort
 * in the order they were made. Randomness comes from a pooled CSPRNG buffer,
 * so an id costs no system call on the request path.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

let lastMs = -1;
let counter = 0;

function randomBytes8(): number {
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 8;
  return at;
}

/**
 * A new UUIDv7 for the given time (default now).
 *
 * @example
 * const id = uuidv7(); // '019a5c3e-7b21-7000-8f3a-2b1c9d0e4f56'
 */
export function uuidv7(ms: number = Date.now()): string {
  let t = Math.floor(ms);
  if (t <= lastMs) {
    // Same (or an earlier, clock-stepped) millisecond: keep order with the counter.
    t = lastMs;
    counter++;
    if (counter > 0xfff) {
      // Counter exhausted: borrow the next millisecond, as RFC 9562 allows.
      t = ++lastMs;
      counter = 0;
    }
  } else {
    lastMs = t;
    counter = 0;
  }
  const at = randomBytes8();
  const hi = Math.floor(t / 0x10000);
  const lo = t % 0x10000;
  const r = pool;
  return (
    HEX[(hi >>> 24) & 0xff]! +
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    '-' +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    '-' +
    HEX[0x80 | (r[at]! & 0x3f)]! +
    HEX[r[at + 1]!]! +
    '-' +
    HEX[r[at + 2]!]! +
    HEX[r[at + 3]!]! +
    HEX[r[at + 4]!]! +
    HEX[r[at + 5]!]! +
    HEX[r[at + 6]!]! +
    HEX[r[at + 7]!]!
  );
}

/** The millisecond timestamp encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
