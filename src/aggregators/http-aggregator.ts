/**
 * httpAggregator: forwards batches to a privacy-log collector (or any endpoint
 * speaking the same protocol) as one gzip-compressed JSON POST per batch,
 * authenticated with a bearer token. It sends only to the URL the operator
 * configured — nothing leaves the machine otherwise.
 *
 * Protocol: `POST <url>`, `Content-Type: application/json`,
 * `Content-Encoding: gzip` (unless disabled), `Authorization: Bearer <token>`,
 * body `{ "events": PrivacyEvent[], "sketches": SketchUpdate[] }`.
 * A 2xx answer means the batch is durable at the destination.
 * Failures: 4xx (but 408 and 429) → REMOTE_REJECTED, not retryable;
 * 408, 429, 5xx, timeouts and network errors → AGGREGATOR_FAILED, retryable.
 *
 * `salt(day, candidate)` asks the collector (`POST <url>/salt`) for the day's
 * shared visitor salt, so that every app server behind one collector hashes a
 * visitor alike (DESIGN §7).
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import type { Aggregator, Batch } from './aggregator.js';

const gzipAsync = promisify(gzipCallback);

export const DEFAULT_HTTP_NAME = 'http';
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
/** Characters of a refusal's response body quoted in the error message. */
export const MAX_QUOTED_RESPONSE = 300;
const SALT_RE = /^[0-9a-f]{32}$/;

export interface HttpAggregatorOptions {
  /** The collector's endpoint, http:// or https://. Required. */
  url?: string;
  /** Bearer token the collector expects. Required. */
  token?: string;
  /** Compress request bodies. Default true. */
  gzip?: boolean;
  /** Per-request timeout. Default {@link DEFAULT_HTTP_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Extra request headers (they cannot replace Authorization, Content-Type or Content-Encoding). */
  headers?: Record<string, string>;
  /** Name in pipeline metrics. Default {@link DEFAULT_HTTP_NAME}. */
  name?: string;
}

const KNOWN_KEYS = ['url', 'token', 'gzip', 'timeoutMs', 'headers', 'name'] as const;
const WHERE = 'httpAggregator()';
const RESERVED_HEADERS = new Set(['authorization', 'content-type', 'content-encoding', 'content-length']);

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * @example
 * // on every app server
 * const privacy = privacyLog({
 *   aggregators: [httpAggregator({ url: 'http://10.0.0.5:8787/privacy-log/collect', token: process.env.COLLECTOR_TOKEN })],
 * });
 */
export function httpAggregator(
  options: HttpAggregatorOptions = {},
): Aggregator & { salt(day: string, candidate: string): Promise<string>; close(): Promise<void> } {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KNOWN_KEYS, WHERE);
  const { url, token } = options;
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw invalidOption(WHERE, 'url', 'an http:// or https:// URL (the collector endpoint)');
  if (typeof token !== 'string' || token === '')
    throw invalidOption(WHERE, 'token', 'the non-empty bearer token the collector expects');
  const gzip = options.gzip ?? true;
  if (typeof gzip !== 'boolean') throw invalidOption(WHERE, 'gzip', 'a boolean');
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw invalidOption(WHERE, 'timeoutMs', 'a positive integer');
  const name = options.name ?? DEFAULT_HTTP_NAME;
  if (typeof name !== 'string' || name === '') throw invalidOption(WHERE, 'name', 'a non-empty string');
  const extra = options.headers ?? {};
  if (typeof extra !== 'object' || extra === null || Object.values(extra).some((v) => typeof v !== 'string'))
    throw invalidOption(WHERE, 'headers', 'an object of string header values');

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) if (!RESERVED_HEADERS.has(k.toLowerCase())) headers[k] = v;
  headers['content-type'] = 'application/json';
  headers.authorization = `Bearer ${token}`;
  if (gzip) headers['content-encoding'] = 'gzip';
  // Messages name the destination without credentials or query.
  const target = (() => {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  })();
  const saltUrl = (() => {
    const u = new URL(url);
    u.pathname = `${u.pathname.replace(/\/$/, '')}/salt`;
    return u.toString();
  })();
  let closed = false;

  const failed = (message: string, cause?: unknown) =>
    new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, `${name}: ${message} The batch will be retried.`, { cause });

  /** POSTs a body; resolves to the response text on 2xx, rejects with a classified error otherwise. */
  async function post(to: string, body: Buffer, signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(to, { method: 'POST', headers, body, signal: combined });
    } catch (cause) {
      if (timeout.aborted) throw failed(`no answer from ${target} within ${timeoutMs} ms.`, cause);
      if (signal?.aborted) throw failed(`the request to ${target} was aborted.`, signal.reason ?? cause);
      const code = (cause as { cause?: { code?: string } }).cause?.code;
      throw failed(`could not reach ${target}${code ? ` (${code})` : ''}.`, cause);
    }
    let text = '';
    try {
      text = await response.text();
    } catch {
      // the status decides; a body cut short changes nothing
    }
    if (response.ok) return text;
    const quoted = text.slice(0, MAX_QUOTED_RESPONSE);
    if (isRetryableStatus(response.status))
      throw failed(`${target} answered ${response.status}${quoted ? `: ${quoted}` : ''}.`);
    throw new PrivacyLogError(
      ERROR_CODES.REMOTE_REJECTED,
      `${name}: ${target} refused the batch with ${response.status}${quoted ? `: ${quoted}` : ''}. ` +
        (response.status === 401 || response.status === 403
          ? 'Check that the token matches the collector’s.'
          : 'Retrying cannot help; check the collector’s version and limits.'),
      { retryable: false, details: { status: response.status } },
    );
  }

  return {
    name,
    async write(batch: Batch, signal?: AbortSignal): Promise<void> {
      if (closed)
        throw new PrivacyLogError(ERROR_CODES.CLOSED, `${name}: the aggregator is closed; create a new one.`, {
          retryable: false,
        });
      if (batch.events.length === 0 && batch.sketches.length === 0) return;
      const json = Buffer.from(JSON.stringify({ events: batch.events, sketches: batch.sketches }), 'utf8');
      const body = gzip ? await gzipAsync(json) : json;
      await post(url, body, signal);
    },
    async salt(day: string, candidate: string): Promise<string> {
      const body = Buffer.from(JSON.stringify({ day, candidate }), 'utf8');
      const text = await post(saltUrl, gzip ? await gzipAsync(body) : body);
      let salt: unknown;
      try {
        salt = (JSON.parse(text) as { salt?: unknown }).salt;
      } catch {
        salt = undefined;
      }
      if (typeof salt !== 'string' || !SALT_RE.test(salt))
        throw failed(`${target}/salt answered without a valid salt.`);
      return salt;
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
