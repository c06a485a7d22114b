/**
 * Parsing the body of `POST /privacy/consent`: an HTML form
 * (`application/x-www-form-urlencoded`: `analytics=granted|denied|withdraw`,
 * optional `return=/path`) or JSON (`{"analytics": "granted" | "denied" |
 * "withdraw" | true | false}`). Total: every input gives a request or a reason.
 */

export type ConsentAction = 'granted' | 'denied' | 'withdraw';

export type ConsentBody =
  | { ok: true; kind: 'form' | 'json'; action: ConsentAction; returnTo: string | undefined }
  | { ok: false; status: 400 | 413 | 415; reason: string };

/** Largest body read (the adapters stop reading there too). */
export const MAX_CONSENT_BODY_BYTES = 8192;

const ACTIONS: readonly string[] = ['granted', 'denied', 'withdraw'];
const ACTION_HINT = 'analytics must be one of granted, denied, withdraw';

/** The media type of a Content-Type header, lowercased, without parameters. */
function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export function parseConsentBody(contentType: string | undefined, body: string | undefined): ConsentBody {
  const text = typeof body === 'string' ? body : '';
  if (Buffer.byteLength(text, 'utf8') > MAX_CONSENT_BODY_BYTES) {
    return { ok: false, status: 413, reason: `body larger than ${MAX_CONSENT_BODY_BYTES} bytes` };
  }
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  if (type === 'application/json') return parseJson(text);
  return {
    ok: false,
    status: 415,
    reason: 'Content-Type must be application/x-www-form-urlencoded or application/json',
  };
}

function parseForm(text: string): ConsentBody {
  const params = new URLSearchParams(text);
  const actions = params.getAll('analytics');
  if (actions.length !== 1) {
    return {
      ok: false,
      status: 400,
      reason: actions.length === 0 ? `missing field: ${ACTION_HINT}` : 'analytics given more than once',
    };
  }
  const action = actions[0] as string;
  if (!ACTIONS.includes(action)) return { ok: false, status: 400, reason: ACTION_HINT };
  const returns = params.getAll('return');
  if (returns.length > 1) return { ok: false, status: 400, reason: 'return given more than once' };
  return { ok: true, kind: 'form', action: action as ConsentAction, returnTo: returns[0] };
}

function parseJson(text: string): ConsentBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, status: 400, reason: 'body is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, status: 400, reason: 'body must be a JSON object' };
  }
  const a = (value as { analytics?: unknown }).analytics;
  let action: ConsentAction;
  if (a === true) action = 'granted';
  else if (a === false) action = 'denied';
  else if (typeof a === 'string' && ACTIONS.includes(a)) action = a as ConsentAction;
  else return { ok: false, status: 400, reason: `${ACTION_HINT} (or true / false)` };
  return { ok: true, kind: 'json', action, returnTo: undefined };
}
