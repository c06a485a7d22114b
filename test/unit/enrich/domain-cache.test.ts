import { describe, expect, it } from 'vitest';
import { DomainCache } from '../../../src/enrich/domain-cache.js';

describe('DomainCache', () => {
  it('keeps positive and negative results until they expire', () => {
    const c = new DomainCache(10);
    c.set(1, 7, 'rostelecom.ru', 100, 1000);
    c.set(2, 7, null, 50, 1000);
    expect(c.get(1, 7, 1099)).toBe('rostelecom.ru');
    expect(c.get(2, 7, 1049)).toBeNull();
    expect(c.get(2, 7, 1050)).toBeUndefined();
    expect(c.get(1, 7, 1100)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry', () => {
    const c = new DomainCache(2);
    c.set(1, 7, 'a.ru', 1000, 0);
    c.set(2, 7, 'b.ru', 1000, 0);
    expect(c.get(1, 7, 1)).toBe('a.ru');
    c.set(3, 7, 'c.ru', 1000, 2);
    expect(c.get(2, 7, 3)).toBeUndefined();
    expect(c.get(1, 7, 3)).toBe('a.ru');
    expect(c.get(3, 7, 3)).toBe('c.ru');
    expect(c.size).toBe(2);
  });

  it('treats another address on the same slot as a miss, and replaces it', () => {
    const c = new DomainCache(4);
    c.set(5, 1, 'a.ru', 100, 0);
    expect(c.get(5, 2, 1)).toBeUndefined();
    expect(c.get(5, 1, 1)).toBe('a.ru');
    c.set(5, 2, 'b.ru', 100, 1);
    expect(c.get(5, 1, 2)).toBeUndefined();
    expect(c.get(5, 2, 2)).toBe('b.ru');
    expect(c.size).toBe(1);
  });

  it('stores nothing with a zero TTL, and updates in place', () => {
    const c = new DomainCache(2);
    c.set(1, 7, 'a.ru', 0, 0);
    expect(c.size).toBe(0);
    c.set(1, 7, null, 10, 0);
    c.set(1, 7, 'late.ru', 10, 1);
    expect(c.size).toBe(1);
    expect(c.entries()).toEqual([[1, 'late.ru']]);
    c.clear();
    expect(c.size).toBe(0);
  });
});
