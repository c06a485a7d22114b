import type { PrivacyEvent } from '../../src/event.js';

/** A valid, fully populated event for tests that need one. */
export function sampleEvent(overrides: Partial<PrivacyEvent> = {}): PrivacyEvent {
  return {
    id: '019ab6f2-3c41-7000-9d2e-5f0c1a7b8e44',
    time: '2026-11-24T09:15:02.118Z',
    site: 'oblachko',
    kind: 'download',
    request: { method: 'GET', path: '/documents/menu.pdf', query: 'utm_source=vk', route: '/documents/:file' },
    response: { status: 200, bytes: 48213, durationMs: 3.2 },
    client: { address: '2.16.20.0', prefixLength: 24, isp: 'PJSC Rostelecom', asn: 12389, domain: 'rostelecom.ru' },
    agent: { browser: 'Chrome', browserVersion: '142', os: 'Android', osVersion: '10', device: 'mobile', bot: false },
    referrer: { host: 'yandex.ru', type: 'search' },
    download: { file: 'menu.pdf', contentType: 'application/pdf', complete: true },
    consent: { analytics: 'granted', source: 'choice', policyVersion: '2026-11' },
    session: { id: 'AAAAAAAAAAAAAAAAAAAAAA' },
    ...overrides,
  };
}
