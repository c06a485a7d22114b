/**
 * Read a small request body with a hard byte limit, for the consent and
 * collector routes. Framework-free: it takes Node's IncomingMessage.
 */
import type { IncomingMessage } from 'node:http';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';

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
  const announced = Number(req.headers['content-length']);
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
