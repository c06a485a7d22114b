/**
 * A minimal valid PrivacyEvent for checking one parser's output against
 * validateEvent: the tests put the output into its field and validate the whole.
 */
import fc from 'fast-check';
import { type PrivacyEvent, validateEvent } from '../../../src/event.js';

export function baseEvent(): PrivacyEvent {
  return {
    id: '01890a5d-ac96-774b-bcce-b302099a8057',
    time: '2026-11-24T12:00:00.000Z',
    site: 'oblachko',
    kind: 'pageview',
    request: { method: 'GET', path: '/' },
    response: { status: 200, durationMs: 1 },
    client: { address: '203.0.113.0', prefixLength: 24 },
    agent: { device: 'desktop', bot: false },
    consent: { analytics: 'unset', source: 'default' },
  };
}

/** validateEvent's verdict on the base event with `patch` applied. */
export function validateWith(patch: (e: PrivacyEvent) => void): string | undefined {
  const e = baseEvent();
  patch(e);
  // A JSON round trip: the stored form, and frozen parser results become plain objects.
  return validateEvent(JSON.parse(JSON.stringify(e)));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point of this pattern is to find them
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A 16 KiB-plus string of any code points: a short random piece repeated (cheap to generate). */
export const big16k: fc.Arbitrary<string> = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 64 })
  .map((s) => s.repeat(Math.ceil(16_384 / s.length) + 1));
