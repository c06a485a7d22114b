/** Exponential backoff with optional jitter, for per-aggregator retries. */
import type { ResolvedRetryOptions } from './options.js';

/**
 * The delay before retry number `attempt` (1 = the first retry):
 * `initialMs × multiplier^(attempt-1)`, capped at `maxMs`; with jitter, a
 * uniform draw in [delay/2, delay] so that many servers do not retry in step.
 *
 * @example
 * backoffDelay(3, { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: false, ... }); // 2000
 */
export function backoffDelay(
  attempt: number,
  retry: Pick<ResolvedRetryOptions, 'initialMs' | 'maxMs' | 'multiplier' | 'jitter'>,
  random: () => number = Math.random,
): number {
  const exp = Math.max(0, attempt - 1);
  const raw = retry.initialMs * retry.multiplier ** exp;
  const delay = Number.isFinite(raw) ? Math.min(retry.maxMs, raw) : retry.maxMs;
  if (!retry.jitter) return Math.round(delay);
  return Math.round(delay / 2 + random() * (delay / 2));
}
