/**
 * A reduced User-Agent for text access logs, rebuilt from the event's agent
 * fields — never from the raw header, which capture has already discarded.
 * `Mozilla/5.0 (Windows) Firefox/120`, `Mozilla/5.0 (Android; Mobile) Chrome/131`,
 * `Mozilla/5.0 (compatible; Googlebot)`. Log analysers that classify browsers
 * and operating systems by keywords (goaccess, AWStats) still recognise it.
 */
import type { PrivacyEvent } from '../event.js';

/** What the field says when the event knows nothing about the agent. */
export const UNKNOWN_USER_AGENT = '-';

type Agent = Partial<PrivacyEvent['agent']> | undefined;

/**
 * @example
 * reducedUserAgent({ browser: 'Firefox', browserVersion: '120', os: 'Windows', device: 'desktop', bot: false });
 * // 'Mozilla/5.0 (Windows) Firefox/120'
 */
export function reducedUserAgent(agent: Agent): string {
  if (!agent) return UNKNOWN_USER_AGENT;
  const product = agent.browser
    ? agent.browserVersion
      ? `${agent.browser}/${agent.browserVersion}`
      : agent.browser
    : '';
  if (agent.bot === true) return `Mozilla/5.0 (compatible; ${product || 'bot'})`;
  let platform = agent.os ?? '';
  if (agent.device === 'mobile') platform = platform ? `${platform}; Mobile` : 'Mobile';
  else if (agent.device === 'tablet') platform = platform ? `${platform}; Tablet` : 'Tablet';
  if (!product && !platform) return UNKNOWN_USER_AGENT;
  if (!platform) return `Mozilla/5.0 ${product}`;
  return product ? `Mozilla/5.0 (${platform}) ${product}` : `Mozilla/5.0 (${platform})`;
}
