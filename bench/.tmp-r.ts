import { encodeConsentCookie } from '../src/consent/cookie-codec.js';
import { findCookie } from '../src/consent/cookie-header.js';
import { createConsent } from '../src/consent/index.js';
import { isSessionId } from '../src/consent/session-id.js';

const consent = createConsent();
const today = Math.floor(Date.now() / 86_400_000);
const granted = `privacy_consent=${encodeConsentCookie({ policyVersion: '1', analytics: true, day: today - 40 })}`;
const sid = consent.newSessionId();
const h = `_ga=GA1.1.1234567890.1700000000; _ga_ABC123=GS1.1.1700000000.1.1.1700000100.0.0.0; ${granted}; privacy_session=${sid}; lang=ru`;
let sink = 0;
function m(label: string, f: () => number) {
  for (let i = 0; i < 200000; i++) sink ^= f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < 1000000; i++) sink ^= f();
  console.log(label.padEnd(20), (Number(process.hrtime.bigint() - t) / 1e6).toFixed(0), 'ns');
}
for (let r = 0; r < 2; r++) {
  m('resolve granted', () => consent.resolve(h, undefined, undefined).sessionId!.length);
  m('findCookie session', () => (findCookie(h, 'privacy_session=') as string).length);
  m('isSessionId', () => (isSessionId(sid) ? 1 : 0));
  m('sessionIdFrom', () => consent.sessionIdFrom(h)!.length);
}
