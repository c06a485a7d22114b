/**
 * Model-based test (fast-check commands): random sequences of pushes, sink
 * failures, hangs, recoveries, flushes, restarts and waits. After every step the
 * accounting identity holds at the top level and for every aggregator, and the
 * counts match an in-memory model; at the end every valid pushed event is
 * stored exactly once in each sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import {
  eventOf,
  idOf,
  invariantViolation,
  type SinkDouble,
  type SinkMode,
  sinkDouble,
  until,
} from '../unit/pipeline/doubles.js';

interface Model {
  /** Ids of every valid event pushed, across restarts. */
  pushed: Set<string>;
  /** Accepted by the current pipeline (recovered included). */
  accepted: number;
  invalid: number;
  next: number;
}

interface Real {
  dir: string;
  sinks: SinkDouble[];
  pipeline: Pipeline;
}

function open(real: Pick<Real, 'dir' | 'sinks'>): Pipeline {
  return createPipeline({
    aggregators: real.sinks,
    batch: { maxEvents: 5, maxWaitMs: 2 },
    queue: { maxEvents: 1000 },
    retry: { initialMs: 1, maxMs: 4, maxAttempts: 2, attemptTimeoutMs: 30 },
    spool: { dir: real.dir, fsyncIntervalMs: 5 },
    onError: () => undefined,
  });
}

function check(model: Model, real: Real): void {
  const m = real.pipeline.metrics();
  expect(invariantViolation(m)).toBeUndefined();
  expect(m.accepted).toBe(model.accepted);
  expect(m.invalid).toBe(model.invalid);
  expect(m.dropped).toBe(0); // nothing may be lost in these scenarios
}

class Push implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly n: number,
    readonly withInvalid: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    for (let i = 0; i < this.n; i++) {
      const id = model.next++;
      expect(real.pipeline.push(eventOf(id))).toBe(true);
      model.pushed.add(idOf(id));
      model.accepted++;
    }
    if (this.withInvalid) {
      expect(real.pipeline.push({ ...eventOf(model.next++), kind: 'nope' } as never)).toBe(false);
      model.invalid++;
    }
    check(model, real);
  }
  toString = () => `push(${this.n}${this.withInvalid ? ', +invalid' : ''})`;
}

class SetSink implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly index: number,
    readonly mode: SinkMode,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const sink = real.sinks[this.index % real.sinks.length] as SinkDouble;
    sink.mode = this.mode;
    check(model, real);
  }
  toString = () => `${this.mode}(${this.index})`;
}

class Flush implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.pipeline.flush({ timeoutMs: 5000 });
    expect(real.pipeline.metrics().queued).toBe(0);
    check(model, real);
  }
  toString = () => 'flush';
}

class Wait implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await new Promise((r) => setTimeout(r, this.ms));
    check(model, real);
  }
  toString = () => `wait(${this.ms})`;
}

class Restart implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.pipeline.close({ timeoutMs: 5000 });
    const before = real.pipeline.metrics();
    expect(before.queued).toBe(0);
    real.pipeline = open(real);
    const after = real.pipeline.metrics();
    // What was spooled at close is exactly what the new process recovers.
    expect(after.recovered).toBe(before.spoolPending);
    model.accepted = after.recovered ?? 0;
    model.invalid = 0;
    check(model, real);
  }
  toString = () => 'restart';
}

const commands = [
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.boolean()).map(([n, bad]) => new Push(n, bad)),
  fc.tuple(fc.nat(1), fc.constantFrom<SinkMode>('ok', 'fail', 'hang')).map(([i, mode]) => new SetSink(i, mode)),
  fc.constant(new Flush()),
  fc.integer({ min: 1, max: 15 }).map((ms) => new Wait(ms)),
  fc.constant(new Restart()),
];

describe('pipeline accounting against a model', () => {
  it('holds after every step of random pushes, failures, hangs, recoveries, flushes and restarts', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        const dir = mkdtempSync(join(tmpdir(), 'pl-model-'));
        const sinks = [sinkDouble('a'), sinkDouble('b')];
        const real: Real = { dir, sinks, pipeline: open({ dir, sinks }) };
        const model: Model = { pushed: new Set(), accepted: 0, invalid: 0, next: 0 };
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          // Bring everything back and drain: every valid event is stored once in each sink.
          for (const s of sinks) s.mode = 'ok';
          await real.pipeline.flush({ timeoutMs: 5000 });
          await until(() => real.pipeline.metrics().spoolPending === 0, 10_000);
          check(model, real);
          for (const s of sinks) {
            expect(s.stored.size).toBe(model.pushed.size);
            for (const id of model.pushed) expect(s.stored.has(id)).toBe(true);
          }
        } finally {
          await real.pipeline.close({ timeoutMs: 2000 }).catch(() => undefined);
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40, interruptAfterTimeLimit: 45_000 },
    );
  });
});
