/**
 * The `rest` part of an event block (see event-block.ts): everything an event
 * holds beyond its EventRow, so that the row plus `rest` rebuild the event
 * exactly. Binary, little-endian:
 *
 *   u8      version (1)
 *   varint  byte length L of the string dictionary
 *   L bytes UTF-8 JSON array of the distinct strings the records refer to
 *   n records, one per event in block order, each:
 *     varint  flags (bits below: which optional fields follow, and how; DOWNLOAD,
 *             COMPLETE_SET and COMPLETE — download.complete present, true — carry no data)
 *     varint  method code                       (codes index the dictionary)
 *     varint  path code                         if PATH (the row has no page)
 *     varint  query code, route code            if QUERY, ROUTE
 *     num     status, [bytes if BYTES]
 *     duration: varint durationMs × 1000, or f64 if DUR_F64
 *     varint  address code; num prefixLength; [num asn if ASN]
 *     varint  browserVersion code, osVersion code   if BROWSER_VER, OS_VER
 *     varint  referrer type code                if REFERRER, then its host code when
 *             the row's referrer is absent (type internal), then path code if REF_PATH
 *     varint  download contentType code         if DOWNLOAD and CONTENT_TYPE
 *     varint  consent analytics code, source code, [policyVersion code if POLICY]
 *     varint  time code                         if TIME (time ≠ ISO string of ts)
 *   where num is a varint, or an f64 when RAW_NUMBERS (a number that is not a
 *   non-negative safe integer). The part must end exactly after the n-th record.
 *
 * Fields the row holds (site, kind, page = pageview path, referrer host,
 * browser, os, device, bot, isp, domain, download file, session id) are not
 * repeated here.
 */
import type { PrivacyEvent } from '../../event.js';
import type { EventRow } from '../../stats/event-columns.js';

const REST_VERSION = 1;

const BYTES = 1 << 0;
const QUERY = 1 << 1;
const ROUTE = 1 << 2;
const REFERRER = 1 << 3;
const REF_PATH = 1 << 4;
const POLICY = 1 << 5;
const BROWSER_VER = 1 << 6;
const OS_VER = 1 << 7;
const ASN = 1 << 8;
const DOWNLOAD = 1 << 9;
const CONTENT_TYPE = 1 << 10;
const COMPLETE_SET = 1 << 11;
const COMPLETE = 1 << 12;
const PATH = 1 << 13;
const TIME = 1 << 14;
const RAW_NUMBERS = 1 << 15;
const DUR_F64 = 1 << 16;
const KNOWN_FLAGS = (1 << 17) - 1;

/** Longest record: flags, 12 string codes, 4 numbers, a duration — each at most 9 bytes. */
const MAX_RECORD = 24 * 9;

function isCount(v: number): boolean {
  return v >= 0 && Number.isSafeInteger(v) && !Object.is(v, -0);
}

/** Reused between blocks: records are written here, then copied out behind the dictionary. */
const KEEP_SCRATCH = 1 << 20;
let scratch = new Uint8Array(64 * 1024);
let scratchView = new DataView(scratch.buffer);

/** 'YYYY-MM-DDTHH:MM:' of the minute last asked for: events of a block share their minutes. */
let minuteStart = Number.NaN;
let minutePrefix = '';

function pad(v: number, width: number): string {
  return String(v).padStart(width, '0');
}

function setMinute(ts: number): number {
  const m = Math.floor(ts / 60_000) * 60_000;
  if (m !== minuteStart) {
    minuteStart = m;
    minutePrefix = new Date(m).toISOString().slice(0, -7);
  }
  return ts - m;
}

/** `new Date(ts).toISOString()`, with the minute's prefix computed once per minute. */
function isoOf(ts: number): string {
  const r = setMinute(ts);
  return `${minutePrefix}${pad(Math.floor(r / 1000), 2)}.${pad(r % 1000, 3)}Z`;
}

/** `time === isoOf(ts)`, without making the string: compared character by character. */
function isIsoOf(time: string, ts: number): boolean {
  const r = setMinute(ts);
  const p = minutePrefix.length;
  if (time.length !== p + 7 || !time.startsWith(minutePrefix)) return false;
  const s = Math.floor(r / 1000);
  const ms = r % 1000;
  return (
    time.charCodeAt(p) === 48 + Math.floor(s / 10) &&
    time.charCodeAt(p + 1) === 48 + (s % 10) &&
    time.charCodeAt(p + 2) === 0x2e &&
    time.charCodeAt(p + 3) === 48 + Math.floor(ms / 100) &&
    time.charCodeAt(p + 4) === 48 + (Math.floor(ms / 10) % 10) &&
    time.charCodeAt(p + 5) === 48 + (ms % 10) &&
    time.charCodeAt(p + 6) === 0x5a
  );
}

/** `rest` for events whose rows (eventRow) are given. */
export function encodeRest(rows: readonly EventRow[], events: readonly PrivacyEvent[]): Uint8Array {
  const n = events.length;
  let buf = scratch;
  let view = scratchView;
  if (buf.length < n * MAX_RECORD) {
    buf = new Uint8Array(n * MAX_RECORD);
    view = new DataView(buf.buffer);
    // Kept for the next blocks unless it is far beyond a write slice's needs.
    if (buf.length <= KEEP_SCRATCH) {
      scratch = buf;
      scratchView = view;
    }
  }
  let p = 0;
  const varint = (v: number) => {
    p = writeVarint(buf, p, v);
  };
  const f64 = (v: number) => {
    view.setFloat64(p, v, true);
    p += 8;
  };
  const strings: string[] = [];
  const codes = new Map<string, number>();
  const code = (s: string): number => {
    let k = codes.get(s);
    if (k === undefined) {
      k = strings.length;
      strings.push(s);
      codes.set(s, k);
    }
    return k;
  };
  // The fields nearly every event of a block shares: one comparison instead of a map lookup.
  let lastMethod: string | undefined;
  let methodCode = 0;
  let lastAddress: string | undefined;
  let addressCode = 0;
  let lastAnalytics: string | undefined;
  let lastSource: string | undefined;
  let lastPolicy: string | undefined;
  let analyticsCode = 0;
  let sourceCode = 0;
  let policyCode = 0;
  let lastType: string | undefined;
  let typeCode = 0;

  for (let i = 0; i < n; i++) {
    const e = events[i] as PrivacyEvent;
    const r = rows[i] as EventRow;
    const q = e.request;
    const rs = e.response;
    const c = e.client;
    const a = e.agent;
    const f = e.referrer;
    const d = e.download;
    const k = e.consent;
    let flags = 0;
    if (rs.bytes !== undefined) flags |= BYTES;
    if (q.query !== undefined) flags |= QUERY;
    if (q.route !== undefined) flags |= ROUTE;
    if (f !== undefined) {
      flags |= REFERRER;
      if (f.path !== undefined) flags |= REF_PATH;
    }
    if (k.policyVersion !== undefined) flags |= POLICY;
    if (a.browserVersion !== undefined) flags |= BROWSER_VER;
    if (a.osVersion !== undefined) flags |= OS_VER;
    if (c.asn !== undefined) flags |= ASN;
    if (d !== undefined) {
      flags |= DOWNLOAD;
      if (d.contentType !== undefined) flags |= CONTENT_TYPE;
      if (d.complete !== undefined) flags |= d.complete ? COMPLETE_SET | COMPLETE : COMPLETE_SET;
    }
    if (r.page === undefined) flags |= PATH;
    if (!isIsoOf(e.time, r.ts)) flags |= TIME;
    if (
      !isCount(rs.status) ||
      !isCount(c.prefixLength) ||
      (rs.bytes !== undefined && !isCount(rs.bytes)) ||
      (c.asn !== undefined && !isCount(c.asn))
    )
      flags |= RAW_NUMBERS;
    const micros = Math.round(rs.durationMs * 1000);
    if (!(micros / 1000 === rs.durationMs && isCount(micros))) flags |= DUR_F64;
    const raw = (flags & RAW_NUMBERS) !== 0;

    varint(flags);
    if (q.method !== lastMethod) {
      lastMethod = q.method;
      methodCode = code(q.method);
    }
    varint(methodCode);
    if (flags & PATH) varint(code(q.path));
    if (flags & QUERY) varint(code(q.query as string));
    if (flags & ROUTE) varint(code(q.route as string));
    if (raw) f64(rs.status);
    else varint(rs.status);
    if (flags & BYTES) {
      if (raw) f64(rs.bytes as number);
      else varint(rs.bytes as number);
    }
    if (flags & DUR_F64) f64(rs.durationMs);
    else varint(micros);
    if (c.address !== lastAddress) {
      lastAddress = c.address;
      addressCode = code(c.address);
    }
    varint(addressCode);
    if (raw) f64(c.prefixLength);
    else varint(c.prefixLength);
    if (flags & ASN) {
      if (raw) f64(c.asn as number);
      else varint(c.asn as number);
    }
    if (flags & BROWSER_VER) varint(code(a.browserVersion as string));
    if (flags & OS_VER) varint(code(a.osVersion as string));
    if (f !== undefined) {
      if (f.type !== lastType) {
        lastType = f.type;
        typeCode = code(f.type);
      }
      varint(typeCode);
      if (r.referrer === undefined) varint(code(f.host));
      if (flags & REF_PATH) varint(code(f.path as string));
    }
    if (flags & CONTENT_TYPE) varint(code((d as NonNullable<typeof d>).contentType as string));
    if (k.analytics !== lastAnalytics) {
      lastAnalytics = k.analytics;
      analyticsCode = code(k.analytics);
    }
    if (k.source !== lastSource) {
      lastSource = k.source;
      sourceCode = code(k.source);
    }
    varint(analyticsCode);
    varint(sourceCode);
    if (flags & POLICY) {
      if (k.policyVersion !== lastPolicy) {
        lastPolicy = k.policyVersion;
        policyCode = code(k.policyVersion as string);
      }
      varint(policyCode);
    }
    if (flags & TIME) varint(code(e.time));
  }

  const json = Buffer.from(JSON.stringify(strings), 'utf8');
  let lenBytes = 1;
  for (let v = json.length; v > 0x7f; v >>>= 7) lenBytes++;
  const out = Buffer.allocUnsafe(1 + lenBytes + json.length + p);
  out[0] = REST_VERSION;
  const o = writeVarint(out, 1, json.length);
  out.set(json, o);
  out.set(buf.subarray(0, p), o + json.length);
  return out;
}

/** Write `v` (a non-negative integer up to 2^53) as a little-endian base-128 varint at `at`; returns where it ends. */
function writeVarint(buf: Uint8Array, at: number, v: number): number {
  let p = at;
  while (v > 0x7fffffff) {
    buf[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

function corrupt(what: string): Error {
  return new Error(`event block: the rest part is corrupt or truncated (${what}); the block cannot be read`);
}

/** The events of a block from its rows (decoded from cols) and its `rest`. */
export function decodeRest(rest: Uint8Array, rows: readonly EventRow[]): PrivacyEvent[] {
  const end = rest.length;
  if (end < 2) throw corrupt(`${end} bytes`);
  if (rest[0] !== REST_VERSION)
    throw new Error(`event block: unknown rest format version ${rest[0]} (this build reads version ${REST_VERSION})`);
  const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
  let p = 1;
  const varint = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (p >= end) throw corrupt('a number runs past the end');
      const b = rest[p++] as number;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
      if (scale > 2 ** 56) throw corrupt('a number is too long');
    }
  };
  const f64 = (): number => {
    if (p + 8 > end) throw corrupt('a number runs past the end');
    const v = view.getFloat64(p, true);
    p += 8;
    return v;
  };
  const jsonLength = varint();
  if (p + jsonLength > end) throw corrupt('the dictionary runs past the end');
  let strings: unknown;
  try {
    strings = JSON.parse(Buffer.from(rest.buffer, rest.byteOffset + p, jsonLength).toString('utf8'));
  } catch (err) {
    throw corrupt(`the dictionary is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(strings) || !strings.every((s) => typeof s === 'string'))
    throw corrupt('the dictionary is not an array of strings');
  const dict = strings as string[];
  p += jsonLength;
  const str = (): string => {
    const k = varint();
    if (k >= dict.length) throw corrupt(`string code ${k} of ${dict.length}`);
    return dict[k] as string;
  };

  const out: PrivacyEvent[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as EventRow;
    const flags = varint();
    if (flags & ~KNOWN_FLAGS) throw corrupt(`unknown flags ${flags.toString(16)}`);
    const raw = (flags & RAW_NUMBERS) !== 0;
    const num = raw ? f64 : varint;
    const request: PrivacyEvent['request'] = { method: str(), path: '' };
    if (flags & PATH) request.path = str();
    else request.path = r.page as string;
    if (flags & QUERY) request.query = str();
    if (flags & ROUTE) request.route = str();
    const status = num();
    const response: PrivacyEvent['response'] =
      flags & BYTES ? { status, bytes: num(), durationMs: 0 } : { status, durationMs: 0 };
    response.durationMs = flags & DUR_F64 ? f64() : varint() / 1000;
    const client: PrivacyEvent['client'] = { address: str(), prefixLength: num() };
    if (r.isp !== undefined) client.isp = r.isp;
    if (flags & ASN) client.asn = num();
    if (r.domain !== undefined) client.domain = r.domain;
    const agent = {} as PrivacyEvent['agent'];
    if (r.browser !== undefined) agent.browser = r.browser;
    if (flags & BROWSER_VER) agent.browserVersion = str();
    if (r.os !== undefined) agent.os = r.os;
    if (flags & OS_VER) agent.osVersion = str();
    agent.device = r.device as PrivacyEvent['agent']['device'];
    agent.bot = r.bot;
    let referrer: PrivacyEvent['referrer'];
    if (flags & REFERRER) {
      const type = str() as NonNullable<PrivacyEvent['referrer']>['type'];
      const host = r.referrer === undefined ? str() : r.referrer;
      referrer = flags & REF_PATH ? { host, path: str(), type } : { host, type };
    }
    let download: PrivacyEvent['download'];
    if (flags & DOWNLOAD) {
      download = { file: r.download as string } as NonNullable<PrivacyEvent['download']>;
      if (flags & CONTENT_TYPE) download.contentType = str();
      if (flags & COMPLETE_SET) download.complete = (flags & COMPLETE) !== 0;
    }
    const consent = { analytics: str(), source: str() } as PrivacyEvent['consent'];
    if (flags & POLICY) consent.policyVersion = str();
    const time = flags & TIME ? str() : isoOf(r.ts);
    const e = {
      id: r.id,
      time,
      site: r.site,
      kind: r.kind as PrivacyEvent['kind'],
      request,
      response,
      client,
      agent,
    } as PrivacyEvent;
    if (referrer !== undefined) e.referrer = referrer;
    if (download !== undefined) e.download = download;
    e.consent = consent;
    if (r.sessionId !== undefined) e.session = { id: r.sessionId };
    out[i] = e;
  }
  if (p !== end) throw corrupt(`${end - p} bytes left after the last event`);
  return out;
}
