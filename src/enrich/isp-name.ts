/**
 * The organization name an event carries: as the data gives it, with C0/C1
 * control characters turned into spaces (names reach text logs), trimmed, and
 * `AS<number>` when there is no name.
 */

/** Longest name kept; longer ones are cut (no real operator name comes close). */
export const MAX_ISP_NAME_LENGTH = 200;

function isControl(c: number): boolean {
  return c < 32 || (c >= 127 && c < 160) || c === 0x2028 || c === 0x2029;
}

export function ispName(raw: unknown, asn: number): string {
  let s = typeof raw === 'string' ? raw : '';
  for (let i = 0; i < s.length; i++) {
    if (isControl(s.charCodeAt(i))) {
      let out = '';
      for (let k = 0; k < s.length; k++) out += isControl(s.charCodeAt(k)) ? ' ' : s[k];
      s = out;
      break;
    }
  }
  s = s.trim();
  if (s.length > MAX_ISP_NAME_LENGTH) s = s.slice(0, MAX_ISP_NAME_LENGTH).trimEnd();
  return s === '' ? `AS${asn}` : s;
}
