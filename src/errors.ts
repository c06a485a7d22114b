/**
 * Coded errors (DESIGN §13). Every error privacy-log throws or reports is a
 * {@link PrivacyLogError} with a stable `code`, a message that says what to do,
 * and the underlying `cause` passed through.
 */

export const ERROR_CODES = {
  /** An option is unknown, misspelled, of the wrong type or out of range. */
  INVALID_OPTION: 'PRIVACY_LOG_E_INVALID_OPTION',
  /** `app.use(privacyLog)` where `app.use(privacyLog())` was meant. */
  NOT_CALLED: 'PRIVACY_LOG_E_NOT_CALLED',
  /** An event failed validation. */
  INVALID_EVENT: 'PRIVACY_LOG_E_INVALID_EVENT',
  /** An aggregator could not store or forward a batch. */
  AGGREGATOR_FAILED: 'PRIVACY_LOG_E_AGGREGATOR_FAILED',
  /** An aggregator could not be opened at startup (corrupt/locked file, read-only dir, refused connection). */
  STORE_UNAVAILABLE: 'PRIVACY_LOG_E_STORE_UNAVAILABLE',
  /** A pipeline or aggregator was used after close(). */
  CLOSED: 'PRIVACY_LOG_E_CLOSED',
  /** flush() or close() did not finish within its timeout. */
  TIMEOUT: 'PRIVACY_LOG_E_TIMEOUT',
  /** The spool could not write (disk full, read-only directory). */
  SPOOL_WRITE: 'PRIVACY_LOG_E_SPOOL_WRITE',
  /** A spool record failed its checksum and was skipped. */
  SPOOL_CORRUPT: 'PRIVACY_LOG_E_SPOOL_CORRUPT',
  /** A stats query named an unknown metric, property, period or filter. */
  INVALID_QUERY: 'PRIVACY_LOG_E_INVALID_QUERY',
  /** Operator configuration (file or environment) is invalid. */
  INVALID_CONFIG: 'PRIVACY_LOG_E_INVALID_CONFIG',
  /** An optional peer dependency (pg, @opentelemetry/*) is not installed. */
  MISSING_DEPENDENCY: 'PRIVACY_LOG_E_MISSING_DEPENDENCY',
  /** Enrichment data (ASN database) could not be loaded. */
  ENRICH_DATA: 'PRIVACY_LOG_E_ENRICH_DATA',
  /** A request to a remote sink or collector was refused (4xx: not retried). */
  REMOTE_REJECTED: 'PRIVACY_LOG_E_REMOTE_REJECTED',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface PrivacyLogErrorOptions {
  cause?: unknown;
  /** Set false for failures a retry cannot fix (validation, auth). Default true. */
  retryable?: boolean;
  /** Extra structured detail (never personal data). */
  details?: Record<string, unknown>;
}

/**
 * @example
 * throw new PrivacyLogError(ERROR_CODES.INVALID_OPTION, 'trustProxy must be ...');
 */
export class PrivacyLogError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: PrivacyLogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PrivacyLogError';
    this.code = code;
    this.retryable = options.retryable ?? true;
    this.details = options.details;
  }
}

/** True for a PrivacyLogError (or anything carrying a PRIVACY_LOG_E_ code). */
export function isPrivacyLogError(e: unknown, code?: ErrorCode): e is PrivacyLogError {
  if (typeof e !== 'object' || e === null) return false;
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' && c.startsWith('PRIVACY_LOG_E_') && (code === undefined || c === code);
}

/** False only for errors explicitly marked as not retryable (validation, auth). */
export function isRetryable(e: unknown): boolean {
  if (typeof e === 'object' && e !== null && (e as { retryable?: unknown }).retryable === false) return false;
  return true;
}

/** Levenshtein distance, bounded for short option names. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest known name to `name`, if it is close enough to be a typo. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  const lower = name.toLowerCase();
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : distance(lower, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * Throws INVALID_OPTION for the first key of `value` not in `known`, with a
 * "did you mean" suggestion. `where` names the options object, e.g. 'privacyLog()'.
 */
export function assertKnownKeys(value: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const hint = didYouMean(key, known);
      throw new PrivacyLogError(
        ERROR_CODES.INVALID_OPTION,
        `${where}: unknown option "${key}".${hint ? ` Did you mean "${hint}"?` : ''} Known options: ${known.join(', ')}.`,
        { retryable: false, details: { option: key, suggestion: hint } },
      );
    }
  }
}

/** An INVALID_OPTION error for one field. */
export function invalidOption(where: string, field: string, expected: string, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_OPTION, `${where}: option "${field}" must be ${expected}.`, {
    retryable: false,
    cause,
    details: { option: field },
  });
}
