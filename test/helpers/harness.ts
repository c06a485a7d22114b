/**
 * One harness per adapter (Koa, Express), so a single set of cases runs on both.
 * Each harness builds a real app with the same routes, served by a real
 * node:http server on 127.0.0.1 and driven with supertest.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import type { PrivacyEvent } from '../../src/event.js';
import type { PrivacyLogOptions } from '../../src/options.js';
import type { Pipeline } from '../../src/pipeline/types.js';

export interface MemoryLike {
  events: PrivacyEvent[];
}

export interface CheckRequest {
  method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  headers?: Record<string, string>;
  body?: string | object;
  type?: string;
}

export interface Harness {
  name: string;
  server: Server;
  origin: string;
  agent: supertest.Agent;
  memory: MemoryLike;
  pipeline: Pipeline;
  /** The state the app saw in the handler (ctx.state.privacy / res.locals.privacy). */
  lastState(): unknown;
  /** Send one request, flush the pipeline, and hand the response and the event it produced to `expect`. */
  check(req: CheckRequest, expect: (res: supertest.Response, event: PrivacyEvent | undefined) => void): Promise<void>;
  close(): Promise<void>;
}

export type HarnessFactory = (options: PrivacyLogOptions & { withRoutes?: boolean }) => Promise<Harness>;

/** Shared plumbing: listen, and the check() that finds the request's event. */
export async function finishHarness(
  name: string,
  server: Server,
  memory: MemoryLike,
  pipeline: Pipeline,
  lastState: () => unknown,
  closeApp: () => Promise<void>,
): Promise<Harness> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const agent = supertest.agent(server);
  return {
    name,
    server,
    origin,
    agent,
    memory,
    pipeline,
    lastState,
    async check(req, expect) {
      const before = memory.events.length;
      const method = (req.method ?? 'GET').toLowerCase() as 'get';
      let r = supertest(server)[method](req.path);
      for (const [k, v] of Object.entries(req.headers ?? {})) r = r.set(k, v);
      if (req.type) r = r.type(req.type);
      if (req.body !== undefined) r = r.send(req.body);
      const res = await r;
      // The event is pushed when the response closes; give the socket a turn, then flush.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await pipeline.flush();
      const fresh = memory.events.slice(before);
      expect(res, fresh.at(-1));
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeApp();
    },
  };
}
