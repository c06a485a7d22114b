/**
 * Escaping for access-log lines. A log line is one line: no character that a
 * terminal, a log shipper or a line-oriented parser could read as a line break
 * or a control sequence may reach it. Text formats escape Apache-style
 * (`\"`, `\\`, `\xHH` for C0/DEL/C1 controls) and use `\uHHHH` for the Unicode
 * line and paragraph separators, bidirectional overrides, the BOM and lone
 * surrogates. JSON lines escape the same set as `\uHHHH`, which keeps them valid JSON.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: these patterns exist to find control characters
const QUOTED_UNSAFE = /[\u0000-\u001f"\\\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these patterns exist to find control characters
const QUOTED_UNSAFE_ALL = /[\u0000-\u001f"\\\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/gu;
const BARE_UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these patterns exist to find control characters
  /[\u0000-\u0020"\\\u007f-\u00a0\u1680\u2000-\u200a\u200e\u200f\u2028-\u202f\u205f\u2066-\u2069\u3000\ufeff\ud800-\udfff]/u;
const BARE_UNSAFE_ALL = new RegExp(BARE_UNSAFE.source, 'gu');
/** What JSON.stringify leaves raw but a line-oriented reader must not see. */
const JSON_UNSAFE = /[\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
const JSON_UNSAFE_ALL = /[\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

function hex2(code: number): string {
  return code < 16 ? `0${code.toString(16)}` : code.toString(16);
}

function hex4(code: number): string {
  return code.toString(16).padStart(4, '0');
}

function escapeTextChar(ch: string): string {
  if (ch === '"') return '\\"';
  if (ch === '\\') return '\\\\';
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${hex2(code)}` : `\\u${hex4(code)}`;
}

function escapeJsonChar(ch: string): string {
  return `\\u${hex4(ch.charCodeAt(0))}`;
}

/**
 * Escapes a value for a double-quoted field of an Apache-style line
 * (request line, referrer, user agent). Empty or missing values become `-`.
 */
export function escapeQuoted(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return QUOTED_UNSAFE.test(value) ? value.replace(QUOTED_UNSAFE_ALL, escapeTextChar) : value;
}

/**
 * Escapes a value for an unquoted, space-delimited field (host, method):
 * additionally escapes the space and every other Unicode space (no-break,
 * ideographic, …), so the field can never split in two for a reader that
 * splits on whitespace.
 */
export function escapeBare(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return BARE_UNSAFE.test(value) ? value.replace(BARE_UNSAFE_ALL, escapeTextChar) : value;
}

/**
 * Serialises a value as one JSON line: JSON.stringify already escapes C0
 * controls, quotes, backslashes and lone surrogates; this also escapes DEL, C1
 * controls (U+0085), U+2028/U+2029, bidi overrides and the BOM.
 */
export function toJsonLine(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? 'null';
  } catch {
    // A cycle or a BigInt: not an event the contract allows. Say so rather than crash the logger.
    json = '{"privacy_log.unrenderable":true}';
  }
  return JSON_UNSAFE.test(json) ? json.replace(JSON_UNSAFE_ALL, escapeJsonChar) : json;
}
