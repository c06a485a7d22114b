/**
 * Structural types for the `pg` driver, so nothing here needs `pg` to type
 * check or load: `pg` is an optional peer dependency, imported only when a
 * postgresAggregator connects.
 */
import { ERROR_CODES, PrivacyLogError } from '../../errors.js';

export interface PgResult {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}

/** A named query: the server parses and plans it once per connection (pg's prepared statements). */
export interface PgNamedQuery {
  name: string;
  text: string;
  values: unknown[];
}

export interface PgQueryable {
  query(text: string, params?: unknown[]): Promise<PgResult>;
  query(config: PgNamedQuery): Promise<PgResult>;
}

export interface PgClientLike extends PgQueryable {
  release(err?: Error | boolean): void;
}

/** What privacy-log needs of a pool: `pg.Pool` fits, so does any compatible pool. */
export interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
}

export interface PgPoolConfig {
  connectionString?: string;
  max?: number;
  connectionTimeoutMillis?: number;
  idleTimeoutMillis?: number;
  application_name?: string;
}

type PgModule = {
  Pool: new (config: PgPoolConfig) => PgPoolLike & { on(event: 'error', fn: (e: Error) => void): void };
};

/** Import `pg` lazily; a coded MISSING_DEPENDENCY error when it is not installed. */
export async function loadPg(): Promise<PgModule> {
  try {
    const mod = (await import('pg')) as unknown as { default?: PgModule } & Partial<PgModule>;
    const pg = (mod.default ?? mod) as PgModule;
    if (typeof pg.Pool !== 'function') throw new Error('the pg module has no Pool export');
    return pg;
  } catch (err) {
    throw new PrivacyLogError(
      ERROR_CODES.MISSING_DEPENDENCY,
      'postgresAggregator needs the "pg" package, an optional peer dependency: run `npm install pg`.',
      { cause: err, retryable: false },
    );
  }
}
