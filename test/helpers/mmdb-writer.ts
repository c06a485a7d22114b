/**
 * A tiny MaxMind DB (.mmdb, format 2.0) writer for test fixtures: a binary
 * search tree of 24-bit records, a data section of maps, strings and unsigned
 * integers, and the metadata block. Enough for ASN databases; not a general
 * writer (no pointers, no deduplication beyond identical records).
 */
import { isIPv4 } from 'node:net';

export type MmdbValue = string | number | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** Network address: '8.8.8.0' or '2001:4860::'. */
  address: string;
  prefixLength: number;
  data: { [key: string]: MmdbValue };
}

export interface MmdbWriterOptions {
  databaseType?: string;
  ipVersion?: 4 | 6;
  networks: MmdbNetwork[];
}

interface TrieNode {
  children: [TrieNode | Leaf | undefined, TrieNode | Leaf | undefined];
}
interface Leaf {
  offset: number;
}

const isLeaf = (x: TrieNode | Leaf | undefined): x is Leaf => x !== undefined && 'offset' in x;

function controlBytes(type: number, size: number): number[] {
  const out: number[] = [];
  let sizeBits: number;
  const ext: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    ext.push(size - 29);
  } else if (size < 65821) {
    sizeBits = 30;
    const s = size - 285;
    ext.push(s >> 8, s & 255);
  } else {
    sizeBits = 31;
    const s = size - 65821;
    ext.push((s >> 16) & 255, (s >> 8) & 255, s & 255);
  }
  if (type <= 7) out.push((type << 5) | sizeBits);
  else out.push(sizeBits, type - 7);
  return [...out, ...ext];
}

function uintBytes(n: number | bigint): number[] {
  const bytes: number[] = [];
  let v = BigInt(n);
  while (v > 0n) {
    bytes.unshift(Number(v & 255n));
    v >>= 8n;
  }
  return bytes;
}

function encodeValue(value: MmdbValue, hint?: 'uint16' | 'uint64'): number[] {
  if (typeof value === 'string') {
    const b = [...Buffer.from(value, 'utf8')];
    return [...controlBytes(2, b.length), ...b];
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new RangeError('only unsigned integers');
    const b = uintBytes(value);
    const type = hint === 'uint16' ? 5 : hint === 'uint64' ? 9 : 6;
    return [...controlBytes(type, b.length), ...b];
  }
  if (Array.isArray(value)) {
    return [...controlBytes(11, value.length), ...value.flatMap((v) => encodeValue(v))];
  }
  const entries = Object.entries(value);
  return [...controlBytes(7, entries.length), ...entries.flatMap(([k, v]) => [...encodeValue(k), ...encodeValue(v)])];
}

function addressBits(address: string, ipVersion: 4 | 6): number[] {
  const bits: number[] = [];
  if (isIPv4(address)) {
    if (ipVersion === 6) for (let i = 0; i < 96; i++) bits.push(0);
    for (const part of address.split('.')) for (let i = 7; i >= 0; i--) bits.push((Number(part) >> i) & 1);
    return bits;
  }
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  for (const g of groups) for (let i = 15; i >= 0; i--) bits.push((Number.parseInt(g, 16) >> i) & 1);
  return bits;
}

/**
 * @example
 * writeFileSync(file, writeMmdb({ databaseType: 'GeoLite2-ASN', networks: [
 *   { address: '8.8.8.0', prefixLength: 24, data: { autonomous_system_number: 15169, autonomous_system_organization: 'Google LLC' } },
 * ] }));
 */
export function writeMmdb(options: MmdbWriterOptions): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const data: number[] = [];
  const offsets = new Map<string, number>();
  const root: TrieNode = { children: [undefined, undefined] };
  for (const net of options.networks) {
    const json = JSON.stringify(net.data);
    let offset = offsets.get(json);
    if (offset === undefined) {
      offset = data.length;
      data.push(...encodeValue(net.data));
      offsets.set(json, offset);
    }
    const bits = addressBits(net.address, ipVersion);
    const depth = (isIPv4(net.address) && ipVersion === 6 ? 96 : 0) + net.prefixLength;
    let node = root;
    for (let i = 0; i < depth - 1; i++) {
      const bit = bits[i] as 0 | 1;
      const child = node.children[bit];
      if (child === undefined || isLeaf(child)) {
        // push an existing shorter network down both sides
        const next: TrieNode = { children: [child, child] };
        node.children[bit] = next;
        node = next;
      } else node = child;
    }
    node.children[bits[depth - 1] as 0 | 1] = { offset };
  }
  // number the nodes breadth-first; the root is 0
  const order: TrieNode[] = [];
  const index = new Map<TrieNode, number>();
  const queue: TrieNode[] = [root];
  while (queue.length > 0) {
    const n = queue.shift() as TrieNode;
    index.set(n, order.length);
    order.push(n);
    for (const c of n.children) if (c !== undefined && !isLeaf(c)) queue.push(c);
  }
  const nodeCount = order.length;
  const tree = Buffer.alloc(nodeCount * 6);
  const recordOf = (c: TrieNode | Leaf | undefined): number =>
    c === undefined ? nodeCount : isLeaf(c) ? nodeCount + 16 + c.offset : (index.get(c) as number);
  order.forEach((n, i) => {
    tree.writeUIntBE(recordOf(n.children[0]), i * 6, 3);
    tree.writeUIntBE(recordOf(n.children[1]), i * 6 + 3, 3);
  });
  const meta = [
    ...controlBytes(7, 9),
    ...encodeValue('node_count'),
    ...encodeValue(nodeCount),
    ...encodeValue('record_size'),
    ...encodeValue(24, 'uint16'),
    ...encodeValue('ip_version'),
    ...encodeValue(ipVersion, 'uint16'),
    ...encodeValue('database_type'),
    ...encodeValue(options.databaseType ?? 'GeoLite2-ASN'),
    ...encodeValue('languages'),
    ...encodeValue(['en']),
    ...encodeValue('binary_format_major_version'),
    ...encodeValue(2, 'uint16'),
    ...encodeValue('binary_format_minor_version'),
    ...encodeValue(0, 'uint16'),
    ...encodeValue('build_epoch'),
    ...encodeValue(1_700_000_000, 'uint64'),
    ...encodeValue('description'),
    ...encodeValue({ en: 'privacy-log test fixture' }),
  ];
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    Buffer.from(data),
    Buffer.from([0xab, 0xcd, 0xef]),
    Buffer.from('MaxMind.com', 'latin1'),
    Buffer.from(meta),
  ]);
}
