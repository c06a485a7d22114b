/**
 * The lifecycle every benchmark server shares: listen on loopback, tell the
 * runner the port on stdout, exit by itself on SIGTERM/SIGINT or after a
 * maximum lifetime, and report a last JSON line (e.g. pipeline metrics).
 *
 * Protocol on stdout, one line each:
 *   BENCH_READY <port>
 *   BENCH_EXIT <json>
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';

/** Default maximum lifetime of a benchmark server, ms. */
export const DEFAULT_MAX_LIFETIME_MS = 180_000;
/** Bound on the shutdown work (flushing a pipeline, closing a log file). */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export interface ServeOptions {
  /** Awaited before listening: a server that loads data at start (privacy-log's ready()) is measured once it has. */
  ready?: () => Promise<unknown>;
  /** Called once on shutdown; its result is printed on the BENCH_EXIT line. */
  onClose?: () => Promise<unknown> | unknown;
}

/**
 * The working directory of this server (log files, databases): BENCH_WORKDIR,
 * created when missing. The process also chdirs there, so library defaults
 * such as './data/privacy-log.db' land in it.
 */
export function workDir(): string {
  const dir = process.env.BENCH_WORKDIR;
  if (!dir) throw new Error('BENCH_WORKDIR is not set: start benchmark servers through bench/run.ts');
  mkdirSync(dir, { recursive: true });
  process.chdir(dir);
  return dir;
}

/** A file inside {@link workDir}. */
export function workFile(name: string): string {
  return join(workDir(), name);
}

export function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, options: ServeOptions = {}): void {
  const maxLifetimeMs = Number(process.env.BENCH_MAX_LIFETIME_MS ?? DEFAULT_MAX_LIFETIME_MS);
  const server = createServer(handler);
  let stopping = false;

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => {
      process.stdout.write(`BENCH_EXIT ${JSON.stringify({ reason, error: 'shutdown timed out' })}\n`);
      process.exit(2);
    }, SHUTDOWN_TIMEOUT_MS);
    hardStop.unref();
    server.close();
    server.closeAllConnections();
    Promise.resolve()
      .then(() => options.onClose?.())
      .then(
        (result) => {
          process.stdout.write(`BENCH_EXIT ${JSON.stringify({ reason, result: result ?? null })}\n`);
          process.exit(0);
        },
        (err: unknown) => {
          process.stdout.write(`BENCH_EXIT ${JSON.stringify({ reason, error: String(err) })}\n`);
          process.exit(1);
        },
      );
  };

  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('disconnect', () => stop('parent gone'));
  setTimeout(() => stop('max lifetime'), maxLifetimeMs).unref();

  const listen = () =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      process.stdout.write(`BENCH_READY ${port}\n`);
    });
  if (options.ready) {
    options.ready().then(listen, (err: unknown) => {
      process.stderr.write(`server not ready: ${String(err)}\n`);
      process.exit(1);
    });
  } else listen();
}
