import { describe, expect, it } from 'vitest';
import type { Batch, SketchUpdate } from '../../../src/aggregators/aggregator.js';
import { Ticket } from '../../../src/pipeline/ticket.js';

const ticket = () => new Ticket(Buffer.alloc(16), 1, 0);

describe('Ticket.buildLater', () => {
  it('builds the batch on the first read, once, and keeps it', () => {
    const t = ticket();
    let builds = 0;
    const batch: Batch = { events: [], sketches: [] };
    t.buildLater(() => {
      builds++;
      return batch;
    });
    expect(builds).toBe(0);
    expect(t.batch).toBe(batch);
    expect(t.batch).toBe(batch);
    expect(builds).toBe(1);
  });

  it('builds from what the state is when read, not when handed over', () => {
    const t = ticket();
    const sketches: SketchUpdate[] = [];
    t.buildLater(() => ({ events: [], sketches: [...sketches] }));
    sketches.push({ day: '2026-11-24', site: 's', dimension: 'site', value: '', registers: [[1, 2]] });
    expect(t.batch?.sketches).toHaveLength(1);
  });

  it('setting the batch (undefined when it leaves memory) drops a build not yet run', () => {
    const t = ticket();
    let builds = 0;
    t.buildLater(() => {
      builds++;
      return { events: [], sketches: [] };
    });
    t.batch = undefined;
    expect(t.batch).toBeUndefined();
    expect(builds).toBe(0);
  });
});
