import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apacheTime,
  renderCombined,
  renderCommon,
  renderJson,
  renderOtel,
  UNKNOWN_ADDRESS_TEXT,
} from '../../../src/access-log/formats.js';
import { reducedUserAgent } from '../../../src/access-log/reduced-user-agent.js';
import { type PrivacyEvent, toOtelAttributes } from '../../../src/event.js';
import { anyEvent, FORBIDDEN_IN_LOG, makeEvent } from './fixtures.js';

/** Apache combined: host, ident, user, [time], "request", status, bytes, "referrer", "agent" — quoted fields honour \" escapes. */
const COMBINED_RE =
  /^(\S+) - - \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "(\S+) (\S+) HTTP\/1\.1" (\d{1,3}|-) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;
const COMMON_RE =
  /^(\S+) - - \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "(\S+) (\S+) HTTP\/1\.1" (\d{1,3}|-) (\d+|-)$/;

describe('combined and common', () => {
  it('renders the Apache combined line with the truncated address and the reduced agent', () => {
    const e = makeEvent({ referrer: { host: 'example.org', path: '/a', type: 'internal' } });
    expect(renderCombined(e)).toBe(
      '203.0.113.0 - - [24/Nov/2026:15:34:44 +0000] "GET /news/2026?utm_source=newsletter HTTP/1.1" 200 5120 "example.org/a" "Mozilla/5.0 (Windows) Firefox/120"',
    );
  });

  it('renders the common line without referrer and agent, bytes 0 or absent as -', () => {
    const e = makeEvent({ response: { status: 304, durationMs: 1 }, request: { method: 'HEAD', path: '/' } });
    expect(renderCommon(e)).toBe('203.0.113.0 - - [24/Nov/2026:15:34:44 +0000] "HEAD / HTTP/1.1" 304 -');
    expect(renderCommon(makeEvent({ response: { status: 200, bytes: 0, durationMs: 1 } }))).toMatch(/ 200 -$/);
  });

  it('prints an unknown address as the unspecified address and a missing referrer as -', () => {
    const e = makeEvent({ client: { address: 'unknown', prefixLength: 0 }, referrer: undefined });
    const line = renderCombined(e);
    expect(line.startsWith(`${UNKNOWN_ADDRESS_TEXT} `)).toBe(true);
    expect(line).toContain('"-" "Mozilla');
  });

  it('keeps an IPv6 prefix as one field', () => {
    const e = makeEvent({ client: { address: '2001:db8:abcd::', prefixLength: 48 } });
    expect(COMBINED_RE.exec(renderCombined(e))?.[1]).toBe('2001:db8:abcd::');
  });

  it('percent-encodes spaces and escapes quotes in the request target', () => {
    const e = makeEvent({ request: { method: 'GET', path: '/a b"c' } });
    expect(renderCommon(e)).toContain('"GET /a%20b\\"c HTTP/1.1"');
  });

  it('escapes every Unicode space in the method and percent-encodes it in the target (no field can split)', () => {
    // Found by the property below (fast-check seed 546939775): an ideographic space as the method.
    const e = makeEvent({ request: { method: '\u3000', path: '/a\u00a0b\u3000c\u2009d' } });
    const line = renderCombined(e);
    expect(line).toMatch(COMBINED_RE);
    expect(line).toContain('"\\u3000 /a%C2%A0b%E3%80%80c%E2%80%89d HTTP/1.1"');
    expect(renderCommon(makeEvent({ request: { method: 'G\u00a0T', path: '/' } }))).toContain('"G\\xa0T / HTTP/1.1"');
  });

  it('does not throw on a half-formed event', () => {
    const broken = { id: 'x', time: 'not a time' } as unknown as PrivacyEvent;
    expect(renderCombined(broken)).toBe('0.0.0.0 - - [01/Jan/1970:00:00:00 +0000] "- / HTTP/1.1" - - "-" "-"');
    expect(JSON.parse(renderOtel(broken))).toMatchObject({ time: 'not a time' });
  });

  it('formats time as Apache %t in UTC', () => {
    expect(apacheTime('2026-01-02T03:04:05.006Z')).toBe('02/Jan/2026:03:04:05 +0000');
    expect(apacheTime('2026-12-31T23:59:59.999Z')).toBe('31/Dec/2026:23:59:59 +0000');
  });

  it('property: every text line is one well-formed line with no control or separator character', () => {
    fc.assert(
      fc.property(anyEvent, (e) => {
        const combined = renderCombined(e);
        const common = renderCommon(e);
        expect(combined).not.toMatch(FORBIDDEN_IN_LOG);
        expect(common).not.toMatch(FORBIDDEN_IN_LOG);
        expect(combined).toMatch(COMBINED_RE);
        expect(common).toMatch(COMMON_RE);
        expect(combined.startsWith(common)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe('json and otel', () => {
  it('json is the event itself', () => {
    const e = makeEvent();
    expect(JSON.parse(renderJson(e))).toEqual(e);
  });

  it('otel is the flat attribute map with the time', () => {
    const e = makeEvent({ session: { id: 'abc' }, consent: { analytics: 'granted', source: 'choice' } });
    expect(JSON.parse(renderOtel(e))).toEqual({ time: e.time, ...toOtelAttributes(e) });
  });

  it('property: every json and otel line parses, round-trips and holds no forbidden character', () => {
    fc.assert(
      fc.property(anyEvent, (e) => {
        const json = renderJson(e);
        const otel = renderOtel(e);
        expect(json).not.toMatch(FORBIDDEN_IN_LOG);
        expect(otel).not.toMatch(FORBIDDEN_IN_LOG);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(e)));
        expect(JSON.parse(otel)).toEqual({ time: e.time, ...toOtelAttributes(e) });
      }),
      { numRuns: 300 },
    );
  });
});

describe('reducedUserAgent', () => {
  it('rebuilds a short agent from the event fields only', () => {
    expect(
      reducedUserAgent({ browser: 'Firefox', browserVersion: '120', os: 'Windows', device: 'desktop', bot: false }),
    ).toBe('Mozilla/5.0 (Windows) Firefox/120');
    expect(
      reducedUserAgent({ browser: 'Chrome', browserVersion: '131', os: 'Android', device: 'mobile', bot: false }),
    ).toBe('Mozilla/5.0 (Android; Mobile) Chrome/131');
    expect(reducedUserAgent({ browser: 'Safari', os: 'iOS', device: 'tablet', bot: false })).toBe(
      'Mozilla/5.0 (iOS; Tablet) Safari',
    );
    expect(reducedUserAgent({ browser: 'Googlebot', device: 'bot', bot: true })).toBe(
      'Mozilla/5.0 (compatible; Googlebot)',
    );
    expect(reducedUserAgent({ device: 'bot', bot: true })).toBe('Mozilla/5.0 (compatible; bot)');
    expect(reducedUserAgent({ browser: 'curl', browserVersion: '8', device: 'other', bot: false })).toBe(
      'Mozilla/5.0 curl/8',
    );
    expect(reducedUserAgent({ device: 'other', bot: false })).toBe('-');
    expect(reducedUserAgent(undefined)).toBe('-');
  });
});
