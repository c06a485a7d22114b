/**
 * A real UDP DNS responder on 127.0.0.1 for tests, built on `dns-packet`.
 * Each query is answered as `respond(name, type)` says: PTR names, an error
 * rcode, a delay, silence (for timeouts) or hand-made wire bytes for names no
 * encoder would produce (oversized, control characters).
 *
 * Run as a script (`node --import tsx test/helpers/dns-server.ts echo SUFFIX`)
 * it answers every IPv4 PTR query with `a-b-c-d.SUFFIX` and every IPv6 one
 * with `v6-host.SUFFIX`, and prints `PORT n` — so a test can keep the queried
 * addresses out of its own process memory.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { pathToFileURL } from 'node:url';
import dnsPacket from 'dns-packet';
import { probeService, type ServiceProbe } from './require-service.js';

export type DnsBehaviour =
  | { ptr: readonly string[]; delayMs?: number }
  | { rcode: 'SERVFAIL' | 'NXDOMAIN' | 'REFUSED'; delayMs?: number }
  /** Never answer: the client times out. */
  | { drop: true }
  /** Answer with one PTR record whose RDATA is these exact bytes (wire-format name). */
  | { rawPtr: Uint8Array; delayMs?: number };

export interface DnsTestServer {
  readonly port: number;
  /** For `Resolver.setServers` / `domain.servers`: '127.0.0.1:PORT'. */
  readonly server: string;
  /** Queries received so far. */
  queries(): number;
  close(): Promise<void>;
}

const RCODES = { SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const FLAGS = 0x8180; // response, recursion desired + available

/** Wire-format name from raw label byte strings. */
export function wireName(labels: ReadonlyArray<string | Uint8Array>): Uint8Array {
  const parts: number[] = [];
  for (const l of labels) {
    const bytes = typeof l === 'string' ? Buffer.from(l, 'latin1') : l;
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  return Uint8Array.from(parts);
}

function questionEnd(query: Buffer): number {
  let i = 12;
  while (i < query.length && query[i] !== 0) i += (query[i] as number) + 1;
  return i + 1 + 4;
}

function rawResponse(query: Buffer, rdata: Uint8Array): Buffer {
  const qEnd = questionEnd(query);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(FLAGS, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 6);
  const answer = Buffer.alloc(12);
  answer.writeUInt16BE(0xc00c, 0); // name: pointer to the question
  answer.writeUInt16BE(12, 2); // PTR
  answer.writeUInt16BE(1, 4); // IN
  answer.writeUInt32BE(60, 6);
  answer.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, query.subarray(12, qEnd), answer, rdata]);
}

/**
 * @example
 * const dns = await startDnsServer((name) => (name === '2.1.31.95.in-addr.arpa' ? { ptr: ['x.rostelecom.ru'] } : { rcode: 'NXDOMAIN' }));
 * createEnricher({ domain: { servers: [dns.server] } });
 */
export async function startDnsServer(respond: (name: string, type: string) => DnsBehaviour): Promise<DnsTestServer> {
  const socket: Socket = createSocket('udp4');
  const timers = new Set<NodeJS.Timeout>();
  let count = 0;
  let closed = false;

  const send = (buf: Buffer, to: RemoteInfo): void => {
    if (!closed) socket.send(buf, to.port, to.address);
  };

  socket.on('message', (msg, rinfo) => {
    count++;
    let packet: dnsPacket.Packet;
    try {
      packet = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const q = packet.questions?.[0];
    if (q === undefined) return;
    const behaviour = respond(q.name, q.type);
    if ('drop' in behaviour) return;
    let reply: Buffer;
    if ('rawPtr' in behaviour) {
      reply = rawResponse(msg, behaviour.rawPtr);
    } else if ('rcode' in behaviour) {
      reply = dnsPacket.encode({
        type: 'response',
        id: packet.id ?? 0,
        flags: FLAGS | RCODES[behaviour.rcode],
        questions: [q],
      });
    } else {
      reply = dnsPacket.encode({
        type: 'response',
        id: packet.id ?? 0,
        flags: FLAGS,
        questions: [q],
        answers: behaviour.ptr.map((data) => ({
          type: 'PTR' as const,
          class: 'IN' as const,
          name: q.name,
          ttl: 60,
          data,
        })),
      });
    }
    const delay = behaviour.delayMs ?? 0;
    if (delay <= 0) send(reply, rinfo);
    else {
      const t = setTimeout(() => {
        timers.delete(t);
        send(reply, rinfo);
      }, delay);
      timers.add(t);
    }
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        for (const t of timers) clearTimeout(t);
        socket.close(() => resolve());
      }),
  };
}

/**
 * The DNS service gate: a responder on 127.0.0.1 answers a PTR query through
 * node:dns. Skips (or, with PRIVACY_LOG_REQUIRE_DNS=1, fails) when UDP on
 * loopback is not available.
 */
export function probeLoopbackDns(): Promise<ServiceProbe> {
  return probeService('DNS', async () => {
    const server = await startDnsServer(() => ({ ptr: ['probe.example.net'] }));
    try {
      const resolver = new Resolver({ timeout: 2000, tries: 2 });
      resolver.setServers([server.server]);
      const names = await resolver.resolvePtr('1.0.0.127.in-addr.arpa');
      if (names[0] !== 'probe.example.net') throw new Error(`unexpected answer ${JSON.stringify(names)}`);
    } finally {
      await server.close();
    }
  });
}

/** The echo behaviour of the script mode (see the file comment). */
export function echoBehaviour(suffix: string): (name: string, type: string) => DnsBehaviour {
  return (name, type) => {
    if (type !== 'PTR') return { rcode: 'NXDOMAIN' };
    const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(name);
    if (v4) return { ptr: [`${v4[4]}-${v4[3]}-${v4[2]}-${v4[1]}.${suffix}`] };
    if (/\.ip6\.arpa$/i.test(name)) return { ptr: [`v6-host.${suffix}`] };
    return { rcode: 'NXDOMAIN' };
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'echo') {
  const server = await startDnsServer(echoBehaviour(process.argv[3] ?? 'example.net'));
  process.stdout.write(`PORT ${server.port}\n`);
  // bounded lifetime: a test that forgets to stop it does not leave it running
  const lifetime = setTimeout(() => void server.close().then(() => process.exit(0)), 120_000);
  process.on('SIGTERM', () => {
    clearTimeout(lifetime);
    void server.close().then(() => process.exit(0));
  });
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
  process.stdin.resume();
}
