import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';
import { postgresAggregator } from '../../src/aggregators/postgres/postgres-aggregator.js';
import { probeService } from '../helpers/require-service.js';
import { describeAggregatorConformance } from './aggregator-conformance.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const probe = await probeService('POSTGRES', async () => {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  await c.end();
});

if (probe.available) {
  describeAggregatorConformance(
    'postgres (real server)',
    async () => {
      const schema = `conf_${randomBytes(6).toString('hex')}`;
      const aggregator = postgresAggregator({ connectionString: url, schema, maxConnections: 2 });
      await aggregator.ready;
      return {
        aggregator,
        cleanup: async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await c.end();
        },
      };
    },
    { numRuns: 12 },
  );
} else {
  describe.skip(`aggregator conformance: postgres (${probe.reason})`, () => {
    it('needs a PostgreSQL server', () => undefined);
  });
}
