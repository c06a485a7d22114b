import { describe, expect, it } from 'vitest';
import { uuidv7, uuidv7Time } from '../../../src/capture/uuid7.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('has the version 7 and variant bits and encodes the time', () => {
    const t = Date.UTC(2026, 10, 24, 9, 15, 2, 118);
    const id = uuidv7(t + 1_000_000);
    expect(id).toMatch(UUID7);
    expect(uuidv7Time(id)).toBe(t + 1_000_000);
  });

  it('is strictly increasing within a millisecond and across a counter overflow', () => {
    const t = Date.now() + 10_000_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(t));
    const sorted = [...ids].sort();
    expect(ids).toEqual(sorted);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuidv7Time(ids.at(-1)!)).toBeGreaterThan(t);
  });

  it('gives every id its own random tail, across pool refills', () => {
    const t = Date.now() + 30_000_000;
    const ids = Array.from({ length: 3000 }, (_, i) => uuidv7(t + i));
    for (const id of ids) expect(id).toMatch(UUID7);
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
    // The variant nibble takes its four values about equally (62 random bits follow it).
    const variants = new Set(ids.map((id) => id[19]));
    expect([...variants].sort()).toEqual(['8', '9', 'a', 'b']);
  });

  it('stays ordered when the clock steps back', () => {
    const a = uuidv7(Date.now() + 20_000_000);
    const b = uuidv7(Date.now());
    expect(b > a).toBe(true);
  });
});
