/**
 * The canary: addresses looked up with reverse DNS on never show up in the
 * process's memory once their lookups are done (a V8 heap snapshot, searched as
 * text), nor in results, nor in anything written to the console.
 *
 * The DNS responder runs in a child process (test/helpers/dns-server.ts in echo
 * mode: it builds the PTR name from the query), so the only copies of the
 * addresses in this process are the ones enrichment handles. The addresses
 * are random and built from numbers at the moment of the lookup; their text is
 * built again only after the snapshot, to search for it. Texts are built with
 * Array#join, which makes flat strings: a snapshot shows a concatenated
 * (cons) string only as its parts, which a text search would miss.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnricher, type IspResolver } from '../../src/enrich/index.js';
import { probeLoopbackDns } from '../helpers/dns-server.js';

const PUBLIC_FIRST_OCTETS = [
  5, 31, 46, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 93, 94, 95, 176, 178, 188, 212, 213, 217,
];

let child: ChildProcess;
let port = 0;
const workDir = mkdtempSync(join(tmpdir(), 'privacy-log-canary-'));
const gate = await probeLoopbackDns();

beforeAll(async () => {
  if (!gate.available) return;
  child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/dns-server.ts', 'echo', 'dynamic.rostelecom.ru'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the DNS responder did not start in 20 s')), 20_000);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the DNS responder exited (${code})`)));
  });
}, 30_000);

afterAll(() => {
  child?.stdin?.end();
  if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
  rmSync(workDir, { recursive: true, force: true });
});

/** Random public IPv4 addresses, as numbers only. */
function randomOctets(n: number): number[][] {
  return Array.from({ length: n }, () => [
    PUBLIC_FIRST_OCTETS[randomInt(PUBLIC_FIRST_OCTETS.length)] as number,
    randomInt(256),
    randomInt(256),
    randomInt(2, 254),
  ]);
}

/** Every text form of an address that could betray it. */
function forms(o: number[]): string[] {
  return [o.join('.'), [...o].reverse().join('.'), o.join('-'), [...o].reverse().join('-')];
}

/** The forms found in a file, searched in chunks with an overlap. */
async function findInFile(file: string, needles: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const longest = Math.max(...needles.map((n) => n.length));
  let tail = '';
  for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    const text = tail + (chunk as string);
    for (const n of needles) if (!found.has(n) && text.includes(n)) found.add(n);
    tail = text.slice(-longest);
  }
  return found;
}

describe.skipIf(!gate.available)(`the address never outlives capture (${gate.reason})`, () => {
  it('is absent from results, console output and the heap after the lookups', async () => {
    const rostelecom: IspResolver = { lookup: () => ({ isp: 'PJSC Rostelecom', asn: 12389 }) };
    const enricher = createEnricher({ isp: rostelecom, domain: { servers: [`127.0.0.1:${port}`], timeoutMs: 2000 } });
    const octets = randomOctets(4);
    const v6Groups = Array.from({ length: 4 }, () => randomInt(1, 0xffff).toString(16));

    const written: string[] = [];
    const origOut = process.stdout.write.bind(process.stdout);
    const origErr = process.stderr.write.bind(process.stderr);
    const origConsole = { ...console };
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      console[m] = (...args: unknown[]) => void written.push(args.map(String).join(' '));
    }
    const results: unknown[] = [];
    try {
      for (const o of octets) {
        const first = enricher.lookup(o.join('.'), 4);
        results.push(first, await first?.pending);
        results.push(enricher.lookup(o.join('.'), 4)); // from the cache
      }
      const six = enricher.lookup(['2a00', '1640', ...v6Groups, '', '1'].join(':'), 6);
      results.push(six, await six?.pending);
    } finally {
      process.stdout.write = origOut;
      process.stderr.write = origErr;
      Object.assign(console, origConsole);
    }

    // the lookups worked: every address got its ISP and its registrable domain
    expect(results.filter((r) => (r as { domain?: string } | undefined)?.domain === 'rostelecom.ru').length).toBe(9);
    expect(enricher.metrics()).toMatchObject({ misses: 5, hits: 4, inFlight: 0, errors: 0, timeouts: 0 });

    // a control that must be found, so the search is known to work
    const control = randomOctets(1)[0] as number[];
    const kept = { address: control.join('.') };

    const snapshot = writeHeapSnapshot(join(workDir, 'canary.heapsnapshot'));
    const v6Text = v6Groups.join(':');
    const needles = [...octets.flatMap(forms), v6Text, ...forms(control)];
    const found = await findInFile(snapshot, needles);
    expect(kept.address).toBe(control.join('.'));
    expect(found.has(control.join('.'))).toBe(true);

    const leaked = [...octets.flatMap(forms), v6Text].filter((n) => found.has(n));
    expect(leaked).toEqual([]);
    const visible = JSON.stringify(results) + written.join('\n');
    expect([...octets.flatMap(forms), v6Text].filter((n) => visible.includes(n))).toEqual([]);
    await enricher.close();
  }, 120_000);
});
