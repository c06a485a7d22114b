/**
 * Graceful shutdown for servers: on SIGTERM or SIGINT, close the pipeline
 * (flush, spool leftovers, close aggregators) within a timeout, then let the
 * signal do what it would have done.
 */
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import type { Pipeline } from './types.js';

export const DEFAULT_SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface ShutdownOptions {
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
const KEYS = ['signals', 'timeoutMs', 'exit', 'onError'] as const;

/**
 * Installs the handlers and returns a function that removes them. A second
 * signal while closing exits at once (the spool is already fsynced on close).
 *
 * @example
 * const pipeline = createPipeline({ aggregators: [sqliteAggregator()] });
 * const uninstall = installShutdownHandlers(pipeline, { timeoutMs: 5000 });
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
    pipeline.close({ timeoutMs }).then(
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
