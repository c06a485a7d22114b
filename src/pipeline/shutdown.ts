/**
 * Graceful shutdown for servers: on SIGTERM or SIGINT, stop accepting
 * connections and let the requests in flight end (when given the HTTP server),
 * close the pipeline (flush, spool leftovers, close aggregators) within a
 * timeout, then let the signal do what it would have done.
 */
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import type { Pipeline } from './types.js';

export const DEFAULT_SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** What shutdown needs of an HTTP server (node:http, node:https, or any server with the same calls). */
export interface ClosableServer {
  close(callback?: (err?: Error) => void): unknown;
  /** Node ≥ 18.2: ends keep-alive connections that have no request in flight. */
  closeIdleConnections?(): void;
}

export interface ShutdownOptions {
  /**
   * The HTTP server whose requests feed the pipeline. When given, a signal first
   * stops it accepting connections and waits for the requests in flight to end —
   * their events are captured when their responses close — for at most half of
   * `timeoutMs`; then the pipeline closes within the rest. Without it, requests
   * still in flight when the pipeline closes are counted as dropped (`CLOSED`).
   */
  server?: ClosableServer;
  /** Signals to handle. Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** Bound on `pipeline.close()`. Default 10 000 ms. */
  timeoutMs?: number;
  /**
   * After closing: `true` (default) re-raises the signal so the process ends as it
   * would have without the handler (exit code 128 + signal number) — unless other
   * listeners for that signal remain, which then own the exit; `false` does nothing
   * more; a function is called instead (e.g. to close the HTTP server first).
   */
  exit?: boolean | ((signal: NodeJS.Signals) => void);
  /** Errors from close() (timeout, lost events). Default: a line on stderr. */
  onError?: (err: PrivacyLogError) => void;
}

const WHERE = 'installShutdownHandlers()';
const KEYS = ['server', 'signals', 'timeoutMs', 'exit', 'onError'] as const;
/** How often idle keep-alive connections are ended while in-flight requests finish. */
const IDLE_SWEEP_MS = 50;

/** Resolves once the server has closed (every connection ended), or after `ms`, whichever is first. Never rejects. */
function drainServer(server: ClosableServer, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let sweep: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(deadline);
      if (sweep) clearInterval(sweep);
      resolve();
    };
    const deadline = setTimeout(done, ms);
    try {
      server.close(() => done());
    } catch {
      done(); // not listening: nothing to drain
      return;
    }
    if (typeof server.closeIdleConnections === 'function') {
      // A connection becomes idle when its last response ends; end it then, not at the deadline.
      const closeIdle = () => {
        try {
          server.closeIdleConnections?.();
        } catch {
          // Best effort.
        }
      };
      closeIdle();
      sweep = setInterval(closeIdle, IDLE_SWEEP_MS);
      sweep.unref();
    }
  });
}

/**
 * Installs the handlers and returns a function that removes them. A second
 * signal while closing exits at once (the spool is already fsynced on close).
 *
 * @example
 * const pipeline = createPipeline({ aggregators: [sqliteAggregator()] });
 * const uninstall = installShutdownHandlers(pipeline, { timeoutMs: 5000 });
 *
 * @example
 * // With the middleware: stop the server, let requests end, then flush.
 * const privacy = privacyLog();
 * app.use(privacy);
 * const server = app.listen(3000);
 * installShutdownHandlers(privacy.pipeline, { server });
 */
export function installShutdownHandlers(pipeline: Pipeline, options: ShutdownOptions = {}): () => void {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KEYS, WHERE);
  const signals = options.signals ?? DEFAULT_SHUTDOWN_SIGNALS;
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string')) {
    throw invalidOption(WHERE, 'signals', "an array of signal names such as ['SIGTERM', 'SIGINT']");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidOption(WHERE, 'timeoutMs', 'a positive number of milliseconds');
  }
  const exit = options.exit ?? true;
  if (typeof exit !== 'boolean' && typeof exit !== 'function') {
    throw invalidOption(WHERE, 'exit', 'true, false or a function (signal) => void');
  }
  const server = options.server;
  if (server !== undefined && (typeof server !== 'object' || server === null || typeof server.close !== 'function')) {
    throw invalidOption(WHERE, 'server', 'an HTTP server (an object with close())');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalidOption(WHERE, 'onError', 'a function (err) => void');
  }
  const onError =
    options.onError ?? ((err: PrivacyLogError) => process.stderr.write(`[privacy-log] ${err.code}: ${err.message}\n`));

  let closing = false;
  const uninstall = () => {
    for (const s of signals) process.removeListener(s, handler);
  };
  const finish = (signal: NodeJS.Signals) => {
    uninstall();
    if (typeof exit === 'function') exit(signal);
    else if (exit && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  function handler(signal: NodeJS.Signals): void {
    if (closing) {
      // Impatient second signal: stop waiting.
      finish(signal);
      return;
    }
    closing = true;
    const started = Date.now();
    const drained = server ? drainServer(server, timeoutMs / 2) : Promise.resolve();
    drained
      .then(() => pipeline.close({ timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) }))
      .then(
        () => finish(signal),
        (err: unknown) => {
          try {
            onError(
              err instanceof PrivacyLogError
                ? err
                : new PrivacyLogError(ERROR_CODES.TIMEOUT, `closing the pipeline on ${signal} failed.`, { cause: err }),
            );
          } finally {
            finish(signal);
          }
        },
      );
  }
  for (const s of signals) process.on(s, handler);
  return uninstall;
}
