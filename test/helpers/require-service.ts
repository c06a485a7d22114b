/**
 * Service gates for tests that need a real service (PostgreSQL, Chromium,
 * goaccess, a loopback DNS responder). Outside CI a missing service makes the
 * suite skip with the reason; when CI sets PRIVACY_LOG_REQUIRE_<NAME>=1 the same
 * absence fails instead, so a skip can never hide in CI.
 *
 * @example
 * const pg = await probeService('POSTGRES', async () => { await client.connect(); });
 * describe.skipIf(!pg.available)(`postgres (${pg.reason})`, () => { ... });
 */
export interface ServiceProbe {
  available: boolean;
  reason: string;
}

export async function probeService(name: string, probe: () => Promise<unknown>): Promise<ServiceProbe> {
  const required = process.env[`PRIVACY_LOG_REQUIRE_${name}`] === '1';
  try {
    await probe();
    return { available: true, reason: `${name} available` };
  } catch (err) {
    const reason = `${name} unavailable: ${err instanceof Error ? err.message : String(err)}`;
    if (required) {
      throw new Error(`${reason} — PRIVACY_LOG_REQUIRE_${name}=1 forbids skipping`);
    }
    console.warn(`skipping: ${reason}`);
    return { available: false, reason };
  }
}
