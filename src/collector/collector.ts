/**
 * The collector (DESIGN §9): the receiving end of httpAggregator. App servers
 * POST batches; the collector authenticates them, checks their size, validates
 * every event and sketch, stores the valid ones in its own aggregators (or
 * pipeline) and answers with what it rejected and why. Framework-free: the Koa
 * and Express adapters, and the `privacy-log collect` server, all call
 * `precheck` and `handle`.
 *
 * `POST <path>/salt` with `{ day, candidate }` answers `{ salt }`: the day's
 * visitor salt shared through the collector's store (DESIGN §7), so app servers
 * behind one collector hash a visitor alike and count them once.
 *
 * Answers: 200 `{ accepted, sketches, rejected: [{ index, id?, reason }] }` once
 * the valid part is durable (invalid events are reported, the rest stored);
 * 422 when every event of a non-empty batch is invalid; 400 malformed JSON or
 * shape; 401 missing or wrong token; 404 other path; 405 not POST; 413 over the
 * size limit (raw or decompressed); 415 unsupported encoding or type;
 * 503 a store failed (the sender retries; stores de-duplicate by event id).
 */
import type { Aggregator, Batch, SketchUpdate } from '../aggregators/aggregator.js';
import { assertKnownKeys, invalidOption, isRetryable } from '../errors.js';
import { type PrivacyEvent, validateEvent } from '../event.js';
import { bearerChecker } from '../http/bearer-auth.js';
import { headerValue } from '../http/request-headers.js';
import type { Pipeline } from '../pipeline/types.js';
import { canonicalEvent, canonicalSketch } from './canonical.js';
import { decodeBody } from './decode-body.js';
import { validateSketch } from './validate-sketch.js';

export const DEFAULT_COLLECTOR_PATH = '/privacy-log/collect';
/** 1 MiB on the wire: about 2,000 events a batch uncompressed, many more gzipped. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
/** Decompressed bodies may be this many times larger than the wire limit. */
export const DEFAULT_DECODED_RATIO = 16;
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** Seconds a sender is asked to wait after a 503. */
export const RETRY_AFTER_SECONDS = 5;
/** Tokens shorter than this are refused: they could be guessed. */
export const MIN_COLLECTOR_TOKEN_LENGTH = 16;

export interface CollectorOptions {
  /** Where valid batches are written, each directly (answer once every one has stored them). */
  aggregators?: readonly Aggregator[];
  /** Or a pipeline: events are pushed and flushed (delivered or spooled) before answering. */
  pipeline?: Pipeline;
  /** Required: the bearer token senders must present (at least 16 characters). */
  auth?: { token?: string };
  /** Default {@link DEFAULT_COLLECTOR_PATH}. */
  path?: string;
  /** Request body limit on the wire. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Limit after gunzip. Default {@link DEFAULT_DECODED_RATIO} × maxBodyBytes. */
  maxDecodedBytes?: number;
  /** Bound on storing one batch before answering 503. Default {@link DEFAULT_WRITE_TIMEOUT_MS}. */
  writeTimeoutMs?: number;
}

export type CollectorHeaders = Record<string, string | string[] | undefined>;

export interface CollectorRequest {
  method: string;
  /** The request path without query string, relative to where the adapter is mounted. */
  path: string;
  /** Lower-case header names, as Node gives them. */
  headers: CollectorHeaders;
  body: Buffer;
}

export interface CollectorResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text. */
  body: string;
}

export interface Rejection {
  index: number;
  id?: string;
  reason: string;
}

export interface CollectorMetrics {
  /** Requests whose body reached handle(). */
  requests: number;
  /** Well-formed batches (after auth, size and JSON checks). */
  batches: number;
  /** Valid events stored. */
  events: number;
  /** Valid sketch updates stored. */
  sketches: number;
  /** Invalid events and sketch updates reported back to senders. */
  rejected: number;
  /** Requests refused with 401. */
  unauthorized: number;
  /** Requests refused with 413. */
  tooLarge: number;
  /** Requests refused with 400. */
  malformed: number;
  /** Batches answered 503 because a store failed. */
  storeFailures: number;
}

export interface Collector {
  readonly path: string;
  /** `<path>/salt`: where app servers fetch the day's shared visitor salt. */
  readonly saltPath: string;
  /** True for the paths the collector answers (an adapter passes the others on). */
  handles(path: string): boolean;
  readonly maxBodyBytes: number;
  /**
   * The checks that need no body (path, method, token, announced size, encoding),
   * so an adapter can refuse before reading anything. undefined = read the body.
   */
  precheck(request: Omit<CollectorRequest, 'body'>): CollectorResponse | undefined;
  handle(request: CollectorRequest): Promise<CollectorResponse>;
  metrics(): CollectorMetrics;
  /** Closes the pipeline or the aggregators it was given. Idempotent. */
  close(): Promise<void>;
}

const KNOWN_KEYS = [
  'aggregators',
  'pipeline',
  'auth',
  'path',
  'maxBodyBytes',
  'maxDecodedBytes',
  'writeTimeoutMs',
] as const;
const WHERE = 'createCollector()';
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SALT_RE = /^[0-9a-f]{32}$/;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Salts are handed out for days this close to today only (yesterday, today, tomorrow, with clock skew). */
const SALT_DAY_WINDOW_MS = 2 * 86_400_000;

function reply(status: number, payload: unknown, headers: Record<string, string> = {}): CollectorResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(payload) };
}

function positiveInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) <= 0) throw invalidOption(WHERE, field, 'a positive integer');
  return value as number;
}

/**
 * @example
 * const collector = createCollector({
 *   aggregators: [postgresAggregator({ connectionString: process.env.DATABASE_URL })],
 *   auth: { token: process.env.COLLECTOR_TOKEN },
 * });
 * const res = await collector.handle({ method: 'POST', path: '/privacy-log/collect', headers, body });
 */
export function createCollector(options: CollectorOptions = {}): Collector {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KNOWN_KEYS, WHERE);
  const { pipeline } = options;
  const aggregators = options.aggregators ?? [];
  if (pipeline !== undefined && options.aggregators !== undefined)
    throw invalidOption(WHERE, 'pipeline', 'given without "aggregators" (pass one or the other)');
  if (pipeline !== undefined && (typeof pipeline !== 'object' || typeof pipeline.push !== 'function'))
    throw invalidOption(WHERE, 'pipeline', 'a pipeline from createPipeline()');
  if (!Array.isArray(aggregators) || aggregators.some((a) => typeof a?.write !== 'function'))
    throw invalidOption(WHERE, 'aggregators', 'an array of aggregators');
  if (pipeline === undefined && aggregators.length === 0)
    throw invalidOption(
      WHERE,
      'aggregators',
      'a non-empty array (or pass "pipeline"): the collector needs somewhere to store',
    );
  const token = options.auth?.token;
  if (typeof token !== 'string' || token.length < MIN_COLLECTOR_TOKEN_LENGTH)
    throw invalidOption(
      WHERE,
      'auth.token',
      `a secret of at least ${MIN_COLLECTOR_TOKEN_LENGTH} characters (the collector never runs without authentication)`,
    );
  if (options.auth) assertKnownKeys(options.auth, ['token'], `${WHERE} auth`);
  const path = options.path ?? DEFAULT_COLLECTOR_PATH;
  if (typeof path !== 'string' || !/^\/[^\s?#]*$/.test(path))
    throw invalidOption(WHERE, 'path', "a path starting with '/', without spaces, '?' or '#'");
  const maxBodyBytes = positiveInt(options.maxBodyBytes, 'maxBodyBytes', DEFAULT_MAX_BODY_BYTES);
  const maxDecodedBytes = positiveInt(options.maxDecodedBytes, 'maxDecodedBytes', maxBodyBytes * DEFAULT_DECODED_RATIO);
  const writeTimeoutMs = positiveInt(options.writeTimeoutMs, 'writeTimeoutMs', DEFAULT_WRITE_TIMEOUT_MS);
  const authorized = bearerChecker(token);
  const stores: readonly Aggregator[] = pipeline ? pipeline.aggregators : aggregators;
  const saltPath = `${path.replace(/\/$/, '')}/salt`;
  const saltKeeper = stores.find((a) => typeof a.salt === 'function');

  const m: CollectorMetrics = {
    requests: 0,
    batches: 0,
    events: 0,
    sketches: 0,
    rejected: 0,
    unauthorized: 0,
    tooLarge: 0,
    malformed: 0,
    storeFailures: 0,
  };
  let closing: Promise<void> | undefined;

  const tooLarge = (error: string) => {
    m.tooLarge++;
    return reply(413, { error }, { connection: 'close' });
  };
  const malformed = (error: string) => {
    m.malformed++;
    return reply(400, { error });
  };

  function precheck(req: Omit<CollectorRequest, 'body'>): CollectorResponse | undefined {
    if (req.path !== path && req.path !== saltPath) return reply(404, { error: 'not found' });
    if (req.method !== 'POST') return reply(405, { error: 'use POST' }, { allow: 'POST' });
    if (!authorized(req.headers.authorization)) {
      m.unauthorized++;
      return reply(
        401,
        { error: 'a valid bearer token is required' },
        { 'www-authenticate': 'Bearer realm="privacy-log"' },
      );
    }
    const length = headerValue(req.headers, 'content-length');
    if (length !== undefined && Number(length) > maxBodyBytes)
      return tooLarge(`body larger than ${maxBodyBytes} bytes`);
    const type = headerValue(req.headers, 'content-type');
    if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
      return reply(415, { error: 'send Content-Type: application/json' });
    const encoding = (headerValue(req.headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
    if (!['identity', '', 'gzip', 'x-gzip'].includes(encoding))
      return reply(415, { error: 'send Content-Encoding gzip or identity' });
    return undefined;
  }

  async function store(events: PrivacyEvent[], sketches: SketchUpdate[]): Promise<string | undefined> {
    const signal = AbortSignal.timeout(writeTimeoutMs);
    if (pipeline) {
      if (sketches.length > 0) {
        const failure = await writeAll({ events: [], sketches }, signal);
        if (failure) return failure;
      }
      for (const e of events) pipeline.push(e);
      try {
        await pipeline.flush({ timeoutMs: writeTimeoutMs });
      } catch (e) {
        return `pipeline: ${(e as { code?: string }).code ?? 'flush failed'}`;
      }
      return undefined;
    }
    return writeAll({ events, sketches }, signal);
  }

  async function writeAll(batch: Batch, signal: AbortSignal): Promise<string | undefined> {
    const results = await Promise.allSettled(stores.map((a) => a.write(batch, signal)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [
            `${stores[i]?.name}: ${(r.reason as { code?: string })?.code ?? 'failed'}${isRetryable(r.reason) ? '' : ' (not retryable)'}`,
          ]
        : [],
    );
    return failures.length ? failures.join('; ') : undefined;
  }

  async function shareSalt(body: Record<string, unknown>): Promise<CollectorResponse> {
    const { day, candidate } = body;
    if (typeof day !== 'string' || !DAY_RE.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)))
      return malformed('"day" must be a YYYY-MM-DD day');
    if (Math.abs(Date.parse(`${day}T12:00:00Z`) - Date.now()) > SALT_DAY_WINDOW_MS)
      return malformed('"day" must be yesterday, today or tomorrow (UTC)');
    if (typeof candidate !== 'string' || !SALT_RE.test(candidate))
      return malformed('"candidate" must be 32 lowercase hex digits');
    try {
      const salt = pipeline
        ? await pipeline.salt(day, candidate)
        : saltKeeper?.salt
          ? await saltKeeper.salt(day, candidate)
          : candidate;
      return reply(200, { salt });
    } catch (e) {
      m.storeFailures++;
      return reply(
        503,
        { error: `the salt store failed (${(e as { code?: string })?.code ?? 'error'}); retry later`, retryable: true },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
  }

  async function handle(req: CollectorRequest): Promise<CollectorResponse> {
    m.requests++;
    const early = precheck(req);
    if (early) return early;
    if (closing)
      return reply(503, { error: 'the collector is shutting down' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
    if (req.body.length > maxBodyBytes) return tooLarge(`body larger than ${maxBodyBytes} bytes`);
    const text = await decodeBody(req.body, headerValue(req.headers, 'content-encoding'), maxDecodedBytes);
    if (typeof text !== 'string') return text.status === 413 ? tooLarge(text.error) : malformed(text.error);

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return malformed('body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return malformed('body must be an object { events: [...], sketches: [...] }');
    if (req.path === saltPath) return shareSalt(parsed as Record<string, unknown>);
    const raw = parsed as { events?: unknown; sketches?: unknown };
    if (!Array.isArray(raw.events)) return malformed('"events" must be an array');
    if (raw.sketches !== undefined && !Array.isArray(raw.sketches)) return malformed('"sketches" must be an array');

    const events: PrivacyEvent[] = [];
    const rejected: Rejection[] = [];
    raw.events.forEach((e: unknown, index) => {
      const reason = validateEvent(e);
      if (reason === undefined) {
        events.push(canonicalEvent(e as PrivacyEvent));
        return;
      }
      const id = (e as { id?: unknown } | null)?.id;
      rejected.push(typeof id === 'string' && UUID_RE.test(id) ? { index, id, reason } : { index, reason });
    });
    const sketches: SketchUpdate[] = [];
    const rejectedSketches: Rejection[] = [];
    (raw.sketches ?? []).forEach((s: unknown, index) => {
      const reason = validateSketch(s);
      if (reason === undefined) sketches.push(canonicalSketch(s as SketchUpdate));
      else rejectedSketches.push({ index, reason });
    });
    m.batches++;
    m.rejected += rejected.length + rejectedSketches.length;

    if (events.length > 0 || sketches.length > 0) {
      const failure = await store(events, sketches);
      if (failure) {
        m.storeFailures++;
        return reply(
          503,
          { error: `storing the batch failed (${failure}); retry later`, retryable: true },
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
      }
    }
    m.events += events.length;
    m.sketches += sketches.length;
    const payload = { accepted: events.length, sketches: sketches.length, rejected, rejectedSketches };
    const nothingValid = events.length === 0 && sketches.length === 0 && rejected.length + rejectedSketches.length > 0;
    return reply(nothingValid ? 422 : 200, payload);
  }

  return {
    path,
    saltPath,
    handles: (p: string) => p === path || p === saltPath,
    maxBodyBytes,
    precheck,
    handle,
    metrics: () => ({ ...m }),
    close(): Promise<void> {
      closing ??= (async () => {
        if (pipeline) await pipeline.close();
        else await Promise.allSettled(aggregators.map((a) => a.close?.()));
      })();
      return closing;
    },
  };
}
