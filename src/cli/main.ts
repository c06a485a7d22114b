#!/usr/bin/env node
/**
 * The `privacy-log` command.
 *
 *   privacy-log collect [--config FILE]   run the collector server
 *   privacy-log stats [options]           query the stats of a SQLite or PostgreSQL store
 *   privacy-log events [options]          print the raw events a SQLite store holds (read-only)
 *   privacy-log help | --help
 *   privacy-log version | --version
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOperatorConfig } from '../config/load-operator-config.js';
import { ERROR_CODES, isPrivacyLogError } from '../errors.js';
import { startCollectorServer } from './collect.js';
import { EVENTS_USAGE, runEvents } from './events.js';
import { runStats, STATS_USAGE } from './stats.js';

const USAGE = `Usage: privacy-log <command> [options]

Commands:
  collect [--config FILE]   Run the collector: receive batches from httpAggregator
                            and store them in the configured aggregators.
  stats [options]           Query a SQLite or PostgreSQL store (stats --help).
  events [options]          Print the raw events a SQLite store holds, as JSON
                            lines; --from, --to, --session (events --help).
  help                      Show this help.
  version                   Print the version.

Configuration comes from the JSON file given by --config or PRIVACY_LOG_CONFIG,
overridden by PRIVACY_LOG_* environment variables (see docs/operators.md).
`;

const COLLECT_USAGE = `Usage: privacy-log collect [--config FILE]

Runs the collector until SIGTERM or SIGINT: an HTTP server that receives the
batches httpAggregator sends (bearer token) and stores them in the aggregators
the configuration names.

Options:
  --config FILE, -c FILE   The JSON configuration (else PRIVACY_LOG_CONFIG);
                           PRIVACY_LOG_* environment variables override it.
  --help, -h               Show this help.

See docs/operators.md.
`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves once stdout has taken what it was given (long outputs wait for a slow reader). */
  drain?: () => Promise<void>;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  drain: () =>
    process.stdout.writableNeedDrain
      ? new Promise((resolve) => process.stdout.once('drain', resolve))
      : Promise.resolve(),
};

function version(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'privacy-log') return pkg.version ?? 'unknown';
    } catch {
      // keep climbing
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

function parseCollectArgs(args: string[]): { config?: string } | string {
  const out: { config?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--config' || a === '-c') {
      const v = args[++i];
      if (!v) return `${a} needs a file path`;
      out.config = v;
    } else if (a.startsWith('--config=')) out.config = a.slice('--config='.length);
    else return `unknown option ${a} for collect`;
  }
  return out;
}

/**
 * Runs the collector until SIGTERM or SIGINT, then shuts down gracefully.
 * Resolves to the exit code.
 */
async function collect(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const parsed = parseCollectArgs(args);
  if (typeof parsed === 'string') {
    io.stderr(`privacy-log: ${parsed}\n\n${USAGE}`);
    return 2;
  }
  const config = loadOperatorConfig({ ...(parsed.config ? { file: parsed.config } : {}), env });
  const server = await startCollectorServer({ config });
  const names = server.aggregators.map((a) => a.name).join(', ');
  io.stderr(`privacy-log collector listening on ${server.url} (storing to: ${names})\n`);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        io.stderr(`privacy-log: second ${signal}, exiting now\n`);
        process.exit(1);
      }
      io.stderr(`privacy-log: ${signal} received, finishing in-flight batches\n`);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await server.close();
  const m = server.collector.metrics();
  io.stderr(
    `privacy-log collector stopped: ${m.batches} batches, ${m.events} events stored, ${m.rejected} rejected, ${m.unauthorized} unauthorized\n`,
  );
  return 0;
}

/**
 * A command's help or its run: with `--help` or `-h` anywhere among its
 * arguments, prints its usage (exit code 0); else resolves to the run's
 * exit code (a failed run throws).
 */
async function runOrHelp(args: string[], usage: string, io: CliIo, run: () => Promise<number>): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(usage);
    return 0;
  }
  return run();
}

/** The command's entry point; resolves to the process exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = processIo,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'collect':
        return await runOrHelp(rest, COLLECT_USAGE, io, () => collect(rest, env, io));
      case 'stats':
        return await runOrHelp(rest, STATS_USAGE, io, async () => {
          io.stdout(await runStats(rest, env));
          return 0;
        });
      case 'events':
        return await runOrHelp(rest, EVENTS_USAGE, io, async () => {
          await runEvents(rest, env, io);
          return 0;
        });
      case 'version':
      case '--version':
      case '-v':
        io.stdout(`${version()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.stderr(`privacy-log: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.stderr(`${message.startsWith('privacy-log') ? message : `privacy-log: ${message}`}\n`);
    // Bad usage or configuration: 2. A store that cannot be opened or read (missing file, old schema): 1.
    return isPrivacyLogError(e) && !isPrivacyLogError(e, ERROR_CODES.STORE_UNAVAILABLE) ? 2 : 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return fs.realpathSync(script) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `privacy-log events | head`: a reader that stops early ends the command quietly, as with other tools.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`privacy-log: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
