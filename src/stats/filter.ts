/**
 * Stats filters: `page==/news`, `browser!=Firefox`. Parsed from strings for the
 * JSON API and the dashboard; every failure is a coded INVALID_QUERY naming the
 * valid properties and operators.
 */
import { didYouMean, ERROR_CODES, PrivacyLogError } from '../errors.js';
import { type Filter, PROPERTIES, type Property } from './query.js';

const PROPERTY_SET: ReadonlySet<string> = new Set(PROPERTIES);
/** Longest filter value accepted (longer than any stored value can be). */
export const MAX_FILTER_VALUE = 2048;
/** Most filters one query may carry. */
export const MAX_FILTERS = 4;

function invalid(message: string, details?: Record<string, unknown>): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_QUERY, message, { retryable: false, details });
}

export function unknownProperty(name: string): PrivacyLogError {
  const hint = didYouMean(name, PROPERTIES);
  return invalid(
    `Unknown property "${name.slice(0, 64)}".${hint ? ` Did you mean "${hint}"?` : ''} Valid properties: ${PROPERTIES.join(', ')}.`,
    { property: name.slice(0, 64), valid: PROPERTIES },
  );
}

/** Check a Filter object (from code or JSON) and return a clean copy. */
export function checkFilter(f: unknown): Filter {
  if (typeof f === 'string') return parseFilter(f);
  if (typeof f !== 'object' || f === null)
    throw invalid('A filter must be "property==value", "property!=value" or { property, op, value }.');
  const { property, op, value } = f as Record<string, unknown>;
  if (typeof property !== 'string' || !PROPERTY_SET.has(property)) throw unknownProperty(String(property));
  if (op !== '==' && op !== '!=')
    throw invalid(`Unknown filter operator "${String(op).slice(0, 8)}". Valid operators: ==, !=.`);
  if (typeof value !== 'string' || value.length > MAX_FILTER_VALUE)
    throw invalid(`Filter value for "${property}" must be a string of at most ${MAX_FILTER_VALUE} characters.`);
  return { property: property as Property, op, value };
}

/**
 * Parse one filter string. The first `==` or `!=` splits property from value,
 * so values may contain `=` or `!`.
 *
 * @example
 * parseFilter('page==/news');      // { property: 'page', op: '==', value: '/news' }
 * parseFilter('browser!=Firefox'); // { property: 'browser', op: '!=', value: 'Firefox' }
 */
export function parseFilter(s: string): Filter {
  if (typeof s !== 'string') throw invalid('A filter must be a string like "page==/news".');
  const eq = s.indexOf('==');
  const ne = s.indexOf('!=');
  let at: number;
  if (eq < 0 && ne < 0) {
    throw invalid(
      `Filter "${s.slice(0, 64)}" has no operator. Write property==value or property!=value; valid properties: ${PROPERTIES.join(', ')}.`,
    );
  }
  if (eq < 0) at = ne;
  else if (ne < 0) at = eq;
  else at = Math.min(eq, ne);
  const property = s.slice(0, at).trim();
  const op = s.slice(at, at + 2) as '==' | '!=';
  const value = s.slice(at + 2);
  if (!PROPERTY_SET.has(property)) throw unknownProperty(property);
  if (value.length > MAX_FILTER_VALUE) throw invalid(`Filter value is longer than ${MAX_FILTER_VALUE} characters.`);
  return { property: property as Property, op, value };
}

/**
 * Parse a list of filters: one string `;`-separated (`page==/news;browser!=Firefox`),
 * or an array of single filters (used as given, so a value may contain `;`).
 */
export function parseFilters(input: string | readonly string[]): Filter[] {
  const parts = typeof input === 'string' ? input.split(';') : [...input];
  const out = parts.filter((p) => p.trim() !== '').map(parseFilter);
  if (out.length > MAX_FILTERS) throw invalid(`At most ${MAX_FILTERS} filters are allowed; got ${out.length}.`);
  return out;
}

/** Whether a value (undefined = the event has none) passes a filter. `!=` keeps events without the value. */
export function matchesFilter(value: string | undefined, f: Filter): boolean {
  return f.op === '==' ? value === f.value : value !== f.value;
}
