import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import winston from 'winston';
import { createAccessLogger } from '../../../src/access-log/access-logger.js';
import { ERROR_CODES } from '../../../src/errors.js';
import { anyEvent, FORBIDDEN_IN_LOG, makeEvent } from './fixtures.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-access-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function readLogFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((l) => l !== '');
}

/** A real winston Stream transport over an in-memory sink: captures exactly what a transport writes. */
function captureTransport(): { transport: winston.transport; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { transport: new winston.transports.Stream({ stream: sink }), lines };
}

describe('createAccessLogger', () => {
  it('writes one combined line per event to a daily file and flushes it on close', async () => {
    const dir = tempDir();
    const logger = createAccessLogger({ format: 'combined', transports: [{ type: 'file', dir }] });
    for (let i = 0; i < 250; i++) logger.log(makeEvent({ request: { method: 'GET', path: `/p/${i}` } }));
    await logger.close();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
    expect(files).toEqual([`access-${new Date().toISOString().slice(0, 10)}.log`]);
    const lines = readLogFiles(dir);
    expect(lines).toHaveLength(250);
    expect(lines[7]).toContain('"GET /p/7 HTTP/1.1"');
  });

  it('writes json lines that parse back to the events', async () => {
    const { transport, lines } = captureTransport();
    const logger = createAccessLogger({ format: 'json', transports: [transport] });
    const events = [makeEvent(), makeEvent({ kind: 'download', download: { file: 'a.pdf', complete: true } })];
    for (const e of events) logger.log(e);
    await logger.close();
    expect(lines.map((l) => JSON.parse(l))).toEqual(events);
  });

  it('honours a transport level threshold against the record level', async () => {
    const low = captureTransport();
    const high = captureTransport();
    high.transport.level = 'warn';
    const logger = createAccessLogger({ format: 'common', level: 'info', transports: [low.transport, high.transport] });
    logger.log(makeEvent());
    await logger.close();
    expect(low.lines).toHaveLength(1);
    expect(high.lines).toHaveLength(0);
  });

  it('ignores non-objects and events logged after close, without throwing', async () => {
    const { transport, lines } = captureTransport();
    const logger = createAccessLogger({ transports: [transport] });
    logger.log(null as never);
    logger.log('GET /' as never);
    await logger.close();
    await logger.close();
    logger.log(makeEvent());
    expect(lines).toEqual([]);
  });

  it('logs an unrenderable value (a cycle, a BigInt) as a marker line instead of crashing', async () => {
    const { transport, lines } = captureTransport();
    const logger = createAccessLogger({ format: 'json', transports: [transport] });
    const cyclic = makeEvent() as unknown as Record<string, unknown>;
    cyclic.self = cyclic;
    logger.log(cyclic as never);
    logger.log({ ...makeEvent(), big: 1n } as never);
    await logger.close();
    expect(lines).toEqual(['{"privacy_log.unrenderable":true}', '{"privacy_log.unrenderable":true}']);
  });

  it('property: written through a real file, every line of every format is clean, and json lines parse', async () => {
    const events = fc.sample(anyEvent, { numRuns: 200, seed: 42 });
    for (const format of ['combined', 'common', 'json', 'otel'] as const) {
      const dir = tempDir();
      const logger = createAccessLogger({ format, transports: [{ type: 'file', dir }] });
      for (const e of events) logger.log(e);
      await logger.close();
      const lines = readLogFiles(dir);
      expect(lines).toHaveLength(events.length);
      for (const line of lines) {
        expect(line).not.toMatch(FORBIDDEN_IN_LOG);
        if (format === 'json' || format === 'otel') expect(() => JSON.parse(line)).not.toThrow();
      }
    }
  });

  it('rejects bad options with coded errors naming the option', () => {
    expect(() => createAccessLogger({ formt: 'json' } as never)).toThrow(/Did you mean "format"/);
    expect(() => createAccessLogger({ format: 'apache' as never })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.INVALID_OPTION, message: expect.stringContaining('"format"') }),
    );
    expect(() => createAccessLogger({ level: 'loud' as never })).toThrow(/"level"/);
    expect(() => createAccessLogger({ transports: [] })).toThrow(/"transports"/);
    expect(() => createAccessLogger({ transports: [{ type: 'http', url: 'not a url' }] })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.INVALID_OPTION, message: expect.stringContaining('transports[0]') }),
    );
  });
});
