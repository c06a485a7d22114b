/**
 * Micro-benchmark of two hot-path steps: consent.resolve() on typical Cookie
 * headers, and the unique-visitor mark (daily-salted SipHash-2-4 of
 * address|User-Agent|site). The mark is printed beside the node:crypto
 * alternatives it was chosen over, measured in the same run on the same input.
 *
 *   npx tsx bench/consent-visitor.ts [iterations=500000]
 *
 * Figures are ns per operation: the median of 7 rounds after a warm-up.
 */
import { createHash, createHmac, hash } from 'node:crypto';
import { createVisitorHasher } from '../src/capture/visitor-hash.js';
import { encodeConsentCookie } from '../src/consent/cookie-codec.js';
import { createConsent } from '../src/consent/index.js';

const N = Number(process.argv[2] ?? 500_000);
const ROUNDS = 7;
let sink = 0;

function measure(label: string, op: (i: number) => number): number {
  for (let i = 0; i < Math.min(N, 100_000); i++) sink ^= op(i);
  const results: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink ^= op(i);
    results.push(Number(process.hrtime.bigint() - start) / N);
  }
  results.sort((a, b) => a - b);
  const median = results[ROUNDS >> 1] as number;
  console.log(`${label.padEnd(58)} ${median.toFixed(0).padStart(6)} ns/op`);
  return median;
}

const consent = createConsent();
const today = Math.floor(Date.now() / 86_400_000);
const granted = `privacy_consent=${encodeConsentCookie({ policyVersion: '1', analytics: true, day: today - 40 })}`;
const denied = `privacy_consent=${encodeConsentCookie({ policyVersion: '1', analytics: false, day: today - 3 })}`;
const session = `privacy_session=${consent.newSessionId()}`;
const ga = '_ga=GA1.1.1234567890.1700000000; _ga_ABC123=GS1.1.1700000000.1.1.1700000100.0.0.0';
const headers = {
  none: undefined,
  unrelated: `${ga}; theme=dark; lang=ru`,
  grantedSession: `${ga}; ${granted}; ${session}; lang=ru`,
  denied: `lang=ru; ${denied}`,
  big: `${ga}; blob=${'x'.repeat(4000)}; ${granted}; ${session}`,
};

console.log(`node ${process.version}, ${N} iterations × ${ROUNDS} rounds\n`);
console.log('consent.resolve(cookie, secGpc, dnt)');
measure('  no Cookie header', () => (consent.resolve(headers.none, undefined, undefined).askAgain ? 1 : 0));
measure('  Sec-GPC: 1, no cookie', () => (consent.resolve(headers.none, '1', undefined).askAgain ? 1 : 0));
measure('  analytics cookies of another tool, no choice', () =>
  consent.resolve(headers.unrelated, undefined, undefined).askAgain ? 1 : 0,
);
measure(
  '  granted choice + session (typical consenting visitor)',
  () => consent.resolve(headers.grantedSession, undefined, undefined).sessionId?.length ?? 0,
);
const requestTime = Date.now();
measure(
  '  … the same, given the request time (no clock read)',
  () => consent.resolve(headers.grantedSession, undefined, undefined, requestTime).sessionId?.length ?? 0,
);
measure('  denied choice', () => (consent.resolve(headers.denied, undefined, '1').askAgain ? 1 : 0));
measure(
  '  4 KiB Cookie header, granted + session',
  () => consent.resolve(headers.big, undefined, undefined).sessionId?.length ?? 0,
);

const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51';
const UA150 = UA.padEnd(150, ' ').slice(0, 150);
const addresses = Array.from({ length: 1024 }, (_, i) => `203.0.${i >> 8}.${i & 255}`);
const v6 = Array.from({ length: 1024 }, (_, i) => `2001:db8:${i.toString(16)}:1::${(i * 7).toString(16)}`);
const hasher = createVisitorHasher();
const now = Date.now();
const salt = '00112233445566778899aabbccddeeff';
const saltKey = Buffer.from(salt, 'hex');

console.log(`\nvisitor mark of address|UA|site (${UA150.length}-char UA)`);
const sip = measure('  mark(): SipHash-2-4 in JS, IPv4 (the implementation)', (i) =>
  hasher.mark(addresses[i & 1023] as string, UA150, 'oblachko', now),
);
measure('  mark(): SipHash-2-4 in JS, IPv6', (i) => hasher.mark(v6[i & 1023] as string, UA150, 'oblachko', now));
measure('  alternative: crypto.hash(sha1, salt|address|UA|site)', (i) =>
  (hash('sha1', `${salt}|${addresses[i & 1023]}|${UA150}|oblachko`, 'buffer') as unknown as Buffer).readInt32BE(0),
);
measure('  alternative: crypto.hash(sha256, salt|address|UA|site)', (i) =>
  (hash('sha256', `${salt}|${addresses[i & 1023]}|${UA150}|oblachko`, 'buffer') as unknown as Buffer).readInt32BE(0),
);
measure('  alternative: createHash(sha256).update(…).digest()', (i) =>
  createHash('sha256')
    .update(salt)
    .update(addresses[i & 1023] as string)
    .update(UA150)
    .update('oblachko')
    .digest()
    .readInt32BE(0),
);
measure('  alternative: createHmac(sha256, salt).update(…).digest()', (i) =>
  createHmac('sha256', saltKey)
    .update(addresses[i & 1023] as string)
    .update(UA150)
    .update('oblachko')
    .digest()
    .readInt32BE(0),
);
hasher.close();
console.log(`\nmark() target: 500 ns/op; measured ${sip.toFixed(0)} ns/op (checksum ${sink & 0xff})`);
