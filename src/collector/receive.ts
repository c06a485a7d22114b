/**
 * Serving the collector over Node's own request and response objects: what the
 * `privacy-log collect` server uses, and what an Express adapter can reuse
 * as it is (Express's req/res are Node's).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody } from '../http/read-body.js';
import type { Collector, CollectorResponse } from './collector.js';

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/**
 * Runs one request through the collector: prechecks before reading, reads the
 * body counting bytes against the limit, then handles it. Never rejects.
 *
 * @example
 * const res = await receive(collector, req, req.url); // then write res.status, res.headers, res.body
 */
export async function receive(
  collector: Collector,
  req: IncomingMessage,
  path: string = pathOf(req.url),
): Promise<CollectorResponse> {
  const meta = { method: req.method ?? 'GET', path, headers: req.headers };
  const early = collector.precheck(meta);
  if (early) {
    // Refused before reading: drop the connection after answering rather than drain an unwanted upload.
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    req.resume();
    return hasBody ? { ...early, headers: { ...early.headers, connection: 'close' } } : early;
  }
  let body: Buffer;
  try {
    body = await readBody(req, collector.maxBodyBytes);
  } catch (e) {
    const status = e instanceof BodyTooLargeError ? 413 : 400;
    return {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
      body: JSON.stringify({
        error: status === 413 ? `body larger than ${collector.maxBodyBytes} bytes` : 'request body could not be read',
      }),
    };
  }
  try {
    return await collector.handle({ ...meta, body });
  } catch {
    return {
      status: 500,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ error: 'internal error' }),
    };
  }
}

/** Writes a collector response to a Node response. */
export function send(res: ServerResponse, response: CollectorResponse): void {
  res.statusCode = response.status;
  for (const [k, v] of Object.entries(response.headers)) res.setHeader(k, v);
  res.end(response.body);
}

/**
 * A node:http request listener serving the collector at its path (404 elsewhere).
 *
 * @example
 * http.createServer(collectorListener(collector)).listen(8787, '127.0.0.1');
 */
export function collectorListener(collector: Collector): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    receive(collector, req).then(
      (response) => send(res, response),
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  };
}
