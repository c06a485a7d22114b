/**
 * The pipeline's metrics in the Prometheus text exposition format (0.0.4),
 * framework-free: mount it on any route, e.g.
 * `router.get('/metrics', (ctx) => { ctx.type = 'text/plain; version=0.0.4'; ctx.body = prometheusMetrics(pipeline); })`.
 */
import type { AggregatorMetrics, Pipeline } from './types.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
}

const TOP: ReadonlyArray<
  Family & {
    key:
      | 'accepted'
      | 'delivered'
      | 'retried'
      | 'spooled'
      | 'replayed'
      | 'dropped'
      | 'invalid'
      | 'queued'
      | 'spoolPending'
      | 'recovered';
  }
> = [
  {
    key: 'accepted',
    name: 'privacy_log_events_accepted_total',
    type: 'counter',
    help: 'Events that passed validation at the door (including events recovered from the spool at startup).',
  },
  {
    key: 'delivered',
    name: 'privacy_log_events_delivered_total',
    type: 'counter',
    help: 'Events stored by every aggregator.',
  },
  {
    key: 'dropped',
    name: 'privacy_log_events_dropped_total',
    type: 'counter',
    help: 'Events given up by at least one aggregator (overflow, spool failure or eviction, refused, pushed after close).',
  },
  {
    key: 'invalid',
    name: 'privacy_log_events_invalid_total',
    type: 'counter',
    help: 'Events rejected at the door by validation.',
  },
  {
    key: 'spooled',
    name: 'privacy_log_events_spooled_total',
    type: 'counter',
    help: 'Events written to a spool (each event once, however many aggregators spooled it).',
  },
  {
    key: 'replayed',
    name: 'privacy_log_events_replayed_total',
    type: 'counter',
    help: 'Spooled events later delivered by every aggregator that spooled them.',
  },
  {
    key: 'retried',
    name: 'privacy_log_batch_retries_total',
    type: 'counter',
    help: 'Batch write attempts that failed and were retried, over all aggregators.',
  },
  {
    key: 'recovered',
    name: 'privacy_log_events_recovered_total',
    type: 'counter',
    help: 'Events found in the spool at startup (accepted by a previous process).',
  },
  { key: 'queued', name: 'privacy_log_events_queued', type: 'gauge', help: 'Events accepted and still in memory.' },
  {
    key: 'spoolPending',
    name: 'privacy_log_events_spool_pending',
    type: 'gauge',
    help: 'Events in a spool, not yet replayed.',
  },
];

const PER: ReadonlyArray<Family & { key: keyof AggregatorMetrics }> = [
  {
    key: 'accepted',
    name: 'privacy_log_aggregator_events_accepted_total',
    type: 'counter',
    help: 'Events this aggregator is accountable for.',
  },
  {
    key: 'delivered',
    name: 'privacy_log_aggregator_events_delivered_total',
    type: 'counter',
    help: 'Events stored by this aggregator.',
  },
  {
    key: 'dropped',
    name: 'privacy_log_aggregator_events_dropped_total',
    type: 'counter',
    help: 'Events this aggregator gave up.',
  },
  {
    key: 'spooled',
    name: 'privacy_log_aggregator_events_spooled_total',
    type: 'counter',
    help: "Events written to this aggregator's spool.",
  },
  {
    key: 'replayed',
    name: 'privacy_log_aggregator_events_replayed_total',
    type: 'counter',
    help: "Events replayed from this aggregator's spool.",
  },
  {
    key: 'retried',
    name: 'privacy_log_aggregator_batch_retries_total',
    type: 'counter',
    help: 'Failed write attempts of this aggregator that were retried.',
  },
  {
    key: 'failures',
    name: 'privacy_log_aggregator_write_failures_total',
    type: 'counter',
    help: 'Failed write attempts of this aggregator.',
  },
  {
    key: 'corrupt',
    name: 'privacy_log_aggregator_spool_corrupt_records_total',
    type: 'counter',
    help: 'Spool records skipped because they failed their checksum.',
  },
  {
    key: 'evicted',
    name: 'privacy_log_aggregator_spool_evicted_records_total',
    type: 'counter',
    help: 'Spool records evicted by the size cap.',
  },
  {
    key: 'deadLettered',
    name: 'privacy_log_aggregator_dead_lettered_batches_total',
    type: 'counter',
    help: 'Batches refused for good and kept in the dead-letter file.',
  },
  {
    key: 'queued',
    name: 'privacy_log_aggregator_events_queued',
    type: 'gauge',
    help: 'Events waiting in memory for this aggregator.',
  },
  {
    key: 'spoolPending',
    name: 'privacy_log_aggregator_events_spool_pending',
    type: 'gauge',
    help: "Events in this aggregator's spool.",
  },
  {
    key: 'spoolBytes',
    name: 'privacy_log_aggregator_spool_bytes',
    type: 'gauge',
    help: "Bytes of this aggregator's spool segment files.",
  },
];

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function head(lines: string[], f: Family): void {
  lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
}

/**
 * @example
 * app.use(async (ctx, next) => {
 *   if (ctx.path !== '/metrics') return next();
 *   ctx.type = PROMETHEUS_CONTENT_TYPE;
 *   ctx.body = prometheusMetrics(pipeline);
 * });
 */
export function prometheusMetrics(pipeline: Pipeline): string {
  const m = pipeline.metrics();
  const health = pipeline.health();
  const lines: string[] = [];
  for (const f of TOP) {
    head(lines, f);
    lines.push(`${f.name} ${m[f.key] ?? 0}`);
  }
  const names = Object.keys(m.aggregators);
  for (const f of PER) {
    head(lines, f);
    for (const name of names) {
      const value = m.aggregators[name]?.[f.key];
      lines.push(`${f.name}{aggregator="${escapeLabel(name)}"} ${typeof value === 'number' ? value : 0}`);
    }
  }
  const up: Family = {
    name: 'privacy_log_aggregator_up',
    type: 'gauge',
    help: "1 when the aggregator's last write succeeded, 0 while it is failing.",
  };
  head(lines, up);
  for (const h of health.aggregators) lines.push(`${up.name}{aggregator="${escapeLabel(h.name)}"} ${h.ok ? 1 : 0}`);
  const since: Family = {
    name: 'privacy_log_aggregator_failing_since_seconds',
    type: 'gauge',
    help: 'Unix time of the first failure of the current failing streak; 0 when healthy.',
  };
  head(lines, since);
  for (const h of health.aggregators) {
    const t = h.failingSince === undefined ? 0 : Date.parse(h.failingSince) / 1000;
    lines.push(`${since.name}{aggregator="${escapeLabel(h.name)}"} ${t}`);
  }
  return `${lines.join('\n')}\n`;
}
