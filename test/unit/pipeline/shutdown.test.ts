import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isPrivacyLogError, type PrivacyLogError } from '../../../src/errors.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { installShutdownHandlers } from '../../../src/pipeline/shutdown.js';
import { eventOf, sinkDouble, until } from './doubles.js';

// The signals are emitted in-process (process.emit), with `exit` replaced so the test
// runner survives; test/fault/sigterm-drain.test.ts sends a real SIGTERM to a child.
describe('installShutdownHandlers', () => {
  it('on SIGTERM closes the pipeline (delivering everything), then calls exit with the signal', async () => {
    const sink = sinkDouble('sink');
    const p = createPipeline({ aggregators: [sink], spool: false, batch: { maxWaitMs: 60_000 } });
    const exits: string[] = [];
    const before = process.listenerCount('SIGTERM');
    const uninstall = installShutdownHandlers(p, { exit: (s) => exits.push(s) });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    for (let i = 0; i < 10; i++) p.push(eventOf(i));
    process.emit('SIGTERM', 'SIGTERM');
    await until(() => exits.length === 1, 5000);
    expect(exits).toEqual(['SIGTERM']);
    expect(sink.stored.size).toBe(10);
    expect(sink.closed).toBe(true);
    expect(process.listenerCount('SIGTERM')).toBe(before); // removed itself
    uninstall(); // idempotent
  });

  it('reports a close() failure and still exits', async () => {
    const p = createPipeline({
      aggregators: [sinkDouble('h', 'hang')],
      spool: false,
      retry: { attemptTimeoutMs: 60_000 },
      onError: () => undefined,
    });
    const errors: PrivacyLogError[] = [];
    const exits: string[] = [];
    installShutdownHandlers(p, {
      signals: ['SIGUSR2'],
      timeoutMs: 50,
      exit: (s) => exits.push(s),
      onError: (e) => errors.push(e),
    });
    p.push(eventOf(1));
    process.emit('SIGUSR2', 'SIGUSR2');
    await until(() => exits.length === 1, 5000);
    expect(isPrivacyLogError(errors[0], ERROR_CODES.TIMEOUT)).toBe(true);
  });

  it('uninstall removes the handlers; options are validated', () => {
    const p = createPipeline({ spool: false });
    const before = process.listenerCount('SIGINT');
    const uninstall = installShutdownHandlers(p, { exit: false });
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    uninstall();
    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(() => installShutdownHandlers(p, { timeout: 5 } as never)).toThrow(/Did you mean "timeoutMs"/);
    expect(() => installShutdownHandlers(p, { timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
