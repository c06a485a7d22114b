/**
 * The ISP lookup contract. A resolver never sees a client address: only its
 * routable prefix (/24 for IPv4, /48 for IPv6) as an integer, computed inside
 * capture (DESIGN §5).
 */

/** What an ISP lookup yields: the organization name (trimmed) and its AS number. */
export interface IspRecord {
  readonly isp: string;
  readonly asn: number;
}

/**
 * Looks up the network operator of a routable prefix.
 *
 * `lookup` is called on the request path: it must be synchronous, must not
 * throw, and should take well under a microsecond. Slow setup belongs in
 * `ready()`; until it resolves, `lookup` may return `undefined`.
 *
 * @example
 * const fixed: IspResolver = {
 *   lookup: (family, prefix) => (family === 4 && prefix === 0x080808 ? { isp: 'Google LLC', asn: 15169 } : undefined),
 * };
 */
export interface IspResolver {
  /**
   * @param family 4 or 6
   * @param prefix IPv4: the /24 as an integer (`address >>> 8`, 0 … 2^24−1);
   *   IPv6: the /48 as an integer (its first three hextets, 0 … 2^48−1).
   *   `prefixText(family, prefix)` gives its network address as text.
   */
  lookup(family: 4 | 6, prefix: number): IspRecord | undefined;
  /** Resolves when lookups give answers; rejects with a coded ENRICH_DATA error when the data cannot be loaded. */
  ready?(): Promise<void>;
  /** Releases the data. */
  close?(): void;
}
