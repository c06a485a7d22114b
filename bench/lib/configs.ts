/** The HTTP configurations `npm run bench` measures, one server file each under bench/http/. */
export type Framework = 'koa' | 'express';

export interface BenchConfig {
  /** Stable id: the server file's name. */
  id: string;
  /** What the table shows. */
  label: string;
  framework: Framework;
  /**
   * privacy-log's own configurations, as opposed to the bare frameworks and the
   * peers; 'variant' is a privacy-log configuration served from another source
   * tree (`--variant`), for before/after comparisons in one session;
   * 'diagnostic' isolates a part of privacy-log's cost (not a product setup).
   */
  role: 'bare' | 'privacy-log' | 'peer' | 'variant' | 'diagnostic';
  /** The server file's id under bench/http/, when it differs from `id` (variants). */
  server?: string;
  /** The source tree the server runs from, when not this one (variants). */
  root?: string;
}

export const CONFIGS: readonly BenchConfig[] = [
  { id: 'koa-bare', label: 'Koa (bare)', framework: 'koa', role: 'bare' },
  { id: 'koa-privacy-log', label: 'Koa + privacy-log (SQLite)', framework: 'koa', role: 'privacy-log' },
  {
    id: 'koa-privacy-log-access-log',
    label: 'Koa + privacy-log + combined access log',
    framework: 'koa',
    role: 'privacy-log',
  },
  {
    id: 'koa-privacy-log-sink',
    label: 'Koa + privacy-log, in-memory sink (diagnostic: no store)',
    framework: 'koa',
    role: 'diagnostic',
  },
  { id: 'koa-pino-logger', label: 'Koa + koa-pino-logger', framework: 'koa', role: 'peer' },
  { id: 'koa-logger', label: 'Koa + koa-logger', framework: 'koa', role: 'peer' },
  { id: 'express-bare', label: 'Express (bare)', framework: 'express', role: 'bare' },
  { id: 'express-privacy-log', label: 'Express + privacy-log (SQLite)', framework: 'express', role: 'privacy-log' },
  { id: 'morgan', label: 'Express + morgan', framework: 'express', role: 'peer' },
  { id: 'pino-http', label: 'Express + pino-http', framework: 'express', role: 'peer' },
  { id: 'express-winston', label: 'Express + express-winston', framework: 'express', role: 'peer' },
];

/** The bare configuration of a framework. */
export function bareOf(framework: Framework): string {
  return framework === 'koa' ? 'koa-bare' : 'express-bare';
}

/**
 * The same privacy-log configurations served from another source tree (a
 * snapshot before a change, say), named `<id>@<name>`.
 */
export function variantsOf(configs: readonly BenchConfig[], name: string, root: string): BenchConfig[] {
  return configs
    .filter((c) => c.role === 'privacy-log' || c.role === 'diagnostic')
    .map((c) => ({ ...c, id: `${c.id}@${name}`, label: `${c.label} @ ${name}`, role: 'variant', server: c.id, root }));
}
