/**
 * Opens the database: SQLite (better-sqlite3, WAL, synchronous=FULL) in the data folder
 * by default, PostgreSQL when a `postgres://` URL is configured. Migrations run on open.
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationProvider } from 'kysely';
import type { Database } from './schema.ts';
import { migrations } from './migrations.ts';

export type { Database } from './schema.ts';

/** An open database with its dialect name. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Where the data lives, for operators (S3 data residency). */
  location: string;
  close(): Promise<void>;
}

// bigint (int8) and numeric counts come back as numbers: sizes stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * The session settings of every connection Enkaku opens to PostgreSQL (the `options` of a
 * connection), for `schema` when given. No parallel query: Enkaku's statements are short
 * index walks run for many users at once, and starting parallel workers costs more than
 * they save (a fuzzy name search on a million studies: 24 ms with two workers, 12 ms
 * without).
 */
export function postgresSessionOptions(schema?: string): string {
  return `-c max_parallel_workers_per_gather=0${schema ? ` -c search_path=${schema}` : ''}`;
}

/**
 * Opens (and migrates) the database.
 * @param opts.dataDir - data folder holding `enkaku.sqlite` when no URL is given
 * @param opts.url - PostgreSQL URL, or undefined for SQLite
 * @param opts.schema - PostgreSQL schema to use; created when missing
 */
export async function openDatabase(opts: { dataDir: string; url?: string | undefined; schema?: string | undefined }): Promise<Db> {
  let db: Db;
  if (opts.url) {
    const schema = opts.schema;
    if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('database schema name must be a lower-case SQL identifier');
    if (schema) {
      const admin = new pg.Client({ connectionString: opts.url });
      await admin.connect();
      try {
        await admin.query(`create schema if not exists ${schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({ connectionString: opts.url, max: 10, options: postgresSessionOptions(schema) });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const u = new URL(opts.url);
    db = {
      kysely,
      dialect: 'postgres',
      location: `postgresql://${u.hostname}:${u.port || 5432}${u.pathname}${schema ? ` (schema ${schema})` : ''}`,
      close: () => kysely.destroy(),
    };
  } else {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    const file = path.join(opts.dataDir, 'enkaku.sqlite');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 10000');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    db = { kysely, dialect: 'sqlite', location: file, close: () => kysely.destroy() };
  }
  // On PostgreSQL the migration tables live in the schema in use: without this, Kysely's
  // check for them would find another schema's tables and skip creating its own.
  const migrator = new Migrator({
    db: db.kysely,
    provider,
    ...(db.dialect === 'postgres' ? { migrationTableSchema: opts.schema ?? 'public' } : {}),
  });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's check for its migration tables reads the catalog of every schema; another
  // application dropping a schema of its own at that moment makes the check fail with
  // "schema ... does not exist" although nothing of Enkaku's is wrong. Such a failure
  // happens before any migration runs, so it is safe to try again.
  for (let attempt = 1; error && !results?.length && /schema ".*" does not exist/.test((error as Error).message) && attempt <= 5; attempt++) {
    await new Promise((r) => setTimeout(r, 100 * attempt));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    await db.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${(error as Error).message}`);
  }
  return db;
}

/**
 * Kysely prepares every statement anew; better-sqlite3 statements are reusable, and
 * preparing costs more than running the small statements of the intake path. A bounded
 * cache keyed by SQL text removes that cost (Kysely runs one statement at a time on the
 * single SQLite connection, so a cached statement is never in use twice).
 */
function withStatementCache(db: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (source: string) => {
          let stmt = cache.get(source);
          if (!stmt) {
            if (cache.size >= 1000) cache.clear();
            stmt = target.prepare(source);
            cache.set(source, stmt);
          }
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Cheap round trip used by `/readyz`. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db.kysely);
}
