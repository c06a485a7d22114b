import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { winstonAggregator } from '../../../src/aggregators/winston-aggregator.js';
import { ERROR_CODES } from '../../../src/errors.js';
import { makeEvent } from './fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-winston-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

/** A loopback HTTP receiver answering every POST with `status`. */
async function receiver(status: () => number): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/logs`, bodies };
}

/** Test double: a winston transport that takes records but never says so. */
class SilentTransport extends TransportStream {
  override log(_info: unknown, callback: () => void): void {
    callback();
  }
}

describe('winstonAggregator', () => {
  it('writes each event as a JSON record to a rotating file; close flushes it', async () => {
    const dir = tempDir();
    const agg = winstonAggregator({ transports: [{ type: 'file', dir }] });
    const events = Array.from({ length: 120 }, (_, i) => makeEvent({ request: { method: 'GET', path: `/p/${i}` } }));
    await agg.write({ events, sketches: [] });
    await agg.close();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.log')) as string;
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l))).toEqual(events);
  });

  it.skipIf(!fs.existsSync('/proc/self/fd'))(
    'builds its file transport once: after close() no file of its directory is left open (Linux /proc)',
    async () => {
      const dir = tempDir();
      const openIn = () =>
        fs
          .readdirSync('/proc/self/fd')
          .map((fd) => {
            try {
              return fs.readlinkSync(`/proc/self/fd/${fd}`);
            } catch {
              return '';
            }
          })
          .filter((target) => target.startsWith(dir));
      const agg = winstonAggregator({ transports: [{ type: 'file', dir }] });
      await agg.write({ events: [makeEvent()], sketches: [] });
      await agg.close();
      // The rotating file stream closes on its own turn after close(): give it a few.
      for (let i = 0; i < 20 && openIn().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(openIn()).toEqual([]);
    },
  );

  it('writes a batch to its own file transport as joined lines: the same bytes as one record an event', async () => {
    const { createTransport } = await import('../../../src/access-log/transports.js');
    const events = Array.from({ length: 1234 }, (_, i) =>
      makeEvent({ request: { method: 'GET', path: `/p/${i}` }, response: { status: 200 + (i % 3), durationMs: i } }),
    );
    const read = (dir: string) => {
      const file = fs.readdirSync(dir).find((f) => f.endsWith('.log')) as string;
      return fs.readFileSync(path.join(dir, file), 'utf8');
    };
    for (const format of ['combined', 'json'] as const) {
      // A description: this aggregator's own line transport (joined). An instance: one record an event.
      const joinedDir = tempDir();
      const perEventDir = tempDir();
      const joined = winstonAggregator({ format, transports: [{ type: 'file', dir: joinedDir }] });
      const perEvent = winstonAggregator({ format, transports: [createTransport({ type: 'file', dir: perEventDir })] });
      for (const agg of [joined, perEvent]) {
        await agg.write({ events: events.slice(0, 1001), sketches: [] });
        await agg.write({ events: events.slice(1001), sketches: [] });
        await agg.close();
      }
      const text = read(joinedDir);
      expect(text).toBe(read(perEventDir));
      expect(text.split('\n')).toHaveLength(events.length + 1);
    }
    // Joined for real: the console transport writes a batch of 1234 lines in two writes (1000 lines a record at most).
    const writes: string[] = [];
    // winston's Console transport writes to console._stdout when there is one, else through console.log.
    const con = console as unknown as { _stdout?: { write: (s: string) => boolean }; log: (...a: unknown[]) => void };
    const stdout = con._stdout;
    const originalWrite = stdout?.write;
    const originalLog = con.log;
    if (stdout) stdout.write = (chunk: string) => writes.push(String(chunk)) > 0;
    con.log = (...args: unknown[]) => void writes.push(args.map(String).join(' '));
    try {
      const agg = winstonAggregator({ format: 'combined', transports: [{ type: 'console' }] });
      await agg.write({ events, sketches: [] });
      await agg.close();
    } finally {
      if (stdout && originalWrite) stdout.write = originalWrite;
      con.log = originalLog;
    }
    const ours = writes.filter((w) => w.includes('GET /p/'));
    expect(ours).toHaveLength(2);
    expect(ours.join('').split('\n').filter(Boolean)).toHaveLength(events.length);
  });

  it('writes through an existing logger with its own format and transports', async () => {
    const { stream, lines } = sink();
    const logger = winston.createLogger({
      format: winston.format.printf((i) => `${i.level}: ${String(i.message)}`),
      transports: [new winston.transports.Stream({ stream })],
    });
    const agg = winstonAggregator({ logger, format: 'common' });
    await agg.write({ events: [makeEvent(), makeEvent()], sketches: [] });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^info: 203\.0\.113\.0 - - \[24\/Nov\/2026:15:34:44 \+0000\] "GET \/news\/2026\?utm_source=newsletter HTTP\/1\.1" 200 5120$/,
    );
    await agg.close();
    expect(logger.writable).toBe(true); // not ours to close
  });

  it('resolves once an HTTP receiver has acknowledged every record', async () => {
    const rx = await receiver(() => 200);
    const agg = winstonAggregator({ transports: [{ type: 'http', url: rx.url }], format: 'otel' });
    await agg.write({ events: [makeEvent(), makeEvent(), makeEvent()], sketches: [] });
    expect(rx.bodies).toHaveLength(3);
    expect(rx.bodies[0]).toMatchObject({
      level: 'info',
      message: expect.stringContaining('"client.address":"203.0.113.0"'),
    });
    await agg.close();
  });

  it('rejects, retryable, when the HTTP receiver refuses the records', async () => {
    const rx = await receiver(() => 500);
    const agg = winstonAggregator({ transports: [{ type: 'http', url: rx.url }] });
    const err = await agg.write({ events: [makeEvent()], sketches: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ERROR_CODES.AGGREGATOR_FAILED, retryable: true });
    expect((err as Error).message).toContain('500');
    await agg.close();
  });

  it('skips transports whose level excludes the records, and resolves at once when none would log', async () => {
    const { stream, lines } = sink();
    const agg = winstonAggregator({
      transports: [new winston.transports.Stream({ stream, level: 'error' })],
      level: 'info',
    });
    await agg.write({ events: [makeEvent()], sketches: [] });
    expect(lines).toEqual([]);
    await agg.close();
  });

  it('times out on a transport that never acknowledges', async () => {
    const agg = winstonAggregator({ transports: [new SilentTransport()], timeoutMs: 50 });
    await expect(agg.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.AGGREGATOR_FAILED,
      message: expect.stringContaining('within 50 ms'),
    });
    await agg.close();
  });

  it('honours the abort signal', async () => {
    const agg = winstonAggregator({ transports: [new SilentTransport()] });
    const ac = new AbortController();
    const write = agg.write({ events: [makeEvent()], sketches: [] }, ac.signal);
    ac.abort(new Error('shutting down'));
    await expect(write).rejects.toMatchObject({ message: expect.stringContaining('aborted') });
    const pre = new AbortController();
    pre.abort();
    await expect(agg.write({ events: [makeEvent()], sketches: [] }, pre.signal)).rejects.toThrow(/aborted/);
    await agg.close();
  });

  it('refuses writes after close and bad options with coded errors', async () => {
    const agg = winstonAggregator({ transports: [new winston.transports.Stream({ stream: sink().stream })] });
    await agg.close();
    await agg.close();
    await expect(agg.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.CLOSED,
      retryable: false,
    });
    expect(() => winstonAggregator({ transport: [] } as never)).toThrow(/Did you mean "transports"/);
    expect(() => winstonAggregator({ format: 'xml' as never })).toThrow(/"format"/);
    expect(() => winstonAggregator({ logger: {} as never })).toThrow(/"logger"/);
    expect(() => winstonAggregator({ timeoutMs: -1 })).toThrow(/"timeoutMs"/);
  });
});
