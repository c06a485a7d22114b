/**
 * The canary for the parsers' outputs and caches: query values, referrer queries
 * and User-Agent strings must not stay in memory once parsing is done — not in a
 * cache key, and not as the parent of a V8 sliced string kept by a result.
 *
 * Secrets are random and built with Array#join (flat strings, so a text search of
 * the heap snapshot sees them whole). The results are kept alive; the inputs are
 * not. A control secret is kept on purpose and must be found, so the search is
 * known to work.
 */
import { randomInt } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { createReferrerReducer } from '../../../src/capture/referrer.js';
import { createUrlReducer } from '../../../src/capture/url.js';
import { createUserAgentParser } from '../../../src/capture/user-agent.js';

const workDir = mkdtempSync(join(tmpdir(), 'privacy-log-capture-canary-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A secret as numbers: its text exists only while it is used, and again after the snapshot. */
function secretParts(): number[] {
  return Array.from({ length: 4 }, () => randomInt(1e6, 1e7 - 1));
}

function text(parts: readonly number[]): string {
  return ['qz', ...parts.map((n) => n.toString(36))].join('');
}

async function findInFile(file: string, needles: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const keep = Math.max(...needles.map((n) => n.length));
  let tail = '';
  for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    const text = tail + (chunk as string);
    for (const n of needles) if (text.includes(n)) found.add(n);
    tail = text.slice(-keep);
  }
  return found;
}

const reduceUrl = createUrlReducer();
const reduceReferrer = createReferrerReducer();
const parseAgent = createUserAgentParser();

/** Runs every parser on inputs holding the secrets; returns only the results. */
function feed(parts: readonly number[][]): unknown[] {
  const kept: unknown[] = [];
  const p = (i: number) => text(parts[i] as number[]);
  // Long paths and hosts (≥ 13 characters) are what V8 would slice from their parents.
  kept.push(reduceUrl(['/news/2024/open-day-at-the-kindergarten?email=', p(0), '&utm_source=vk'].join('')));
  kept.push(reduceUrl(['/documents/annual-report-2024.pdf?token=', p(1)].join('')));
  kept.push(reduceReferrer(['https://www.search-engine-example.com/search?q=', p(2)].join(''), 'oblachko.ru'));
  kept.push(
    reduceReferrer(['https://oblachko.ru/news/2024/open-day-at-the-kindergarten?q=', p(3)].join(''), 'oblachko.ru'),
  );
  kept.push(
    parseAgent(
      [
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64; ',
        p(4),
        ') AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      ].join(''),
    ),
  );
  kept.push(parseAgent(['Mozilla/5.0 (compatible; Examplebot/2.1; +', p(5), ')'].join('')));
  return kept;
}

describe('parser outputs and caches keep no raw input alive', () => {
  it('query values, referrer queries and User-Agents are absent from the heap', async () => {
    const parts = Array.from({ length: 6 }, secretParts);
    // In a function of its own: the raw inputs must not sit in this (async) frame during the snapshot.
    const kept = feed(parts);

    const controlParts = secretParts();
    const holder = { control: text(controlParts) };
    const snapshot = writeHeapSnapshot(join(workDir, 'capture.heapsnapshot'));

    const secrets = parts.map(text);
    const control = text(controlParts);
    const found = await findInFile(snapshot, [...secrets, control]);
    expect(holder.control).toBe(control);
    expect(found.has(control)).toBe(true);
    expect(secrets.map((s, i) => (found.has(s) ? i : -1)).filter((i) => i >= 0)).toEqual([]);

    // the parsers did their job, and no secret is in their results
    const json = JSON.stringify(kept);
    expect(json).toContain('open-day-at-the-kindergarten');
    expect(json).toContain('"Examplebot"');
    expect(json).toContain('search-engine-example.com');
    expect(secrets.filter((s) => json.includes(s))).toEqual([]);
    expect(kept).toHaveLength(6);
  }, 120_000);
});
