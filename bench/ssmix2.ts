/**
 * SS-MIX2 import benchmark: how many standardized storage files per second
 * `enkaku import-ssmix2` takes in (issue target: at least 200 files/s, on SQLite and on
 * PostgreSQL).
 *
 * One run, per database:
 *  1. writes a synthetic SS-MIX2 tree (src/server/interop/ssmix2/synthetic.ts; about 11 files
 *     per patient, ISO-2022-JP) into a temp folder under `.bench/`;
 *  2. opens a fresh Enkaku runtime (a new data folder; on PostgreSQL a new schema `bench_…`,
 *     dropped afterwards) and registers a facility;
 *  3. times `importSsmix2` exactly as the command runs it (decode, map, PatientUpdates for
 *     ADT-00, ClinicalIntake.record in batches of 500 items, each batch one transaction with
 *     its audit entries; SQLite with synchronous=FULL), then checks that every file was
 *     imported without error;
 *  4. times a second import twice: with the state file (unchanged files are not read) and
 *     without it (every file read, mapped and found unchanged by ClinicalIntake's idempotency).
 *
 *   node --import tsx bench/ssmix2.ts [--patients 200] [--seed 1] [--database-url postgres://...] [--keep]
 *
 * `bench/orders.ts` calls {@link benchSsmix2}.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/server/config.ts';
import { createRuntime } from '../src/server/runtime.ts';
import { createLogger } from '../src/server/platform/log.ts';
import { importSsmix2, ssmix2StatePath, writeSyntheticSsmix2 } from '../src/server/interop/ssmix2/index.ts';

/** The issue's target. */
export const SSMIX2_TARGET_FILES_PER_SECOND = 200;

/** Options of {@link benchSsmix2}. */
export interface BenchSsmix2Options {
  /** Patients in the synthetic tree (default 200, about 2,200 files). */
  patients?: number;
  seed?: number;
  /** PostgreSQL URL; unset means SQLite in the run's data folder. */
  databaseUrl?: string;
  /** Parent of the run's temp folder (default `.bench/` of the checkout). */
  dir?: string;
  /** Keep the temp folder (and the PostgreSQL schema). */
  keep?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Timing of one import. */
export interface BenchSsmix2Timing {
  seconds: number;
  filesPerSecond: number;
}

/** The result of {@link benchSsmix2}. */
export interface BenchSsmix2Result extends BenchSsmix2Timing {
  /** Files imported by the first (timed) import. */
  files: number;
  db: 'sqlite' | 'postgresql';
  /** Clinical items recorded. */
  items: number;
  /** Bytes of the files. */
  bytes: number;
  /** Second import, unchanged files skipped by the state file. */
  rerunWithState: BenchSsmix2Timing;
  /** Second import without the state file (every file read; idempotency finds nothing new). */
  rerunWithoutState: BenchSsmix2Timing;
  /** Problems that make the figures invalid (files that failed, items not recorded again ...). */
  problems: string[];
}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OPERATOR = { kind: 'system', name: 'bench' } as const;

function rate(files: number, seconds: number): BenchSsmix2Timing {
  return { seconds, filesPerSecond: seconds > 0 ? files / seconds : 0 };
}

/**
 * Generate a tree, import it into a fresh Enkaku (SQLite, or PostgreSQL with `databaseUrl`) and
 * time it; see the module comment. The temp folder and schema are removed unless `keep`.
 */
export async function benchSsmix2(opts: BenchSsmix2Options = {}): Promise<BenchSsmix2Result> {
  const log = opts.log ?? (() => undefined);
  const parent = opts.dir ?? path.join(ROOT, '.bench');
  await fsp.mkdir(parent, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(parent, 'ssmix2-'));
  const schema = opts.databaseUrl ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  const db = opts.databaseUrl ? 'postgresql' : 'sqlite';
  try {
    const storage = path.join(dir, 'storage');
    const tree = await writeSyntheticSsmix2(storage, { patients: opts.patients ?? 200, seed: opts.seed ?? 1 });
    log(`${db}: wrote ${tree.files.length} SS-MIX2 files for ${tree.patients.length} patients`);
    const config = loadConfig({
      ENKAKU_DATA_DIR: path.join(dir, 'data'),
      ...(opts.databaseUrl ? { ENKAKU_DATABASE_URL: opts.databaseUrl, ENKAKU_DATABASE_SCHEMA: schema } : {}),
      ENKAKU_HTTP_PORT: '0',
      ENKAKU_DICOM_PORT: '0',
    });
    const rt = await createRuntime(config, createLogger('silent'));
    try {
      const facility = await rt.facilities.add(OPERATOR, { name: 'SS-MIX2 BENCH', aets: [] });
      const deps = { clinical: rt.clinical, patients: rt.patients };
      const options = { facilityId: facility.id, actor: OPERATOR, stateFile: ssmix2StatePath(config.dataDir, facility.id) };
      const first = await importSsmix2(deps, storage, options);
      log(`${db}: imported ${first.imported} files in ${first.seconds.toFixed(2)} s`);
      const withState = await importSsmix2(deps, storage, options);
      const withoutState = await importSsmix2(deps, storage, { ...options, useState: false });
      const problems: string[] = [];
      if (first.errorCount) problems.push(`${first.errorCount} file(s) failed, e.g. ${first.errors[0]!.file}: ${first.errors[0]!.message}`);
      if (first.imported !== tree.files.length) problems.push(`imported ${first.imported} of ${tree.files.length} files`);
      if (withState.skipped.unchanged !== tree.files.length) problems.push(`second import skipped ${withState.skipped.unchanged} of ${tree.files.length} unchanged files`);
      if (withoutState.items.added || withoutState.items.updated) problems.push(`re-reading added ${withoutState.items.added} and updated ${withoutState.items.updated} items`);
      return {
        files: first.imported,
        ...rate(first.imported, first.seconds),
        db,
        items: first.items.added,
        bytes: first.bytes,
        rerunWithState: rate(tree.files.length, withState.seconds),
        rerunWithoutState: rate(tree.files.length, withoutState.seconds),
        problems,
      };
    } finally {
      await rt.close();
    }
  } finally {
    if (!opts.keep) {
      await fsp.rm(dir, { recursive: true, force: true });
      if (schema && opts.databaseUrl) {
        const c = new pg.Client({ connectionString: opts.databaseUrl });
        try {
          await c.connect();
          await c.query(`drop schema if exists ${schema} cascade`);
        } finally {
          await c.end().catch(() => undefined);
        }
      }
    } else log(`kept ${dir}${schema ? ` and PostgreSQL schema ${schema}` : ''}`);
  }
}

/** The results as the table printed by the command (and by `npm run bench:orders`). */
export function formatBenchSsmix2(results: readonly BenchSsmix2Result[]): string[] {
  const lines = [
    'SS-MIX2 import       Files   Items  Seconds  Files/s  Target    Result | re-run: state  no state (files/s)',
    '-------------------------------------------------------------------------------------------------------',
  ];
  for (const r of results) {
    const pass = r.problems.length === 0 && r.filesPerSecond >= SSMIX2_TARGET_FILES_PER_SECOND;
    lines.push(
      `${`Enkaku ${r.db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`.padEnd(18)} ${String(r.files).padStart(7)} ${String(r.items).padStart(7)} ${r.seconds.toFixed(2).padStart(8)} `
        + `${r.filesPerSecond.toFixed(0).padStart(8)}  >= ${SSMIX2_TARGET_FILES_PER_SECOND}  ${(pass ? 'PASS' : 'MISS').padStart(6)} | `
        + `${r.rerunWithState.filesPerSecond.toFixed(0).padStart(12)} ${r.rerunWithoutState.filesPerSecond.toFixed(0).padStart(9)}`,
    );
    for (const p of r.problems) lines.push(`  problem: ${p}`);
  }
  return lines;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { patients: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' }, 'database-url': { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write('Usage: node --import tsx bench/ssmix2.ts [--patients 200] [--seed 1] [--database-url postgres://...] [--keep]\n'
      + '  Runs on SQLite, and on PostgreSQL too when --database-url (or ENKAKU_BENCH_DATABASE_URL) is given.\n');
    return 0;
  }
  const patients = Number(values.patients);
  const seed = Number(values.seed);
  if (!Number.isInteger(patients) || patients < 1 || !Number.isInteger(seed)) {
    process.stderr.write('--patients and --seed must be integers (patients >= 1)\n');
    return 2;
  }
  const url = values['database-url'] ?? process.env.ENKAKU_BENCH_DATABASE_URL;
  const say = (l: string): void => void process.stdout.write(`${l}\n`);
  const results: BenchSsmix2Result[] = [];
  results.push(await benchSsmix2({ patients, seed, keep: values.keep ?? false, log: say }));
  if (url) results.push(await benchSsmix2({ patients, seed, databaseUrl: url, keep: values.keep ?? false, log: say }));
  say('');
  for (const l of formatBenchSsmix2(results)) say(l);
  return results.some((r) => r.problems.length) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
