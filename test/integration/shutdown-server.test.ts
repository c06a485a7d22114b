/**
 * installShutdownHandlers with the HTTP server (a real Koa app on loopback):
 * a signal stops the server, lets the request in flight end — its event is
 * captured when its response closes — and only then closes the pipeline.
 * Signals are emitted in-process (SIGUSR2, with `exit` replaced) so the test
 * runner survives; test/fault/sigterm-drain.test.ts sends real signals.
 */
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { privacyLog } from '../../middleware/koa.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { ERROR_CODES } from '../../src/errors.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { installShutdownHandlers } from '../../src/pipeline/shutdown.js';

const SIGNAL = 'SIGUSR2';

interface Site {
  server: Server;
  port: number;
  memory: ReturnType<typeof memoryAggregator>;
  privacy: ReturnType<typeof privacyLog>;
  /** Ends the held request. */
  release: () => void;
  /** Codes the pipeline reported. */
  errors: string[];
  /** Resolves when the held request has reached its handler. */
  held: Promise<void>;
}

const open: Server[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function site(): Promise<Site> {
  const memory = memoryAggregator();
  const errors: string[] = [];
  const pipeline = createPipeline({ aggregators: [memory], spool: false, onError: (e) => errors.push(e.code) });
  const privacy = privacyLog({ pipeline, enrich: { isp: false } });
  let release = () => {};
  let arrived = () => {};
  const held = new Promise<void>((r) => {
    arrived = r;
  });
  const app = new Koa();
  app.use(privacy);
  app.use(async (ctx) => {
    if (ctx.path === '/slow') {
      arrived();
      await new Promise<void>((r) => {
        release = r;
      });
    }
    ctx.type = 'html';
    ctx.body = '<p>ok</p>';
  });
  const server = app.listen(0, '127.0.0.1');
  open.push(server);
  await new Promise<void>((r) => server.once('listening', () => r()));
  await privacy.ready();
  return {
    server,
    port: (server.address() as AddressInfo).port,
    memory,
    privacy,
    release: () => release(),
    held,
    errors,
  };
}

function get(port: number, path: string, agent?: import('node:http').Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, agent, headers: { 'user-agent': 'Mozilla/5.0 Firefox/133.0' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('installShutdownHandlers({ server })', () => {
  it('stops accepting, lets the request in flight end, and stores its event before closing', async () => {
    const s = await site();
    const exits: string[] = [];
    installShutdownHandlers(s.privacy.pipeline, { server: s.server, signals: [SIGNAL], exit: (x) => exits.push(x) });
    const inFlight = get(s.port, '/slow');
    await s.held;
    process.emit(SIGNAL, SIGNAL);
    // The listener is gone: a new connection is refused.
    await expect(get(s.port, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(exits).toEqual([]); // still waiting for the request in flight
    s.release();
    expect(await inFlight).toBe(200);
    await vi_until(() => exits.length === 1);
    expect(s.memory.events.map((e) => e.request.path)).toEqual(['/slow']);
    expect(s.privacy.pipeline.metrics().dropped).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('without the server, the same request closes after the pipeline and its event is counted as dropped', async () => {
    const s = await site();
    const exits: string[] = [];
    installShutdownHandlers(s.privacy.pipeline, { signals: [SIGNAL], exit: (x) => exits.push(x) });
    const inFlight = get(s.port, '/slow');
    await s.held;
    process.emit(SIGNAL, SIGNAL);
    await vi_until(() => exits.length === 1);
    s.release();
    expect(await inFlight).toBe(200);
    await vi_until(() => s.privacy.pipeline.metrics().dropped === 1);
    expect(s.memory.events).toEqual([]);
    expect(s.errors).toEqual([ERROR_CODES.CLOSED]);
  });

  it('does not wait for idle keep-alive connections', async () => {
    const s = await site();
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await get(s.port, '/', agent)).toBe(200); // leaves an idle keep-alive connection open
      const exits: string[] = [];
      // Half of 120 s is far beyond the test's own timeout: only ending the idle connection lets this finish.
      installShutdownHandlers(s.privacy.pipeline, {
        server: s.server,
        signals: [SIGNAL],
        timeoutMs: 120_000,
        exit: (x) => exits.push(x),
      });
      process.emit(SIGNAL, SIGNAL);
      await vi_until(() => exits.length === 1);
      expect(s.memory.events).toHaveLength(1);
    } finally {
      agent.destroy();
    }
  });

  it('validates the server option', async () => {
    const s = await site();
    expect(() => installShutdownHandlers(s.privacy.pipeline, { server: 5 as never })).toThrow(/"server"|server/);
    expect(() => installShutdownHandlers(s.privacy.pipeline, { servr: s.server } as never)).toThrow(
      /Did you mean "server"/,
    );
  });
});

/** Polls `check` every 5 ms for up to 8 s. */
async function vi_until(check: () => boolean): Promise<void> {
  const end = Date.now() + 8000;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met within 8 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}
