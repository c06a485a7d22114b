/**
 * Address ranges that reverse DNS skips: they have no public PTR, and asking a
 * resolver about them only leaks internal topology.
 */

/** [network, prefix length] pairs for IPv4. */
const IPV4_SKIPPED: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], // "this network"
  [0x0a000000, 8], // private 10/8
  [0x64400000, 10], // CGNAT 100.64/10
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local
  [0xac100000, 12], // private 172.16/12
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // TEST-NET-1
  [0xc0a80000, 16], // private 192.168/16
  [0xc6120000, 15], // benchmarking 198.18/15
  [0xc6336400, 24], // TEST-NET-2
  [0xcb007100, 24], // TEST-NET-3
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved + broadcast
];

/** Flat [network, mask, network, mask, …] for a tight loop. */
const IPV4_MASKS = Uint32Array.from(
  IPV4_SKIPPED.flatMap(([net, len]) => [net >>> 0, len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0]),
);

/**
 * True for IPv4 addresses in private, loopback, link-local, CGNAT, multicast,
 * documentation, benchmarking or reserved ranges.
 */
export function isSkippedIPv4(address: number): boolean {
  for (let i = 0; i < IPV4_MASKS.length; i += 2) {
    if ((address & (IPV4_MASKS[i + 1] as number)) >>> 0 === IPV4_MASKS[i]) return true;
  }
  return false;
}

/**
 * True for IPv6 addresses that are unspecified, loopback, link-local (fe80::/10),
 * unique-local (fc00::/7), multicast (ff00::/8), documentation (2001:db8::/32),
 * IPv4-mapped, IPv4-embedding NAT64 (64:ff9b::/96) or discard-only (100::/64).
 */
export function isSkippedIPv6(w: Uint32Array): boolean {
  const w0 = w[0] as number;
  const top16 = w0 >>> 16;
  if (w0 === 0 && w[1] === 0) {
    // ::, ::1, ::ffff:0:0/96 and the deprecated IPv4-compatible ::/96
    if (w[2] === 0 || w[2] === 0xffff) return true;
  }
  if ((top16 & 0xffc0) === 0xfe80) return true; // fe80::/10
  if ((top16 & 0xfe00) === 0xfc00) return true; // fc00::/7
  if ((top16 & 0xff00) === 0xff00) return true; // ff00::/8
  if (w0 === 0x20010db8) return true; // 2001:db8::/32
  if (w0 === 0x0064ff9b && w[1] === 0 && w[2] === 0) return true; // 64:ff9b::/96
  if (w0 === 0x01000000 && w[1] === 0) return true; // 100::/64
  return false;
}
