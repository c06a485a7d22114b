/**
 * Enrichment figures: the ASN table's load time (from CSV and from the binary
 * cache) and memory, ISP lookup cost per request, and the cost of a lookup
 * whose domain is already cached (reverse DNS against a loopback responder).
 *
 *   npx tsx bench/enrich.ts [iterations=1000000]
 *
 * Lookup figures are ns per operation: the median of 7 rounds after a warm-up,
 * as wall time and as this process's CPU time (the latter is the steadier one
 * on a shared machine: it leaves out time spent waiting for a core).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { asnTableIspResolver } from '../src/enrich/asn-table-isp-resolver.js';
import { createEnricher, mmdbIspResolver } from '../src/enrich/index.js';
import { startDnsServer } from '../test/helpers/dns-server.js';
import { writeMmdb } from '../test/helpers/mmdb-writer.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 7;
let sink = 0;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function measure(label: string, op: (i: number) => number): number {
  for (let i = 0; i < Math.min(N, 200_000); i++) sink ^= op(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) sink ^= op(i);
    const c = process.cpuUsage(c0);
    wall.push(Number(process.hrtime.bigint() - start) / N);
    cpu.push(((c.user + c.system) * 1000) / N);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = wall[ROUNDS >> 1] as number;
  const cpuMedian = cpu[ROUNDS >> 1] as number;
  console.log(
    `${label.padEnd(60)} ${median.toFixed(0).padStart(6)} ns/op wall ${cpuMedian.toFixed(0).padStart(6)} ns/op CPU`,
  );
  return median;
}

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const row = (label: string, value: string) => console.log(`${label.padEnd(60)} ${value.padStart(12)}`);

function memory(): { heap: number; rss: number; buffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, buffers: m.arrayBuffers };
}

const cacheDir = mkdtempSync(join(tmpdir(), 'privacy-log-bench-enrich-'));
try {
  console.log(
    `node ${process.version}, ${N} iterations per round, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores\n`,
  );

  // 1. load from CSV (no cache), measuring the memory the table keeps
  const before = memory();
  let t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  // share: false here and below: resolvers of one process share a loaded table by default, so a
  // second resolver would get this one's table (and its source 'csv') instead of reading the cache file.
  const fromCsv = asnTableIspResolver({ cacheDir, share: false });
  await fromCsv.ready();
  loopDelay.disable();
  const csvMs = performance.now() - t0;
  const csvCpu = process.cpuUsage(cpu0);
  const after = memory();
  const info = fromCsv.info();
  row('ASN table: build from CSV (and write the cache file), wall', `${csvMs.toFixed(0)} ms`);
  row('ASN table: build from CSV, CPU', `${((csvCpu.user + csvCpu.system) / 1000).toFixed(0)} ms`);
  row('ASN table: longest event-loop stall while building', `${(loopDelay.max / 1e6).toFixed(0)} ms`);
  row('ASN table: ranges IPv4 / IPv6', `${info.ranges?.v4} / ${info.ranges?.v6}`);
  row('ASN table: typed arrays + names (exact)', mb(info.bytes ?? 0));
  row('ASN table: retained heap (JS objects, names)', mb(after.heap - before.heap));
  row('ASN table: retained array buffers (typed arrays)', mb(after.buffers - before.buffers));
  row('ASN table: RSS growth while building', mb(after.rss - before.rss));

  // 2. load from the binary cache file
  const loads: number[] = [];
  const loadsCpu: number[] = [];
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = asnTableIspResolver({ cacheDir, share: false });
    await r.ready();
    loads.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    loadsCpu.push((c.user + c.system) / 1000);
    if (r.info().source !== 'cache') throw new Error('the cache file was not used');
    r.close();
  }
  loads.sort((a, b) => a - b);
  loadsCpu.sort((a, b) => a - b);
  row('ASN table: load from the binary cache (median of 5), wall', `${(loads[2] as number).toFixed(1)} ms`);
  row('ASN table: load from the binary cache, CPU', `${(loadsCpu[2] as number).toFixed(1)} ms`);
  console.log('');

  // 3. ISP lookups
  const table = fromCsv.table();
  if (table === undefined) throw new Error('no table');
  const prefixes4 = Uint32Array.from({ length: 4096 }, () => (Math.random() * 0x1000000) >>> 0);
  const prefixes6 = Float64Array.from(
    { length: 4096 },
    () => 0x20000000 * 65536 + Math.floor(Math.random() * 0x10000000 * 65536),
  );
  measure('table.lookup, IPv4 /24 (random prefixes)', (i) => table.lookup(4, prefixes4[i & 4095] as number)?.asn ?? 0);
  measure(
    'table.lookup, IPv6 /48 (random prefixes in 2000::/3)',
    (i) => table.lookup(6, prefixes6[i & 4095] as number)?.asn ?? 0,
  );

  const ispOnly = createEnricher({ isp: fromCsv, domain: false });
  const addresses4 = Array.from(
    { length: 4096 },
    () =>
      `${[5, 31, 46, 77, 78, 95, 176, 188, 212][Math.floor(Math.random() * 9)]}.${(Math.random() * 256) | 0}.${(Math.random() * 256) | 0}.${1 + ((Math.random() * 254) | 0)}`,
  );
  const addresses6 = Array.from(
    { length: 4096 },
    () =>
      `2a0${(Math.random() * 10) | 0}:${((Math.random() * 0xffff) | 0).toString(16)}:${((Math.random() * 0xffff) | 0).toString(16)}::${((Math.random() * 0xffff) | 0).toString(16)}`,
  );
  measure(
    'enricher.lookup, ISP only, IPv4 (parse + prefix + table)',
    (i) => ispOnly.lookup(addresses4[i & 4095] as string, 4)?.asn ?? 0,
  );
  measure('enricher.lookup, ISP only, IPv6', (i) => ispOnly.lookup(addresses6[i & 4095] as string, 6)?.asn ?? 0);

  // 4. mmdb path (a generated database; results cached per prefix)
  const mmdbFile = join(cacheDir, 'bench.mmdb');
  writeFileSync(
    mmdbFile,
    writeMmdb({
      networks: Array.from({ length: 2000 }, (_, k) => ({
        address: `${[5, 31, 46, 77, 78, 95, 176, 188, 212][k % 9]}.${k % 256}.0.0`,
        prefixLength: 16,
        data: { autonomous_system_number: 64500 + (k % 50), autonomous_system_organization: `Operator ${k % 50}` },
      })),
    }),
  );
  const mmdb = createEnricher({ isp: mmdbIspResolver({ file: mmdbFile }), domain: false });
  measure(
    'enricher.lookup, ISP from mmdb, IPv4 (prefix cache warm)',
    (i) => mmdb.lookup(addresses4[i & 1023] as string, 4)?.asn ?? 0,
  );
  console.log('');

  // 5. domain from the cache: warm it through a loopback DNS responder
  const dns = await startDnsServer((name) => ({
    ptr: [`${name.split('.').slice(0, 4).join('-')}.dynamic.rostelecom.ru`],
  }));
  const withDomain = createEnricher({
    isp: fromCsv,
    domain: { servers: [dns.server], concurrency: 64, timeoutMs: 2000 },
  });
  for (let k = 0; k < 4096; k += 64) {
    await Promise.all(addresses4.slice(k, k + 64).map((a) => withDomain.lookup(a, 4)?.pending));
  }
  const warm = withDomain.metrics();
  row('domain cache warmed: entries / queries', `${warm.cacheSize} / ${warm.misses}`);
  measure('enricher.lookup, ISP + cached domain, IPv4 (SipHash + LRU)', (i) =>
    withDomain.lookup(addresses4[i & 4095] as string, 4)?.domain ? 1 : 0,
  );
  const m = withDomain.metrics();
  row('domain cache hits during the run', `${m.hits}`);
  await withDomain.close();
  await dns.close();
  await mmdb.close();
  await ispOnly.close();
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
if (sink === 0.5) console.log(sink);
