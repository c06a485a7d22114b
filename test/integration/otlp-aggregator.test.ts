import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPeersInstalled, otlpAggregator } from '../../src/aggregators/otlp-aggregator.js';
import { ERROR_CODES } from '../../src/errors.js';
import { toOtelAttributes } from '../../src/event.js';
import { makeEvent } from '../unit/access-log/fixtures.js';

/** OTLP/JSON AnyValue → plain value. */
type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
function decodeValue(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  throw new Error(`unexpected OTLP value ${JSON.stringify(v)}`);
}
function decodeAttributes(
  list: Array<{ key: string; value: AnyValue }> = [],
): Record<string, string | number | boolean> {
  return Object.fromEntries(list.map((a) => [a.key, decodeValue(a.value)]));
}

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  resource: Record<string, string | number | boolean>;
  scope: string;
  records: Array<{
    timeUnixNano: string;
    severityNumber: number;
    severityText: string;
    body: string;
    eventName?: string;
    attributes: Record<string, string | number | boolean>;
  }>;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A loopback OTLP/HTTP receiver that decodes the JSON encoding of ExportLogsServiceRequest. */
async function otlpReceiver(status: () => number = () => 200): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status();
      if (code === 200) {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        const body = JSON.parse(raw.toString('utf8'));
        for (const rl of body.resourceLogs) {
          for (const sl of rl.scopeLogs) {
            received.push({
              path: req.url ?? '',
              headers: req.headers,
              resource: decodeAttributes(rl.resource?.attributes),
              scope: sl.scope?.name,
              records: sl.logRecords.map((r: Record<string, unknown>) => ({
                timeUnixNano: String(r.timeUnixNano),
                severityNumber: r.severityNumber,
                severityText: r.severityText,
                body: decodeValue(r.body as AnyValue),
                eventName: r.eventName,
                attributes: decodeAttributes(r.attributes as Array<{ key: string; value: AnyValue }>),
              })),
            });
          }
        }
      }
      res.statusCode = code;
      res.setHeader('content-type', 'application/json');
      res.end(code === 200 ? '{}' : '{"message":"no"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`, received };
}

describe('otlpAggregator over OTLP/HTTP to a loopback receiver', () => {
  it('exports one log record per event with the toOtelAttributes attributes', async () => {
    const rx = await otlpReceiver();
    const agg = otlpAggregator({
      url: rx.url,
      headers: { 'x-tenant': 'oblachko' },
      serviceName: 'kindergarten',
      resourceAttributes: { 'deployment.environment': 'test' },
    });
    const events = [
      makeEvent(),
      makeEvent({
        kind: 'download',
        response: { status: 404, durationMs: 2 },
        download: { file: 'menu.pdf', complete: false },
        session: { id: 's1' },
        consent: { analytics: 'granted', source: 'choice' },
      }),
      makeEvent({ response: { status: 503, durationMs: 1 }, referrer: undefined }),
    ];
    await agg.write({ events, sketches: [] });
    await agg.close();

    expect(rx.received).toHaveLength(1);
    const [batch] = rx.received as [Received];
    expect(batch.path).toBe('/v1/logs');
    expect(batch.headers['x-tenant']).toBe('oblachko');
    expect(batch.resource).toMatchObject({ 'service.name': 'kindergarten', 'deployment.environment': 'test' });
    expect(batch.scope).toBe('privacy-log');
    expect(batch.records).toHaveLength(3);
    events.forEach((e, i) => {
      const r = batch.records[i]!;
      expect(r.attributes).toEqual(toOtelAttributes(e));
      expect(r.timeUnixNano).toBe(String(BigInt(Date.parse(e.time)) * 1_000_000n));
      expect(r.body).toBe(`${e.request.method} ${e.request.path} ${e.response.status}`);
      expect(r.eventName).toBe(`privacy_log.${e.kind}`);
    });
    expect(batch.records.map((r) => r.severityText)).toEqual(['INFO', 'WARN', 'ERROR']);
    expect(batch.records.map((r) => r.severityNumber)).toEqual([9, 13, 17]);
  });

  it('compresses with gzip when asked', async () => {
    const rx = await otlpReceiver();
    const agg = otlpAggregator({ url: rx.url, compression: 'gzip' });
    await agg.write({ events: [makeEvent()], sketches: [] });
    await agg.close();
    expect(rx.received[0]?.headers['content-encoding']).toBe('gzip');
    expect(rx.received[0]?.records[0]?.attributes['client.address']).toBe('203.0.113.0');
  });

  it('a 4xx is a non-retryable REMOTE_REJECTED, a 500 a retryable failure', async () => {
    let code = 400;
    const rx = await otlpReceiver(() => code);
    const agg = otlpAggregator({ url: rx.url, timeoutMs: 2000 });
    await expect(agg.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.REMOTE_REJECTED,
      retryable: false,
    });
    code = 500;
    await expect(agg.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.AGGREGATOR_FAILED,
      retryable: true,
    });
    code = 200;
    await agg.write({ events: [makeEvent()], sketches: [] });
    expect(rx.received).toHaveLength(1);
    await agg.close();
  });

  it('an unreachable receiver is a retryable failure', async () => {
    const rx = await otlpReceiver();
    const url = rx.url;
    await new Promise((r) => servers.pop()?.close(r));
    const agg = otlpAggregator({ url, timeoutMs: 500 });
    await expect(agg.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.AGGREGATOR_FAILED,
      retryable: true,
    });
    await agg.close();
  });

  it('honours the abort signal while the receiver is silent', async () => {
    const silent = http.createServer(() => {}); // never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    servers.push(silent);
    const agg = otlpAggregator({
      url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/logs`,
      timeoutMs: 1500,
    });
    const ac = new AbortController();
    const pending = agg.write({ events: [makeEvent()], sketches: [] }, ac.signal);
    setTimeout(() => ac.abort(new Error('pipeline closing')), 50);
    await expect(pending).rejects.toMatchObject({
      code: ERROR_CODES.AGGREGATOR_FAILED,
      message: expect.stringContaining('aborted'),
    });
    silent.closeAllConnections();
    await agg.close();
  });

  it('refuses writes after close, and bad options, with coded errors', async () => {
    const agg = otlpAggregator({ url: 'http://127.0.0.1:9/v1/logs' });
    await agg.close();
    await expect(agg.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.CLOSED,
    });
    expect(() => otlpAggregator({})).toThrow(/"url"/);
    expect(() => otlpAggregator({ url: 'http://x', compresion: 'gzip' } as never)).toThrow(
      /Did you mean "compression"/,
    );
    expect(() => otlpAggregator({ url: 'http://x', compression: 'br' as never })).toThrow(/"compression"/);
  });

  it('names the missing optional peer dependency with a coded error', () => {
    expect(() => assertPeersInstalled(['@opentelemetry/exporter-logs-otlp-http'])).not.toThrow();
    expect(() => assertPeersInstalled(['@opentelemetry/not-a-real-package-xyz'])).toThrow(
      expect.objectContaining({
        code: ERROR_CODES.MISSING_DEPENDENCY,
        retryable: false,
        message: expect.stringContaining('npm install @opentelemetry/exporter-logs-otlp-http'),
      }),
    );
  });
});
