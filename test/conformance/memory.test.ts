import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { describeAggregatorConformance } from './aggregator-conformance.js';

describeAggregatorConformance('memory', async () => ({ aggregator: memoryAggregator() }), { numRuns: 10 });
