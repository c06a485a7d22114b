/**
 * `npm start`: the kindergarten site on port 3000 (or PORT), data in ./data
 * (or PRIVACY_LOG_DATA_DIR). SIGTERM/SIGINT close it gracefully: requests in
 * flight finish, and every accepted event is flushed before the process exits.
 */
import { createSite, DEFAULT_DATA_DIR, DEFAULT_PORT, type Site, STATS_PREFIX, STATS_USER } from './site.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;

function portFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`PORT must be an integer from 0 to 65535, got "${value}".`);
    process.exit(2);
  }
  return port;
}

let site: Site;
try {
  site = await createSite({
    dataDir: process.env.PRIVACY_LOG_DATA_DIR || DEFAULT_DATA_DIR,
    port: portFromEnv(process.env.PORT),
    statsToken: process.env.STATS_TOKEN || undefined,
  });
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'EADDRINUSE' ? ' — the port is taken: stop the other server or set PORT.' : '';
  console.error(`The site could not start: ${err instanceof Error ? err.message : String(err)}${hint}`);
  process.exit(1);
}

const tokenHelp =
  site.stats.source === 'given'
    ? 'the value of STATS_TOKEN'
    : `${site.stats.source === 'created' ? 'generated now, ' : ''}stored in ${site.stats.file} (cat it; or set STATS_TOKEN)`;
console.log(`Детский сад «Облачко» is running at ${site.url}/`);
console.log(`Stats dashboard:  ${site.url}${STATS_PREFIX}`);
console.log(`Dashboard token:  ${tokenHelp}`);
console.log(
  `                  browser login: user "${STATS_USER}", password: the token; scripts: Authorization: Bearer <token>`,
);
console.log(`Data directory:   ${site.dataDir}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing — finishing requests and flushing the privacy log…`);
  const timer = setTimeout(() => {
    console.error(`Shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting.`);
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await site.close();
    const m = site.privacy.pipeline.metrics();
    console.log(`Closed: ${m.delivered} events delivered, ${m.spoolPending} spooled for replay, ${m.dropped} dropped.`);
    process.exit(0);
  } catch (err) {
    console.error(`Shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
