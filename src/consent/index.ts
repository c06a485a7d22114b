/** Consent (DESIGN §6): state, cookie codec, GPC/DNT, and the framework-free routes. */
export {
  allowsAnalytics,
  type ChoiceCookieOptions,
  type Consent,
  type ConsentState,
  createConsent,
} from './consent.js';
export { type ConsentAction, MAX_CONSENT_BODY_BYTES } from './consent-body.js';
export {
  type ConsentChoice,
  decodeConsentCookie,
  encodeConsentCookie,
  MAX_CONSENT_COOKIE_LENGTH,
} from './cookie-codec.js';
export { MAX_COOKIE_HEADER_SCAN } from './cookie-header.js';
export {
  type ConsentDefault,
  type ConsentOptions,
  DEFAULT_CONSENT,
  DEFAULT_CONSENT_COOKIE_NAME,
  DEFAULT_CONSENT_MAX_AGE_DAYS,
  DEFAULT_HONOR_DNT,
  DEFAULT_HONOR_GPC,
  DEFAULT_POLICY_VERSION,
  DEFAULT_SESSION_COOKIE_NAME,
  DEFAULT_SESSION_IDLE_MINUTES,
  type ResolvedConsentOptions,
} from './options.js';
export {
  type ConsentRequest,
  type ConsentResponse,
  type ConsentRouteHooks,
  type ConsentRoutes,
  type ConsentRoutesOptions,
  createConsentRoutes,
  DEFAULT_CONSENT_PREFIX,
  GPC_WELL_KNOWN_PATH,
} from './routes.js';
export { isSessionId, newSessionId } from './session-id.js';
