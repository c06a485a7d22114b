/**
 * Validation of sketch updates arriving from other servers: the same role
 * validateEvent plays for events. Returns a short reason, or undefined.
 */
import { SKETCH_DIMENSIONS, SKETCH_PRECISION } from '../aggregators/aggregator.js';
import { EVENT_LIMITS } from '../event.js';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const REGISTERS = 2 ** SKETCH_PRECISION;
/** Highest rank a 64-bit hash can give at precision 14. */
const MAX_RANK = 64 - SKETCH_PRECISION + 1;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern exists to find control characters
const UNSAFE_CHARS_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const dimensions: ReadonlySet<string> = new Set(SKETCH_DIMENSIONS);
/** The longest breakdown value any dimension carries (a path). */
const MAX_VALUE = EVENT_LIMITS.path;

function safe(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max && !UNSAFE_CHARS_RE.test(v);
}

/**
 * @example
 * const reason = validateSketch({ day: '2026-11-24', site: 'oblachko', dimension: 'site', value: '', registers: [[12, 3]] });
 */
export function validateSketch(u: unknown): string | undefined {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return 'sketch: not an object';
  const s = u as Record<string, unknown>;
  if (typeof s.day !== 'string' || !DAY_RE.test(s.day) || Number.isNaN(Date.parse(`${s.day}T00:00:00Z`)))
    return 'sketch.day: not a YYYY-MM-DD day';
  if (!safe(s.site, EVENT_LIMITS.site) || s.site === '') return 'sketch.site: missing, too long or unsafe';
  if (typeof s.dimension !== 'string' || !dimensions.has(s.dimension))
    return `sketch.dimension: not one of ${SKETCH_DIMENSIONS.join(', ')}`;
  if (!safe(s.value, MAX_VALUE)) return 'sketch.value: not a string, too long or unsafe';
  if (!Array.isArray(s.registers) || s.registers.length > REGISTERS)
    return `sketch.registers: not an array of at most ${REGISTERS} pairs`;
  for (const pair of s.registers) {
    if (!Array.isArray(pair) || pair.length !== 2) return 'sketch.registers: not [index, rank] pairs';
    const [index, rank] = pair as unknown[];
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= REGISTERS)
      return `sketch.registers: index not an integer 0-${REGISTERS - 1}`;
    if (!Number.isInteger(rank) || (rank as number) < 1 || (rank as number) > MAX_RANK)
      return `sketch.registers: rank not an integer 1-${MAX_RANK}`;
  }
  return undefined;
}
