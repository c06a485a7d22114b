/**
 * The capture step (DESIGN §2): request facts in, an anonymized PrivacyEvent out.
 *
 * This is the only place where the full client address and the raw User-Agent
 * exist. They are reduced here — truncated address, parsed agent, keyed-hash
 * visitor mark, ISP by routable prefix, reverse DNS started under a keyed-hash
 * cache — and go out of scope when `record()` returns.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ConsentState } from '../consent/consent.js';
import type { Enricher, EnrichLookup } from '../enrich/enricher.js';
import type { EventKind, PrivacyEvent } from '../event.js';
import { CapturedHeaders, type HeaderRecord, readHeaderRecord } from '../http/request-headers.js';
import type { ClientEnrichment } from '../pipeline/types.js';
import { createAddressTruncator, type IpOptions, parseClientAddressInto } from './anonymize-ip.js';
import { type CompiledTrust, resolveClientAddress } from './client-ip.js';
import { createDownloadDetector } from './download.js';
import { createHashedCache } from './hashed-cache.js';
import { createKindClassifier } from './kind.js';
import { createReferrerReducer } from './referrer.js';
import { createUrlReducer, forgetLastMatch } from './url.js';
import { createUserAgentParser } from './user-agent.js';
import { uuidv7 } from './uuid7.js';
import type { VisitorHasher } from './visitor-hash.js';

/** What an adapter knows about a request. Framework-free. */
export interface RequestFacts {
  method: string;
  /** The raw request-target: path and query. */
  url: string;
  /**
   * The request's headers: the record the core reads in one pass over
   * `req.rawHeaders` (see src/http/request-headers.ts), or a plain header object.
   */
  headers: CapturedHeaders | IncomingHttpHeaders;
  socketAddress: string | undefined;
  /**
   * The client address as resolved behind trusted proxies (the raw entry), when
   * the caller has resolved it already; otherwise capture resolves it from
   * `socketAddress` and X-Forwarded-For.
   */
  clientAddress?: string | undefined;
  /** Wall-clock start, ms since the epoch. */
  startMs: number;
}

/** What an adapter knows about the response once it has ended or been aborted. */
export interface ResponseFacts {
  status: number;
  contentLength?: number;
  contentType?: string;
  contentDisposition?: string;
  /** True when every byte was handed to the OS; false when the client went away first. */
  finished: boolean;
  durationMs: number;
  /** The matched route pattern ('/news/:id'), never the concrete path. */
  route?: string;
}

/** The precomputed parts of the capture step. */
export interface CaptureParts {
  site: string | undefined;
  trust: CompiledTrust;
  ip: IpOptions;
  queryAllowList: readonly string[] | undefined;
  downloadExtensions: readonly string[] | undefined;
  /** Static-asset extensions for the `asset` kind (see kind.ts); default DEFAULT_ASSET_EXTENSIONS. */
  assetExtensions?: readonly string[] | undefined;
  /** API path prefixes for the `api` kind; default DEFAULT_API_PREFIXES. */
  apiPrefixes?: readonly string[] | undefined;
  /** Referrer hosts of type `search` (see referrer.ts); default DEFAULT_SEARCH_HOSTS. */
  searchHosts?: readonly string[] | undefined;
  /** Referrer hosts of type `social`; default DEFAULT_SOCIAL_HOSTS. */
  socialHosts?: readonly string[] | undefined;
  kinds: ReadonlySet<EventKind>;
  ignore: ((path: string) => boolean) | undefined;
  hasher: VisitorHasher;
  enricher: Enricher | undefined;
}

/** One captured request: the event, and what travels beside it (never on it). */
export interface Captured {
  event: PrivacyEvent;
  /** Packed HyperLogLog mark for unique-visitor sketches. */
  visitor: number | undefined;
  /** Pending reverse-DNS result, completed by the pipeline before delivery. */
  enrichment: Promise<ClientEnrichment> | undefined;
}

export interface Capture {
  /**
   * Reduce one request. Returns undefined when the request is ignored or its
   * kind is not forwarded. Never throws.
   */
  record(req: RequestFacts, res: ResponseFacts, consent: ConsentState): Captured | undefined;
}

const HOST_RE = /^[a-z0-9.-]{1,253}$/;
const MAX_UA = 512;

/** The parsed client address: 8 groups of 16 bits, zeroed as soon as capture has used them. */
const CLIENT = new Uint16Array(8);

/** The Host header's hostname, lowercased, without port; 'unknown' when it is not a hostname. */
export function siteFromHost(host: string | undefined): string {
  if (!host) return 'unknown';
  let h = host.length > 300 ? host.slice(0, 300) : host;
  if (h.startsWith('[')) return 'unknown'; // an IPv6 literal is an address, not a site name
  const colon = h.indexOf(':');
  if (colon !== -1) h = h.slice(0, colon);
  h = h.toLowerCase();
  return HOST_RE.test(h) ? h : 'unknown';
}

/** Kinds that count a visitor (the unique-visitor sketches). */
const VISITOR_KINDS: ReadonlySet<EventKind> = new Set(['pageview', 'download']);

/** Reduced URLs and referrers kept by hash (see hashed-cache.ts): a revisited page costs one hash. */
const REDUCTION_CACHE_SIZE = 2000;
/** Largest epoch ms whose ISO form has a 4-digit year (9999-12-31T23:59:59.999Z). */
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999;

/** One cached URL reduction, with what the download and kind checks can reuse for it. */
interface ReducedUrl {
  readonly path: string;
  readonly query: string | undefined;
  /** The path could be a download (its extension is a download extension); without it only Content-Disposition can make one. */
  readonly mayDownload: boolean;
  /** The last classification of a non-download response for this URL, and what it depended on. */
  kindMethod: string;
  kindStatus: number;
  kindType: string | undefined;
  kind: EventKind | undefined;
  /**
   * The last request part made for this URL (frozen, shared by the events that
   * have the same method and route, so validateEvent checks it once), and what
   * it was made for.
   */
  requestMethod: string;
  requestRoute: string | undefined;
  requestPart: PrivacyEvent['request'] | undefined;
}

/** A frozen request part; absent fields stay absent. */
function requestPart(method: string, path: string, query: string | undefined, route: string | undefined) {
  const part: PrivacyEvent['request'] =
    query === undefined
      ? route === undefined
        ? { method, path }
        : { method, path, route }
      : route === undefined
        ? { method, path, query }
        : { method, path, query, route };
  return Object.freeze(part);
}

/** Slot of a consent value and source (0-2 × 4 + 0-3), or -1 for a value outside the contract. */
function consentSlot(analytics: string, source: string): number {
  const a = analytics === 'granted' ? 0 : analytics === 'denied' ? 1 : analytics === 'unset' ? 2 : -1;
  const s = source === 'choice' ? 0 : source === 'gpc' ? 1 : source === 'dnt' ? 2 : source === 'default' ? 3 : -1;
  return a < 0 || s < 0 ? -1 : a * 4 + s;
}

/**
 * The event's consent part, one frozen object per (analytics, source) of the
 * policy version seen last: events share it, and validateEvent checks a shared
 * frozen part once instead of once per event.
 */
function createConsentParts(): (c: ConsentState) => PrivacyEvent['consent'] {
  const slots: Array<PrivacyEvent['consent'] | undefined> = new Array(12).fill(undefined);
  let version: string | undefined;
  return (c) => {
    const i = consentSlot(c.analytics, c.source);
    if (i < 0) return { analytics: c.analytics, source: c.source, policyVersion: c.policyVersion };
    if (c.policyVersion !== version) {
      slots.fill(undefined);
      version = c.policyVersion;
    }
    let part = slots[i];
    if (part === undefined) {
      part = Object.freeze({ analytics: c.analytics, source: c.source, policyVersion: c.policyVersion });
      slots[i] = part;
    }
    return part;
  };
}

/** '.mmmZ' endings, made on first use: an ISO time is then one join of two flat strings. */
const MILLIS_Z: Array<string | undefined> = new Array(1000).fill(undefined);

function millisZ(rest: number): string {
  let z = MILLIS_Z[rest];
  if (z === undefined) {
    z = `${rest < 10 ? '00' : rest < 100 ? '0' : ''}${rest}Z`;
    MILLIS_Z[rest] = z;
  }
  return z;
}

/**
 * `new Date(ms).toISOString()`, with the part up to the second computed once
 * per second, and the whole string once per millisecond: the requests of one
 * millisecond share it (and validateEvent then checks it by identity).
 */
function createIsoTime(): (ms: number) => string {
  let second = Number.NaN;
  let prefix = '';
  let lastMs = Number.NaN;
  let last = '';
  return (ms) => {
    if (ms === lastMs) return last;
    if (!(ms >= 0 && ms <= MAX_FOUR_DIGIT_YEAR_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
    const rest = ms % 1000;
    const s = ms - rest;
    if (s !== second) {
      prefix = new Date(s).toISOString().slice(0, 20); // 'YYYY-MM-DDTHH:MM:SS.'
      second = s;
    }
    last = prefix + millisZ(rest);
    lastMs = ms;
    return last;
  };
}

/**
 * Build the capture step from precomputed parts (see `resolvePrivacyLogOptions`).
 *
 * @example
 * const capture = createCapture(parts);
 * const captured = capture.record(requestFacts, responseFacts, consentState);
 * if (captured) pipeline.push(captured.event, captured.visitor, captured.enrichment);
 */
export function createCapture(parts: CaptureParts): Capture {
  const truncate = createAddressTruncator(parts.ip);
  const parseAgent = createUserAgentParser();
  const reduceUrl = createUrlReducer(parts.queryAllowList ? { queryAllowList: parts.queryAllowList } : {});
  const reduceReferrer = createReferrerReducer({
    ...(parts.searchHosts ? { searchHosts: parts.searchHosts } : {}),
    ...(parts.socialHosts ? { socialHosts: parts.socialHosts } : {}),
  });
  const detectDownload = createDownloadDetector(
    parts.downloadExtensions ? { downloadExtensions: parts.downloadExtensions } : {},
  );
  const classify = createKindClassifier({
    ...(parts.assetExtensions ? { assetExtensions: parts.assetExtensions } : {}),
    ...(parts.apiPrefixes ? { apiPrefixes: parts.apiPrefixes } : {}),
  });
  const { trust, kinds, ignore, hasher, enricher } = parts;
  const fixedSite = parts.site;
  const urls = createHashedCache<ReducedUrl>(REDUCTION_CACHE_SIZE);
  const referrers = createHashedCache<NonNullable<PrivacyEvent['referrer']>>(REDUCTION_CACHE_SIZE);
  const isoTime = createIsoTime();
  const consentPart = createConsentParts();
  // The site of the last Host header: a pure function of the header value.
  let lastHost: string | undefined;
  let lastHostSite = 'unknown';

  function siteOf(host: string | undefined): string {
    if (host === undefined) return 'unknown';
    if (host !== lastHost) {
      lastHostSite = siteFromHost(host);
      lastHost = host;
    }
    return lastHostSite;
  }

  function reducedUrl(rawUrl: string): ReducedUrl {
    const key = urls.key(rawUrl);
    let hit = urls.get(key);
    if (hit === undefined) {
      const { path, query } = reduceUrl(rawUrl);
      const mayDownload = detectDownload({ path, status: 200, finished: true }) !== undefined;
      hit = {
        path,
        query,
        mayDownload,
        kindMethod: '',
        kindStatus: -1,
        kindType: undefined,
        kind: undefined,
        requestMethod: '',
        requestRoute: undefined,
        requestPart: undefined,
      };
      urls.set(key, hit);
    }
    return hit;
  }

  function referrerOf(referer: string | undefined, hostName: string): PrivacyEvent['referrer'] | undefined {
    if (referer === undefined) return undefined;
    const key = referrers.key(referer, hostName);
    let hit = referrers.get(key);
    if (hit === undefined) {
      const reduced = reduceReferrer(referer, hostName);
      if (reduced === undefined) return undefined;
      hit = Object.isFrozen(reduced) ? reduced : Object.freeze(reduced);
      referrers.set(key, hit);
    }
    return hit;
  }

  function requestOf(url: ReducedUrl, method: string, route: string | undefined): PrivacyEvent['request'] {
    let part = url.requestPart;
    if (part === undefined || url.requestMethod !== method || url.requestRoute !== route) {
      part = requestPart(safeMethod(method), url.path, url.query, route);
      url.requestPart = part;
      url.requestMethod = method;
      url.requestRoute = route;
    }
    return part;
  }

  return {
    record(req, res, consent) {
      const url = reducedUrl(req.url);
      const { path } = url;
      if (ignore?.(path)) return undefined;

      // Only a download-looking path or a Content-Disposition can make a download.
      const download =
        url.mayDownload || res.contentDisposition !== undefined
          ? detectDownload({
              path,
              status: res.status,
              contentDisposition: res.contentDisposition,
              contentType: res.contentType,
              contentLength: res.contentLength,
              bytesSent: res.finished ? res.contentLength : undefined,
              finished: res.finished,
            })
          : undefined;
      let kind: EventKind;
      if (download !== undefined) kind = 'download';
      else if (
        url.kind !== undefined &&
        url.kindMethod === req.method &&
        url.kindStatus === res.status &&
        url.kindType === res.contentType
      ) {
        kind = url.kind;
      } else {
        kind = classify({
          method: req.method,
          path,
          status: res.status,
          contentType: res.contentType,
          isDownload: false,
        });
        url.kindMethod = req.method;
        url.kindStatus = res.status;
        url.kindType = res.contentType;
        url.kind = kind;
      }
      if (!kinds.has(kind)) return undefined;

      const headers =
        req.headers instanceof CapturedHeaders ? req.headers : readHeaderRecord(req.headers as HeaderRecord);
      const hostName = siteOf(headers.host);
      const site = fixedSite ?? hostName;
      const rawAgent = headers.userAgent;
      const ua = rawAgent && rawAgent.length > MAX_UA ? rawAgent.slice(0, MAX_UA) : rawAgent;
      // The record has the client hints' field names: it is passed as they are.
      const agent = parseAgent(ua, headers);

      // The full address lives only in this block: parsed once into CLIENT, then
      // truncated, hashed and looked up from there, and zeroed.
      const resolved =
        req.clientAddress !== undefined
          ? req.clientAddress
          : resolveClientAddress(req.socketAddress, headers.forwardedFor, trust);
      let address = 'unknown';
      let prefixLength = 0;
      let visitor: number | undefined;
      let found: EnrichLookup | undefined;
      try {
        const family = typeof resolved === 'string' ? parseClientAddressInto(resolved, CLIENT) : 0;
        if (family !== 0) {
          address = truncate.text(CLIENT, family);
          prefixLength = family === 4 ? truncate.ipv4Prefix : truncate.ipv6Prefix;
          if (VISITOR_KINDS.has(kind) && !agent.bot) {
            visitor = hasher.markParsed(CLIENT, family, ua ?? '', site, req.startMs);
          }
          found = enricher?.lookupParsed(CLIENT, family);
        }
      } finally {
        CLIENT.fill(0);
      }
      const client = found === undefined ? { address, prefixLength } : enrichedClient(address, prefixLength, found);
      const enrichment: Promise<ClientEnrichment> | undefined = found?.pending;
      const durationMs = Math.max(0, Math.round(res.durationMs * 1000) / 1000);
      // One literal per shape: a property added later would cost the event a map transition and a
      // separate property store, for as long as the pipeline holds it.
      const response: PrivacyEvent['response'] =
        res.finished && res.contentLength !== undefined
          ? { status: res.status, durationMs, bytes: res.contentLength }
          : { status: res.status, durationMs };

      const id = uuidv7(req.startMs);
      const time = isoTime(req.startMs);
      const request = requestOf(url, req.method, res.route);
      const consentOf = consentPart(consent);
      const referrer = referrerOf(headers.referer, hostName);
      const sessionId = consent.analytics === 'granted' && consent.sessionId ? consent.sessionId : undefined;
      // The common shapes as one literal each (same key order as adding the optional parts one by
      // one): the event then has all its properties in the object itself, no separate property
      // store, for as long as the pipeline holds it.
      let event: PrivacyEvent;
      if (download === undefined && referrer !== undefined) {
        event =
          sessionId === undefined
            ? { id, time, site, kind, request, response, client, agent, consent: consentOf, referrer }
            : {
                id,
                time,
                site,
                kind,
                request,
                response,
                client,
                agent,
                consent: consentOf,
                referrer,
                session: { id: sessionId },
              };
      } else if (download === undefined) {
        event =
          sessionId === undefined
            ? { id, time, site, kind, request, response, client, agent, consent: consentOf }
            : {
                id,
                time,
                site,
                kind,
                request,
                response,
                client,
                agent,
                consent: consentOf,
                session: { id: sessionId },
              };
      } else {
        event = { id, time, site, kind, request, response, client, agent, consent: consentOf };
        if (referrer !== undefined) event.referrer = referrer;
        event.download = download;
        if (sessionId !== undefined) event.session = { id: sessionId };
      }
      // V8 keeps the subject of the last regex match alive; make it a constant, not a raw header.
      forgetLastMatch();
      return { event, visitor, enrichment };
    },
  };
}

/** The client part with what the ISP lookup found (fields it did not find stay absent). */
function enrichedClient(address: string, prefixLength: number, found: EnrichLookup): PrivacyEvent['client'] {
  const { isp, asn, domain } = found;
  if (isp !== undefined && asn !== undefined && domain === undefined) return { address, prefixLength, isp, asn };
  const client: PrivacyEvent['client'] = { address, prefixLength };
  if (found.isp !== undefined) client.isp = found.isp;
  if (found.asn !== undefined) client.asn = found.asn;
  if (found.domain !== undefined) client.domain = found.domain;
  return client;
}

const METHOD_RE = /^[A-Z]{1,16}$/;
/** Standard-looking methods pass; anything else is reported as 'OTHER' (the value is client-controlled). */
function safeMethod(m: string): string {
  return METHOD_RE.test(m) ? m : 'OTHER';
}
