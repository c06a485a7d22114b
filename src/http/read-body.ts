/**
 * Read a small request body with a hard byte limit, for the consent and
 * collector routes. Framework-free: it takes Node's IncomingMessage.
 */
import type { IncomingMessage } from 'node:http';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import { headerValue } from './request-headers.js';

/** The limit was passed: the caller answers 413. */
export class BodyTooLargeError extends PrivacyLogError {
  constructor(limit: number) {
    super(ERROR_CODES.INVALID_EVENT, `request body is larger than ${limit} bytes`, {
      retryable: false,
      details: { limit },
    });
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Resolves to the body as a Buffer, or rejects with BodyTooLargeError as soon as
 * more than `limit` bytes arrive (or Content-Length announces more).
 *
 * @example
 * const body = (await readBody(req, 8192)).toString('utf8');
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const announced = Number(headerValue(req.headers, 'content-length'));
  if (Number.isFinite(announced) && announced > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** True when the body was already read (by a body parser mounted earlier). */
export function bodyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || req.complete;
}

/** Turn what a body parser left (`parsed`) back into text of the same media type. */
function reencode(parsed: unknown, contentType: string): { body: string; contentType: string } | undefined {
  if (typeof parsed === 'string') return { body: parsed, contentType };
  if (Buffer.isBuffer(parsed)) return { body: parsed.toString('utf8'), contentType };
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') form.append(k, v);
    return { body: form.toString(), contentType };
  }
  return { body: JSON.stringify(parsed), contentType: 'application/json' };
}

/**
 * A small route body as text, whether or not a body parser mounted earlier got
 * to it first: read from the stream (at most `limit` bytes, else
 * BodyTooLargeError), or re-encoded from the parser's result (`parsed`:
 * `ctx.request.body` in Koa, `req.body` in Express).
 *
 * @example
 * const { body, contentType } = await routeBody(ctx.req, ctx.request.body, 8192);
 */
export async function routeBody(
  req: IncomingMessage,
  parsed: unknown,
  limit: number,
): Promise<{ body: string | undefined; contentType: string }> {
  const contentType = headerValue(req.headers, 'content-type') ?? '';
  if (bodyConsumed(req) || parsed !== undefined) {
    const again = reencode(parsed, contentType);
    return { body: again?.body, contentType: again?.contentType ?? contentType };
  }
  return { body: (await readBody(req, limit)).toString('utf8'), contentType };
}
