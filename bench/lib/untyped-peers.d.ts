/**
 * Minimal declarations for the peer packages that ship no types, covering
 * only what the benchmark servers and the load worker use.
 */
declare module 'koa-logger' {
  type Transporter = (line: string, args: unknown[]) => void;
  function koaLogger(
    options?: Transporter | { transporter?: Transporter },
  ): (ctx: unknown, next: () => Promise<unknown>) => Promise<void>;
  export default koaLogger;
}

declare module 'koa-pino-logger' {
  function koaPinoLogger(
    options?: object,
    stream?: unknown,
  ): (ctx: unknown, next: () => Promise<unknown>) => Promise<void>;
  export default koaPinoLogger;
}

declare module 'morgan' {
  function morgan(
    format: string,
    options?: { stream?: { write(line: string): unknown } },
  ): (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
  export default morgan;
}

declare module 'autocannon' {
  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
  }
  export interface Result {
    requests: Histogram;
    latency: Histogram;
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    '2xx': number;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    requests?: ReadonlyArray<{ method?: string; path?: string; headers?: Record<string, string> }>;
  }
  export interface Tracker {
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void,
    ): Tracker;
  }
  function autocannon(options: Options, callback: (err: Error | null, result: Result) => void): Tracker;
  export default autocannon;
}
