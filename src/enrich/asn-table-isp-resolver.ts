/**
 * The out-of-the-box ISP data: the ASN ranges shipped in the optional npm
 * package `@ip-location-db/asn` (CC BY 4.0, RouteViews, DB-IP, NRO). Its README
 * warns of known errors in the published data; an operator's mmdb is preferred.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import { buildAsnTable } from './asn-csv.js';
import type { AsnTable } from './asn-table.js';
import { decodeAsnTable, encodeAsnTable } from './asn-table-file.js';
import { defaultCacheDir } from './cache-dir.js';
import type { IspRecord, IspResolver } from './isp-resolver.js';

/** The npm package the table is built from. */
export const ASN_DATA_PACKAGE = '@ip-location-db/asn';
/** Its IPv4 file (integer ranges) and IPv6 file (text ranges). */
export const ASN_IPV4_FILE = 'asn-ipv4-num.csv';
export const ASN_IPV6_FILE = 'asn-ipv6.csv';
/** Bumped whenever the binary layout or the build rules change. */
export const ASN_TABLE_FORMAT = 2;

export interface AsnTableOptions {
  /**
   * Where to keep the binary table built from the CSV (one file per data
   * version, rebuilt when the data changes). `false`: build in memory every
   * start. Default: the OS cache directory (see `defaultCacheDir`).
   */
  cacheDir?: string | false;
  /**
   * A directory holding `asn-ipv4-num.csv`, `asn-ipv6.csv` and a `package.json`
   * with a `version`. Default: the installed `@ip-location-db/asn`.
   */
  dataDir?: string;
  /**
   * Share one loaded table with the other resolvers of this process that use
   * the same data and cache directory (every `privacyLog()` with the default
   * `isp: 'auto'`), instead of loading ≈ 9 MiB again. Default true.
   */
  share?: boolean;
}

const KNOWN_KEYS = ['cacheDir', 'dataDir', 'share'] as const;

/** What the resolver loaded, for metrics and the benchmark. */
export interface AsnTableInfo {
  state: 'loading' | 'ready' | 'failed';
  /** 'cache' when the binary file was used, 'csv' when the table was built. */
  source?: 'cache' | 'csv';
  loadMs?: number;
  ranges?: { v4: number; v6: number };
  /** Bytes of the typed arrays plus UTF-8 bytes of the deduplicated names. */
  bytes?: number;
  cacheFile?: string;
  /** Why the cache file was not read or written (never fatal). */
  cacheIssue?: string;
  /** Rows of the CSV that did not parse. */
  badRows?: number;
  error?: string;
}

export interface AsnTableIspResolver extends IspResolver {
  ready(): Promise<void>;
  close(): void;
  info(): AsnTableInfo;
  /** The loaded table, once ready. */
  table(): AsnTable | undefined;
}

/** The installed data package's directory, or undefined when it is not installed. */
export function findAsnDataDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return dirname(require.resolve(`${ASN_DATA_PACKAGE}/package.json`));
  } catch {
    return undefined;
  }
}

function dataError(message: string, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.ENRICH_DATA, message, { cause, retryable: false });
}

/**
 * The ASN table from `@ip-location-db/asn`, built once from its CSV files into
 * typed arrays and cached as a binary file. Loading starts at once; `lookup`
 * answers `undefined` until `ready()` resolves. Resolvers of one process share
 * the loaded table; it is dropped when the last of them is closed.
 *
 * @example
 * const isp = asnTableIspResolver({ cacheDir: './data/cache' });
 * await isp.ready();
 * isp.lookup(4, 0x080808); // { isp: 'Google LLC', asn: 15169 } — 8.8.8.0/24
 */
export function asnTableIspResolver(options: AsnTableOptions = {}): AsnTableIspResolver {
  const where = 'asnTableIspResolver()';
  if (typeof options !== 'object' || options === null) throw invalidOption(where, 'options', 'an object');
  assertKnownKeys(options, KNOWN_KEYS, where);
  const { cacheDir = defaultCacheDir(), dataDir, share = true } = options;
  if (typeof share !== 'boolean') throw invalidOption(where, 'share', 'true or false');
  if (cacheDir !== false && (typeof cacheDir !== 'string' || cacheDir === '')) {
    throw invalidOption(where, 'cacheDir', 'a directory path or false');
  }
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) {
    throw invalidOption(where, 'dataDir', 'a directory path');
  }
  const dir = dataDir ?? findAsnDataDir();
  if (dir === undefined) {
    throw new PrivacyLogError(
      ERROR_CODES.MISSING_DEPENDENCY,
      `${where}: the optional package ${ASN_DATA_PACKAGE} is not installed. Install it (npm install ${ASN_DATA_PACKAGE}), or pass an mmdb file: enrich: { isp: { mmdb: './GeoLite2-ASN.mmdb' } }.`,
      { retryable: false },
    );
  }

  let table: AsnTable | undefined;
  let closed = false;
  const info: AsnTableInfo = { state: 'loading' };
  const started = performance.now();
  const shareKey = `${dir}\u0000${cacheDir === false ? '' : cacheDir}`;
  let entry: SharedLoad | undefined = share ? SHARED.get(shareKey) : undefined;
  if (entry === undefined) {
    const loadInfo: AsnTableInfo = { state: 'loading' };
    entry = { loading: load(dir, cacheDir, loadInfo).then((t) => ({ table: t, info: loadInfo })), refs: 0 };
    if (share) {
      const mine = entry;
      SHARED.set(shareKey, mine);
      // a failed load is forgotten, so the next resolver tries again
      mine.loading.catch(() => {
        if (SHARED.get(shareKey) === mine) SHARED.delete(shareKey);
      });
    }
  }
  entry.refs++;
  const held = entry;

  const loading = held.loading.then(
    ({ table: t, info: loaded }) => {
      Object.assign(info, loaded, { state: 'ready' });
      info.loadMs = Math.round(performance.now() - started);
      info.ranges = { v4: t.size.v4, v6: t.size.v6 };
      info.bytes = t.arrayBytes + t.namesBytes;
      if (!closed) table = t;
    },
    (e: unknown) => {
      info.state = 'failed';
      info.error = e instanceof Error ? e.message : String(e);
      throw e;
    },
  );
  // a failed load is reported through ready(); never as an unhandled rejection
  loading.catch(() => {});

  return {
    lookup(family: 4 | 6, prefix: number): IspRecord | undefined {
      return table === undefined ? undefined : table.lookup(family, prefix);
    },
    ready: () => loading,
    close(): void {
      if (closed) return;
      closed = true;
      table = undefined;
      if (--held.refs === 0 && SHARED.get(shareKey) === held) SHARED.delete(shareKey);
    },
    info: () => ({ ...info }),
    table: () => table,
  };
}

interface SharedLoad {
  loading: Promise<{ table: AsnTable; info: AsnTableInfo }>;
  /** Open resolvers holding this table; at 0 it is dropped. */
  refs: number;
}

/** Tables loaded in this process, shared by resolvers of the same data and cache directory. */
const SHARED = new Map<string, SharedLoad>();

async function load(dir: string, cacheDir: string | false, info: AsnTableInfo): Promise<AsnTable> {
  const v4File = join(dir, ASN_IPV4_FILE);
  const v6File = join(dir, ASN_IPV6_FILE);
  let key: string;
  let version: string;
  try {
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
    version = typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : '0';
    const [s4, s6] = await Promise.all([stat(v4File), stat(v6File)]);
    key = `format ${ASN_TABLE_FORMAT}; ${ASN_DATA_PACKAGE}@${version}; ${s4.size}/${Math.trunc(s4.mtimeMs)}; ${s6.size}/${Math.trunc(s6.mtimeMs)}`;
  } catch (e) {
    throw dataError(
      `asnTableIspResolver(): cannot read the ASN data in ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'}). Reinstall ${ASN_DATA_PACKAGE}, or configure an mmdb file instead.`,
      e,
    );
  }

  const file =
    cacheDir === false
      ? undefined
      : join(cacheDir, `asn-table-f${ASN_TABLE_FORMAT}-${version.replace(/[^0-9A-Za-z.-]/g, '_')}.bin`);
  if (file !== undefined) {
    info.cacheFile = file;
    try {
      const decoded = decodeAsnTable(await readFile(file), key);
      if (typeof decoded !== 'string') {
        info.source = 'cache';
        return decoded;
      }
      info.cacheIssue = decoded;
    } catch (e) {
      info.cacheIssue = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unreadable';
    }
  }

  let built: Awaited<ReturnType<typeof buildAsnTable>>;
  try {
    const [v4, v6] = await Promise.all([readFile(v4File, 'utf8'), readFile(v6File, 'utf8')]);
    built = await buildAsnTable(v4, v6);
  } catch (e) {
    throw dataError(`asnTableIspResolver(): cannot build the ASN table from ${dir}. Reinstall ${ASN_DATA_PACKAGE}.`, e);
  }
  info.source = 'csv';
  info.badRows = built.stats.badRows;
  if (built.table.size.v4 + built.table.size.v6 === 0) {
    throw dataError(
      `asnTableIspResolver(): the ASN data in ${dir} holds no usable range. Reinstall ${ASN_DATA_PACKAGE}.`,
    );
  }
  if (file !== undefined) {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, encodeAsnTable(built.table, key));
      await rename(tmp, file);
    } catch (e) {
      info.cacheIssue = `not written (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
      await unlink(tmp).catch(() => {});
    }
  }
  return built.table;
}
