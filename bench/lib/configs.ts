/** The HTTP configurations `npm run bench` measures, one server file each under bench/http/. */
export type Framework = 'koa' | 'express';

export interface BenchConfig {
  /** Stable id: the server file's name. */
  id: string;
  /** What the table shows. */
  label: string;
  framework: Framework;
  /** privacy-log's own configurations, as opposed to the bare frameworks and the peers. */
  role: 'bare' | 'privacy-log' | 'peer';
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
