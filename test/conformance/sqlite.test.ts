import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { describeAggregatorConformance } from './aggregator-conformance.js';

describeAggregatorConformance(
  'sqlite (real file)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privacy-log-conf-'));
    return {
      aggregator: sqliteAggregator({ file: join(dir, 'stats.db') }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { numRuns: 20 },
);
