/**
 * Failure reporting: every failure reaches `onError`, rate-limited per kind so
 * that a sink down under load does not flood the operator's log.
 */
import type { PrivacyLogError } from '../errors.js';

/** At most one report per key in this window; the rest are counted and mentioned in the next one. */
export const REPORT_INTERVAL_MS = 1000;

export type Reporter = (key: string, err: PrivacyLogError) => void;

function defaultOnError(err: PrivacyLogError): void {
  process.stderr.write(`[privacy-log] ${err.code}: ${err.message}\n`);
}

/**
 * @example
 * const report = createReporter(options.onError);
 * report('spool:sqlite', new PrivacyLogError(ERROR_CODES.SPOOL_WRITE, '...'));
 */
export function createReporter(onError: ((err: PrivacyLogError) => void) | undefined): Reporter {
  const sink = onError ?? defaultOnError;
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, err) => {
    const now = Date.now();
    const seen = last.get(key);
    if (seen !== undefined && now - seen.at < REPORT_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    if (seen !== undefined && seen.suppressed > 0) {
      err.message += ` (${seen.suppressed} similar report(s) suppressed in the last ${now - seen.at} ms)`;
    }
    last.set(key, { at: now, suppressed: 0 });
    if (last.size > 1000) last.clear();
    try {
      sink(err);
    } catch {
      // A throwing onError must never take the pipeline down.
    }
  };
}
