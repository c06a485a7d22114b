/**
 * Rebuilds validated events and sketch updates from the contract's fields only.
 * validateEvent checks the fields the contract names and ignores the rest, so a
 * sender (a misconfigured or older app server) could attach anything else — a
 * full address, a raw User-Agent. The collector stores only what the contract
 * allows: unknown fields are dropped here, before any aggregator sees them.
 */
import type { SketchUpdate } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';

type Loose = Record<string, unknown>;

/** Copies the listed keys that are present (not undefined). */
function pick<T>(from: Loose, keys: readonly string[]): T {
  const out: Loose = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out as T;
}

/** A validated event (validateEvent returned undefined), reduced to the contract's fields. */
export function canonicalEvent(valid: PrivacyEvent): PrivacyEvent {
  const e = valid as unknown as Loose;
  const out: Loose = {
    id: e.id,
    time: e.time,
    site: e.site,
    kind: e.kind,
    request: pick(e.request as Loose, ['method', 'path', 'query', 'route']),
    response: pick(e.response as Loose, ['status', 'bytes', 'durationMs']),
    client: pick(e.client as Loose, ['address', 'prefixLength', 'isp', 'asn', 'domain']),
    agent: pick(e.agent as Loose, ['browser', 'browserVersion', 'os', 'osVersion', 'device', 'bot']),
  };
  if (e.referrer !== undefined) out.referrer = pick(e.referrer as Loose, ['host', 'path', 'type']);
  if (e.download !== undefined) out.download = pick(e.download as Loose, ['file', 'contentType', 'complete']);
  out.consent = pick(e.consent as Loose, ['analytics', 'source', 'policyVersion']);
  if (e.session !== undefined) out.session = pick(e.session as Loose, ['id']);
  return out as unknown as PrivacyEvent;
}

/** A validated sketch update, reduced to its fields, registers copied as plain pairs. */
export function canonicalSketch(valid: SketchUpdate): SketchUpdate {
  return {
    day: valid.day,
    site: valid.site,
    dimension: valid.dimension,
    value: valid.value,
    registers: valid.registers.map(([i, r]) => [i, r] as const),
  };
}
