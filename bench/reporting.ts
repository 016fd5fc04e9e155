/**
 * Reporting benchmark (`npm run bench:reporting`): the reading worklist on PostgreSQL with a
 * million studies (issue target: every worklist query type answers with a p95 under 50 ms),
 * and the finalise-sign-deliver path of a report (issue 7: under 2 s at p95 including the
 * timestamp; bench/finalise-sign-deliver.ts).
 *
 * One run:
 *  1. a fresh Enkaku runtime on a new PostgreSQL schema `bench_…` (dropped at the end), 20
 *     facilities, 30 radiologists with a verified licence and certification, a management
 *     physician and an attending physician of one facility;
 *  2. bulk load with INSERT ... SELECT FROM generate_series: `--patients` patients, `--studies`
 *     studies and one reading item per study. `--open` ‰ of the items are open (arrived in the
 *     last three days: unread, in progress, draft, preliminary; half of them assigned, those
 *     in progress and drafts claimed); the rest are final (or cancelled) over five years.
 *     Priorities 5 % STAT, 15 % urgent; modalities and body parts in realistic shares; due
 *     times from the contract terms. Then VACUUM ANALYZE;
 *  3. the HTTP app of `enkaku serve` (buildApp) on a loopback port in this process, and for
 *     each query type `--reps` requests over one keep-alive connection, as logged-in users
 *     (session cookie), through the real routes, service (with its audit entry per listing)
 *     and repository; one untimed request of each type first;
 *  4. prints median, p95 and max per query type against the target, and the EXPLAIN ANALYZE of
 *     any type that misses it (`--explain`: of every type);
 *  5. finalise-sign-deliver on the same runtime, data and app: every facility gets contract route
 *     hl7 and an HL7 endpoint at a test MLLP receiver, a job worker runs as in `enkaku serve`
 *     (jobs.pollMs `--job-poll-ms`), and `--reports` reports of unread items are claimed, started,
 *     saved and then finalised (timed: until the receiver has the ORU^R01, answered AA, and the
 *     delivery is recorded as delivered).
 * Client and server share this process, so the figures include the client's own work.
 *
 *   node --import tsx bench/reporting.ts [--studies 1000000] [--patients N] [--open 50] [--reps 200]
 *                                        [--reports 200] [--job-poll-ms 2000]
 *                                        [--database-url postgres://...] [--explain] [--keep]
 *
 * Without --database-url, PostgreSQL is taken from ENKAKU_BENCH_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres.
 */
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/server/config.ts';
import { createRuntime, type Runtime } from '../src/server/runtime.ts';
import { buildApp } from '../src/server/app.ts';
import { createLogger } from '../src/server/platform/log.ts';
import { postgresSessionOptions } from '../src/server/platform/db/index.ts';
import type { Database } from '../src/server/platform/db/schema.ts';
import { WorklistRepository, type ItemQuery } from '../src/server/reading/worklist-repository.ts';
import { encodeCursor } from '../src/server/reading/worklist-schemas.ts';
import { signedIn, type TestUser } from '../src/server/reading/test-support.ts';
import type { WorklistPage } from '../src/shared/worklist.ts';
import { BENCH_DIR, BenchError, checkInterrupted, fmt, initRun, newPgSchema, pad, runMain, say, stamp } from './lib.ts';
import { FSD_TARGET_P95_MS, measureFsd, type FsdResult } from './finalise-sign-deliver.ts';

const USAGE = `Usage: npm run bench:reporting -- [options]

  --studies N          studies (and reading items) loaded (default 1000000)
  --patients N         patients (default 30 % of --studies)
  --open N             open items per thousand (default 50: a backlog of 5 %)
  --reps N             timed requests of each query type (default 200, at least 200 for the target)
  --reports N          finalise-sign-deliver: timed reports (default 200; 0 skips it; the target wants at least 100)
  --job-poll-ms N      jobs.pollMs of the job worker that delivers the reports (default 2000, as serve)
  --database-url URL   PostgreSQL (default ENKAKU_BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres);
                       Enkaku gets a fresh schema there, dropped at the end
  --explain            print EXPLAIN ANALYZE of every query type (default: of those that miss the target)
  --keep               keep the PostgreSQL schema and the temp folder
  -h, --help           this text`;

/** The issue's target: p95 of every worklist query type, in ms. */
const TARGET_P95_MS = 50;
const OP = { kind: 'system', name: 'bench' } as const;
const FACILITIES = 20;
const READERS = 30;
const MODALITIES: Array<[string, number]> = [['CT', 300], ['CR', 200], ['MR', 150], ['DX', 100], ['US', 80], ['MG', 60], ['XA', 30], ['NM', 30], ['RF', 30], ['PT', 20]];
const BODY_PARTS = ['胸部', '腹部', '頭部', '骨盤', '脊椎', '四肢', '乳房', '心臓', '頸部', '胸腹部'];
const SURNAMES: Array<[string, string, string]> = [['Satou', '佐藤', 'さとう'], ['Suzuki', '鈴木', 'すずき'], ['Takahashi', '高橋', 'たかはし'], ['Tanaka', '田中', 'たなか'], ['Itou', '伊藤', 'いとう'], ['Watanabe', '渡辺', 'わたなべ'], ['Yamamoto', '山本', 'やまもと'], ['Nakamura', '中村', 'なかむら'], ['Kobayashi', '小林', 'こばやし'], ['Katou', '加藤', 'かとう'], ['Yamada', '山田', 'やまだ'], ['Sasaki', '佐々木', 'ささき']];
const GIVEN: Array<[string, string, string]> = [['Tarou', '太郎', 'たろう'], ['Hanako', '花子', 'はなこ'], ['Kenji', '健二', 'けんじ'], ['Yuki', '由紀', 'ゆき'], ['Makoto', '誠', 'まこと'], ['Keiko', '恵子', 'けいこ'], ['Shouta', '翔太', 'しょうた'], ['Misaki', '美咲', 'みさき']];

interface Options {
  studies: number;
  patients: number;
  openPerMille: number;
  reps: number;
  reports: number;
  jobPollMs: number;
  databaseUrl: string;
  explain: boolean;
  keep: boolean;
}

function parseOptions(): Options {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      studies: { type: 'string', default: '1000000' },
      patients: { type: 'string' },
      open: { type: 'string', default: '50' },
      reps: { type: 'string', default: '200' },
      reports: { type: 'string', default: '200' },
      'job-poll-ms': { type: 'string', default: '2000' },
      'database-url': { type: 'string' },
      explain: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`bench: --${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got "${raw}"\n\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  const studies = int('studies', v.studies, 1000);
  const url = v['database-url'] ?? process.env.ENKAKU_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!/^postgres(ql)?:\/\//.test(url)) {
    process.stderr.write('bench: --database-url must start with postgres://\n');
    process.exit(2);
  }
  return {
    studies,
    patients: v.patients !== undefined ? int('patients', v.patients, 10) : Math.max(10, Math.round(studies * 0.3)),
    openPerMille: int('open', v.open, 1, 1000),
    reps: int('reps', v.reps, 1),
    reports: int('reports', v.reports, 0),
    jobPollMs: int('job-poll-ms', v['job-poll-ms'], 10, 60_000),
    databaseUrl: url,
    explain: v.explain,
    keep: v.keep,
  };
}

// ---------------------------------------------------------------------------------------
// Statistics

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

const ms = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : '-');

/** A seeded PRNG (mulberry32), so the query values are the same every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A table of `size` indexes into `weights`, each in proportion to its weight (1-based, for SQL arrays). */
function weightedTable(weights: readonly number[], size: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w;
    while (out.length < Math.round((acc / total) * size)) out.push(i + 1);
  });
  return out;
}

function progress(text: string, last: boolean): void {
  if (process.stdout.isTTY) process.stdout.write(`\r    ${text}${last ? '\n' : ''}`);
  else if (last) say(`    ${text}`);
}

// ---------------------------------------------------------------------------------------
// Bulk load

interface Load {
  facilities: string[];
  readers: string[];
  seconds: { patients: number; studies: number; vacuum: number };
  counts: { patients: number; studies: number; items: number; open: number; overdue: number };
  tableBytes: number;
}

/**
 * Patients, studies and their reading items, as Enkaku's intake and worklist would have
 * written them, with INSERT ... SELECT FROM generate_series in chunks of 100,000.
 */
async function bulkLoad(c: pg.Client, schema: string, o: Options, facilities: string[], readers: Array<{ id: string; name: string }>): Promise<Load> {
  await c.query(`set search_path = ${schema}`);
  await c.query('select setseed(0.2024)');
  const chunk = 100_000;
  const t0 = Date.now();
  for (let a = 1; a <= o.patients; a += chunk) {
    checkInterrupted();
    const b = Math.min(o.patients, a + chunk - 1);
    await c.query(
      `insert into patients (id, facility_id, patient_id, issuer, name_alphabetic, name_ideographic, name_phonetic, name_search, sex, birth_date, created_at, updated_at)
       select md5('wl-patient-' || n)::uuid::text, ($1::text[])[1 + n % $2], 'P' || lpad(n::text, 8, '0'), '',
              ($3::text[])[s] || '^' || ($6::text[])[g], ($4::text[])[s] || '^' || ($7::text[])[g], ($5::text[])[s] || '^' || ($8::text[])[g],
              '', case when g % 2 = 0 then 'F' else 'M' end, '19600101', now, now
       from (select n, 1 + floor(random() * $9)::int s, 1 + floor(random() * $10)::int g,
                    to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') now
             from generate_series($11::int, $12::int) n) r`,
      [facilities, facilities.length, SURNAMES.map((s) => s[0]), SURNAMES.map((s) => s[1]), SURNAMES.map((s) => s[2]), GIVEN.map((g) => g[0]), GIVEN.map((g) => g[1]), GIVEN.map((g) => g[2]), SURNAMES.length, GIVEN.length, a, b],
    );
    progress(`patients ${b.toLocaleString('en')}/${o.patients.toLocaleString('en')}`, b === o.patients);
  }
  const tPatients = (Date.now() - t0) / 1000;

  const t1 = Date.now();
  const modalityLut = weightedTable(MODALITIES.map((m) => m[1]), 1000);
  for (let a = 1; a <= o.studies; a += chunk) {
    checkInterrupted();
    const b = Math.min(o.studies, a + chunk - 1);
    // An item is open with probability --open ‰ (decided from n, so a rerun gives the same
    // split): open ones arrived in the last 3 days, closed ones over 5 years. Due times from
    // the default contract terms (STAT 60 min, urgent 240, routine 2880).
    await c.query(
      `with r as (
         select n, p, open, pri, m, bp, rd, st, arrived
         from (
           select n, 1 + floor(random() * $2)::int as p,
                  (n::bigint * 2654435761) % 1000 < $3 as open,
                  random() as pri, ($4::int[])[1 + floor(random() * 1000)::int] as m, 1 + floor(random() * $6)::int as bd,
                  1 + floor(random() * $8)::int as rd, random() as st, random() as age
           from generate_series($9::int, $10::int) n
         ) x
         cross join lateral (select ($7::text[])[x.bd] as bp,
                                    now() - case when x.open then x.age * interval '3 days' else interval '3 days' + x.age * interval '1825 days' end as arrived) y
       ), ins as (
         insert into studies (id, facility_id, patient_ref, study_uid, accession_number, study_id, study_date, study_time, modalities, description,
                              referring_physician, institution, num_series, num_instances, size_bytes, created_at, updated_at)
         select md5('wl-study-' || n)::uuid::text, ($1::text[])[1 + p % $11], md5('wl-patient-' || p)::uuid::text,
                '1.2.392.200036.9116.2.6.1.48.1214245.' || n, 'A' || lpad(n::text, 9, '0'), n::text,
                to_char(arrived at time zone 'Asia/Tokyo', 'YYYYMMDD'), to_char(arrived at time zone 'Asia/Tokyo', 'HH24MISS'),
                ($5::text[])[m], '', '', '', 1, 100, 52600000,
                to_char(arrived at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), to_char(arrived at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
         from r
         returning id, study_uid, facility_id, patient_ref, accession_number, modalities, created_at, study_id
       )
       insert into reading_items (id, study_id, study_uid, facility_id, patient_ref, order_id, accession_number, priority, modality, body_part, description,
                                  arrived_at, due_at, status, assigned_to, assigned_to_name, assigned_at, assigned_by, claimed_by, claimed_by_name,
                                  claimed_at, claim_expires_at, reading_mode, first_reader, second_reader, arbiter, report_id, created_at, updated_at, version)
       select md5('wl-item-' || ins.id)::uuid::text, ins.id, ins.study_uid, ins.facility_id, ins.patient_ref, null, ins.accession_number,
              v.priority, ins.modalities, r.bp, '', ins.created_at,
              to_char((ins.created_at::timestamptz + (case v.priority when 'stat' then 60 when 'urgent' then 240 else 2880 end) * interval '1 minute') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              v.status,
              case when v.assigned then ($12::text[])[r.rd] end, case when v.assigned then ($13::text[])[r.rd] end,
              case when v.assigned then ins.created_at end, case when v.assigned then 'system:auto-assign' end,
              case when v.claimed then ($12::text[])[r.rd] end, case when v.claimed then ($13::text[])[r.rd] end,
              case when v.claimed then ins.created_at end,
              case when v.claimed then to_char((now() + interval '60 minutes' + r.st * interval '60 minutes') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') end,
              'single', case when v.status not in ('unread', 'cancelled') then ($12::text[])[r.rd] end, null, null,
              case when v.status in ('draft', 'preliminary', 'final') then md5('wl-report-' || ins.id)::uuid::text end,
              ins.created_at, ins.created_at, 1
       from ins join r on r.n = ins.study_id::int
       cross join lateral (
         select case when r.pri < 0.05 then 'stat' when r.pri < 0.20 then 'urgent' else 'routine' end as priority,
                case when r.open then (case when r.st < 0.55 then 'unread' when r.st < 0.75 then 'in-progress' when r.st < 0.90 then 'draft' else 'preliminary' end)
                     else (case when r.st < 0.02 then 'cancelled' else 'final' end) end as status
       ) s
       cross join lateral (
         select s.priority, s.status,
                (not r.open) or s.status <> 'unread' or r.st < 0.25 as assigned,
                r.open and s.status in ('in-progress', 'draft') as claimed
       ) v`,
      [facilities, o.patients, o.openPerMille, modalityLut, MODALITIES.map((m) => m[0]), BODY_PARTS.length, BODY_PARTS, READERS, a, b, facilities.length, readers.map((r) => r.id), readers.map((r) => r.name)],
    );
    progress(`studies and reading items ${b.toLocaleString('en')}/${o.studies.toLocaleString('en')}`, b === o.studies);
  }
  const tStudies = (Date.now() - t1) / 1000;
  const t2 = Date.now();
  await c.query('vacuum analyze patients, studies, reading_items');
  const tVacuum = (Date.now() - t2) / 1000;
  const now = new Date().toISOString();
  const counts = await c.query<{ p: string; s: string; i: string; o: string; od: string }>(
    `select (select count(*) from patients) p, (select count(*) from studies) s, (select count(*) from reading_items) i,
            (select count(*) from reading_items where status in ('unread', 'in-progress', 'draft', 'preliminary')) o,
            (select count(*) from reading_items where status in ('unread', 'in-progress', 'draft', 'preliminary') and due_at < $1) od`,
    [now],
  );
  const size = await c.query<{ b: string }>(`select pg_total_relation_size('${schema}.reading_items') b`);
  const r = counts.rows[0]!;
  return {
    facilities,
    readers: readers.map((x) => x.id),
    seconds: { patients: tPatients, studies: tStudies, vacuum: tVacuum },
    counts: { patients: Number(r.p), studies: Number(r.s), items: Number(r.i), open: Number(r.o), overdue: Number(r.od) },
    tableBytes: Number(size.rows[0]!.b),
  };
}

// ---------------------------------------------------------------------------------------
// Query types

interface Case {
  url: string;
  user: TestUser;
  /** The repository query the route builds (for EXPLAIN). */
  query: (now: string) => ItemQuery;
}

interface QueryType {
  key: string;
  label: string;
  cases: Case[];
  /** Shown for information, without the target. */
  info?: boolean;
}

/** Values drawn from the loaded data, so that every query has something to find. */
async function queryTypes(c: pg.Client, load: Load, users: { readers: TestUser[]; readerIds: string[]; attending: TestUser; attendingFacility: string }, n: number): Promise<QueryType[]> {
  const rand = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const open = await c.query<{ id: string; due_at: string; accession_number: string }>(
    "select id, due_at, accession_number from reading_items where status in ('unread', 'in-progress', 'draft', 'preliminary') order by random() limit 500",
  );
  const share = Math.min(100, Math.max(0.05, (2000 / load.counts.items) * 100));
  const any = await c.query<{ accession_number: string }>(`select accession_number from reading_items tablesample system (${share.toFixed(3)}) limit 500`);
  if (open.rows.length === 0 || any.rows.length === 0) throw new BenchError('no reading items sampled');
  const base = (q: Partial<ItemQuery>) => (now: string): ItemQuery => ({ scope: 'all', statuses: 'open', who: 'all', overdue: false, now, desc: false, limit: 51, ...q });
  const list = (f: (i: number) => Case): Case[] => Array.from({ length: n }, (_, i) => f(i));
  const reader = (i: number) => users.readers[i % users.readers.length]!;
  const common = ['CT', 'CR', 'MR', 'DX', 'US', 'MG'];
  return [
    { key: 'default', label: 'default view (open, earliest due first)', cases: list((i) => ({ url: '/api/worklist', user: reader(i), query: base({}) })) },
    {
      key: 'page',
      label: 'next page from a random position (cursor)',
      cases: list((i) => {
        const r = pick(open.rows);
        return { url: `/api/worklist?cursor=${encodeCursor(r.due_at, r.id, 'due')}`, user: reader(i), query: base({ after: [r.due_at, r.id] }) };
      }),
    },
    {
      key: 'facility-modality',
      label: 'facility + modality',
      cases: list((i) => {
        const f = pick(load.facilities);
        const m = pick(common);
        return { url: `/api/worklist?facilityId=${f}&modality=${m}`, user: reader(i), query: base({ facilityId: f, modality: m }) };
      }),
    },
    {
      key: 'mine',
      label: 'mine (assigned to or claimed by me)',
      cases: list((i) => ({ url: '/api/worklist?who=mine', user: reader(i), query: base({ who: 'mine', userId: users.readerIds[i % users.readerIds.length]! }) })),
    },
    { key: 'overdue', label: 'overdue', cases: list((i) => ({ url: '/api/worklist?overdue=true', user: reader(i), query: base({ overdue: true }) })) },
    { key: 'stat', label: 'STAT only', cases: list((i) => ({ url: '/api/worklist?priority=stat', user: reader(i), query: base({ priorities: ['stat'] }) })) },
    { key: 'unassigned', label: 'unassigned', cases: list((i) => ({ url: '/api/worklist?who=unassigned', user: reader(i), query: base({ who: 'unassigned' }) })) },
    {
      key: 'facility-user',
      label: 'a facility\'s attending physician (own facility)',
      cases: list(() => ({ url: '/api/worklist', user: users.attending, query: base({ scope: [users.attendingFacility] }) })),
    },
    {
      key: 'accession',
      label: 'accession number, any status',
      cases: list((i) => {
        const acc = pick(any.rows).accession_number;
        return { url: `/api/worklist?status=all&accession=${acc}`, user: reader(i), query: base({ statuses: 'all', accessionPrefix: acc }) };
      }),
    },
    {
      key: 'closed-facility',
      label: 'final reports of a facility (history)',
      cases: list((i) => {
        const f = pick(load.facilities);
        return { url: `/api/worklist?status=final&facilityId=${f}&sort=-due`, user: reader(i), query: base({ statuses: ['final'], facilityId: f, desc: true }) };
      }),
    },
  ];
}

/** The SQL of a repository query and its EXPLAIN (ANALYZE, BUFFERS). */
async function explain(url: string, schema: string, q: ItemQuery): Promise<string> {
  const captured: CompiledQuery[] = [];
  // The session settings of Enkaku's own connections, so that the plans are the ones it gets.
  const pool = new pg.Pool({ connectionString: url, max: 1, options: postgresSessionOptions(schema) });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && captured.push(e.query)) });
  try {
    await new WorklistRepository(db, 'postgres').list(q);
    const out: string[] = [];
    for (const query of captured) {
      const r = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${query.sql}`, [...query.parameters]);
      out.push(`${query.sql}\n  parameters: ${JSON.stringify(query.parameters)}\n${r.rows.map((x) => `  ${x['QUERY PLAN']}`).join('\n')}`);
    }
    return out.join('\n');
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// HTTP

/** One GET over the keep-alive agent, timed to the last byte. */
function timedGet(base: string, url: string, cookie: string, agent: http.Agent): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(`${base}${url}`, { agent, headers: { cookie: `enkaku_session=${cookie}`, accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
  });
}

interface Row {
  key: string;
  label: string;
  info: boolean;
  median: number;
  p95: number;
  max: number;
  n: number;
  items: [number, number];
  errors: number;
  /** The repository's query alone (no HTTP, session, audit): median and p95. */
  sql?: { median: number; p95: number };
}

/** Times `fn` `n` times (after one untimed call); median and p95 in ms. */
async function timeIt(n: number, fn: (i: number) => Promise<unknown>): Promise<{ median: number; p95: number }> {
  await fn(0);
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    checkInterrupted();
    const t0 = process.hrtime.bigint();
    await fn(i);
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { median: quantile(xs, 0.5), p95: quantile(xs, 0.95) };
}

// ---------------------------------------------------------------------------------------
// Finalise-sign-deliver (issue 7): bench/finalise-sign-deliver.ts, on this runtime, data and app.

async function measureFinaliseSignDeliver(rt: Runtime, base: string, c: pg.Client, facilities: string[], o: Options): Promise<FsdResult | undefined> {
  return measureFsd({ rt, base, client: c, facilities, reports: o.reports });
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = parseOptions();
  const runDir = path.join(BENCH_DIR, `run-reporting-${stamp()}-${process.pid}`);
  await fsp.mkdir(runDir, { recursive: true });
  initRun({ dir: runDir, keep: o.keep, keepSchemas: o.keep, dcmtkEnv: process.env });
  const pgSchema = newPgSchema(o.databaseUrl);
  const safeUrl = o.databaseUrl.replace(/\/\/[^@]*@/, '//');
  say(`Reporting bench: PostgreSQL at ${safeUrl}, schema ${pgSchema.schema}; ${o.studies.toLocaleString('en')} studies of ${o.patients.toLocaleString('en')} patients, ${o.openPerMille} ‰ open; ${o.reps} requests per query type; ${o.reports} finalise-sign-deliver reports`);
  const config = loadConfig({
    ENKAKU_DATA_DIR: path.join(runDir, 'data'), ENKAKU_DATABASE_URL: o.databaseUrl, ENKAKU_DATABASE_SCHEMA: pgSchema.schema, ENKAKU_HTTP_PORT: '0', ENKAKU_DICOM_PORT: '0', ENKAKU_HL7_PORT: '0',
    // The job worker of the finalise-sign-deliver step looks for due jobs this often (serve's default is 2000 ms).
    ENKAKU_JOBS_POLL_MS: String(o.jobPollMs),
  });
  const rt = await createRuntime(config, createLogger('warn'));
  const c = new pg.Client({ connectionString: o.databaseUrl });
  await c.connect();
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    const settings = await c.query<{ name: string; setting: string }>("select name, setting from pg_settings where name in ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit')");
    say(`  server: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')} (the bench changes none of them)`);
    say('  facilities, readers with licence and certification, sessions...');
    const facilities: string[] = [];
    for (let i = 1; i <= FACILITIES; i++) facilities.push((await rt.facilities.add(OP, { name: `病院${String(i).padStart(2, '0')}`, aets: [`WLB${i}`] })).id);
    const readers: Array<{ id: string; name: string }> = [];
    for (let i = 1; i <= READERS; i++) {
      const id = await rt.accounts.create(OP, { username: `reader${i}`, displayName: `読影医${i}`, password: 'Correct-Horse-9-Battery', grants: [{ role: 'radiologist', facilityId: null }], mustChangePassword: false });
      await rt.credentials.recordLicence(OP, id, { kind: 'jp-medical', number: String(500000 + i), country: 'JP', evidence: 'bench' });
      await rt.credentials.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: `R-${i}`, issuedOn: '2024-04-01', expiresOn: '2099-03-31', evidence: 'bench' });
      readers.push({ id, name: `読影医${i}` });
    }
    say('  bulk insert (INSERT ... SELECT FROM generate_series), then VACUUM ANALYZE...');
    const load = await bulkLoad(c, pgSchema.schema, o, facilities, readers);
    say(
      `    ${load.counts.patients.toLocaleString('en')} patients in ${fmt(load.seconds.patients, 1)} s; ${load.counts.studies.toLocaleString('en')} studies with ${load.counts.items.toLocaleString('en')} reading items in ${fmt(load.seconds.studies, 1)} s; ` +
        `VACUUM ANALYZE ${fmt(load.seconds.vacuum, 1)} s; ${load.counts.open.toLocaleString('en')} open (${load.counts.overdue.toLocaleString('en')} overdue); reading_items with indexes ${fmt(load.tableBytes / 1e6, 0)} MB`,
    );
    // Sessions: five of the readers (the first five, who hold assignments like the others) and an attending physician.
    const sessionReaders: TestUser[] = [];
    for (let i = 0; i < 5; i++) {
      const id = readers[i]!.id;
      const u = await signInExisting(rt, `reader${i + 1}`, id);
      sessionReaders.push(u);
    }
    const attending = await signedIn(rt, 'attending1', 'attending-physician', facilities[0]!);
    app = await buildApp(rt);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const types = await queryTypes(c, load, { readers: sessionReaders, readerIds: readers.slice(0, 5).map((r) => r.id), attending, attendingFacility: facilities[0]! }, o.reps);
    say(`  ${types.length} query types × ${o.reps} requests over HTTP (one untimed request of each first); target p95 < ${TARGET_P95_MS} ms`);
    for (const t of types) await timedGet(base, t.cases[0]!.url, t.cases[0]!.user.cookie, agent);
    const rows: Row[] = [];
    const explains: string[] = [];
    const load0 = os.loadavg()[0]!;
    for (const t of types) {
      const samples: number[] = [];
      const items: number[] = [];
      let errors = 0;
      for (const cs of t.cases) {
        checkInterrupted();
        const r = await timedGet(base, cs.url, cs.user.cookie, agent);
        if (r.status !== 200) {
          if (errors++ === 0) say(`    ${t.key}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
          continue;
        }
        samples.push(r.ms);
        items.push((JSON.parse(r.body) as WorklistPage).items.length);
      }
      const row: Row = { key: t.key, label: t.label, info: t.info === true, median: quantile(samples, 0.5), p95: quantile(samples, 0.95), max: Math.max(...samples), n: samples.length, items: [Math.min(...items), Math.max(...items)], errors };
      row.sql = await timeIt(t.cases.length, (i) => rt.worklist.repo.list(t.cases[i % t.cases.length]!.query(new Date().toISOString())));
      rows.push(row);
      const verdict = row.info ? '' : row.p95 < TARGET_P95_MS ? '  ok' : '  MISS';
      say(
        `    ${pad(t.label, 50)} HTTP median ${pad(ms(row.median), 5, true)} p95 ${pad(ms(row.p95), 5, true)} max ${pad(ms(row.max), 5, true)} ms | SQL median ${pad(ms(row.sql.median), 5, true)} p95 ${pad(ms(row.sql.p95), 5, true)} ms | ${row.items[0]}-${row.items[1]} items${verdict}`,
      );
      if (o.explain || (!row.info && !(row.p95 < TARGET_P95_MS))) explains.push(`--- ${t.key}\n${await explain(o.databaseUrl, pgSchema.schema, t.cases[0]!.query(new Date().toISOString()))}`);
    }
    agent.destroy();
    const load1 = os.loadavg()[0]!;
    // What every listing pays besides its query: the session check and the audit entry.
    const me = sessionReaders[0]!;
    const session = await timeIt(o.reps, () => rt.auth.resolve(me.cookie, { address: '127.0.0.1', userAgent: 'bench' }));
    const audited = await timeIt(o.reps, (i) => rt.audit.record({ actor: OP, action: 'worklist.view', object: { type: 'worklist', id: 'bench' }, details: { count: i } }));
    say(`  per request besides the query: session check median ${ms(session.median)} p95 ${ms(session.p95)} ms; audit entry median ${ms(audited.median)} p95 ${ms(audited.p95)} ms`);
    say(`  1-minute load average ${load0.toFixed(2)} before and ${load1.toFixed(2)} after the HTTP measurement (${os.cpus().length} CPUs; other processes on the machine count too)`);

    const fsd = await measureFinaliseSignDeliver(rt, base, c, load.facilities, o);
    if (!fsd) say('  finalise-sign-deliver: skipped (--reports 0)');

    if (explains.length) say(`\nEXPLAIN ANALYZE\n${explains.join('\n\n')}`);
    const misses = rows.filter((r) => !r.info && !(r.p95 < TARGET_P95_MS));
    const failed = rows.filter((r) => r.errors > 0);
    say(`\nSummary: ${rows.length - misses.length}/${rows.length} worklist query types with p95 under ${TARGET_P95_MS} ms on ${load.counts.studies.toLocaleString('en')} studies (${load.counts.open.toLocaleString('en')} open)` + (failed.length ? `; ${failed.length} type(s) had errors` : ''));
    if (fsd) {
      say(
        `         finalise-sign-deliver p95 ${fsd.endToEnd.p95.toFixed(0)} ms over ${fsd.reports} reports (target < ${FSD_TARGET_P95_MS} ms): ${fsd.pass ? 'PASS' : 'FAIL'}` +
          `; finalise HTTP p95 ${fsd.finalise.p95.toFixed(0)} ms, delivery lag p95 ${fsd.lag.p95.toFixed(0)} ms (jobs.pollMs ${o.jobPollMs})` + (fsd.errors ? `; ${fsd.errors} report(s) failed` : ''),
      );
    }
    return misses.length || failed.length || (fsd && !fsd.pass) ? 1 : 0;
  } finally {
    await app?.close();
    await rt.close();
    await c.end().catch(() => undefined);
  }
}

/** Signs in an existing user (enrolling TOTP), as the web application does. */
async function signInExisting(rt: Runtime, username: string, id: string): Promise<TestUser> {
  const { generate } = await import('otplib');
  await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
  const client = { address: '127.0.0.1', userAgent: 'bench' };
  const first = await rt.auth.login(username, 'Correct-Horse-9-Battery', client);
  let cookie = first.cookie;
  if (first.response.status === 'mfa-enrolment-required') ({ cookie } = await rt.auth.secondFactor(cookie, await generate({ secret: first.response.enrolment.secret }), client));
  const info = await rt.auth.session(cookie, client);
  if (!info) throw new BenchError(`${username} could not sign in`);
  return { id, cookie, csrf: info.csrfToken };
}

await runMain(main);
