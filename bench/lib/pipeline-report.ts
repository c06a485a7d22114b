/**
 * What a privacy-log benchmark server reports on exit: the capture counters and
 * the pipeline's metrics after close(), so the run can show that the events
 * were stored (not dropped) while the load ran.
 */
interface Closable {
  close(options?: { timeoutMs?: number }): Promise<void>;
  captureMetrics(): unknown;
  readonly pipeline: { metrics(): unknown };
}

export async function pipelineReport(privacy: Closable): Promise<unknown> {
  const beforeClose = privacy.pipeline.metrics();
  await privacy.close({ timeoutMs: 10_000 });
  return { capture: privacy.captureMetrics(), pipelineAtStop: beforeClose, pipeline: privacy.pipeline.metrics() };
}
