/**
 * The slice of `ctx.state.privacy` (set by privacy-log's Koa middleware) that
 * the site's pages read. Declared structurally so the views depend on the
 * shape, not on the middleware module.
 */
import type { PrivacyEvent } from '../../../src/event.js';

export interface ConsentView {
  analytics: 'granted' | 'denied' | 'unset';
  source: 'choice' | 'gpc' | 'dnt' | 'default';
  policyVersion?: string;
  gpc: boolean;
  dnt: boolean;
  sessionId?: string;
  /** True when the visitor has made no choice for the current policy version: show the banner. */
  askAgain: boolean;
}

export interface PrivacyStateView {
  consent: ConsentView;
  event?: PrivacyEvent;
  /** The event recorded for this visitor's previous request, exactly as stored. */
  previous?: PrivacyEvent;
}

/** What the views assume when the middleware did not run (it always should). */
export const NO_PRIVACY_STATE: PrivacyStateView = {
  consent: { analytics: 'unset', source: 'default', gpc: false, dnt: false, askAgain: true },
};

export function privacyStateOf(state: Record<string, unknown>): PrivacyStateView {
  const p = state.privacy as PrivacyStateView | undefined;
  return p && typeof p === 'object' && p.consent ? p : NO_PRIVACY_STATE;
}
