/**
 * Query benchmark (`npm run bench:query`): how fast Enkaku answers the requests a viewer
 * and a facility's systems make all day, compared with Orthanc (and its DICOMweb plugin)
 * holding the same data on the same machine, and how Enkaku's study search holds up on
 * PostgreSQL with a million studies.
 *
 * One run:
 *  1. writes a synthetic CT series (default 300 slices of 512x512, 16-bit, explicit VR LE)
 *     and sends it with storescu to a fresh Enkaku (SQLite) and a fresh Orthanc;
 *  2. WADO-RS metadata of that series: the first call after a restart, then repeated calls;
 *  3. rendered frames (PNG, then JPEG): every slice once in series order (cold: both servers
 *     restarted just before) and again (warm), then, after another restart, once in a
 *     shuffled order (no slice after its neighbour, so nothing rendered ahead helps); one
 *     request at a time over keep-alive HTTP, each answer checked (status, media type,
 *     PNG/JPEG signature, width and height);
 *  4. loads 10,000 small studies (Japanese names in several character sets) into both and
 *     times a fixed set of QIDO-RS study searches on both;
 *  5. unless `--no-pg-million` (or PostgreSQL is not reachable), starts Enkaku on a fresh
 *     PostgreSQL schema, bulk-inserts 1,000,000 studies with SQL and times the same kinds
 *     of searches through Enkaku's HTTP API, with EXPLAIN ANALYZE of the SQL of any miss;
 *  6. prints tables with the targets, writes `.bench/query-<timestamp>.json`, and stops
 *     and removes everything it started (also on error and Ctrl-C).
 *
 * See bench/README.md for how to read the figures.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Encoding from 'encoding-japanese';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { adaptPersonName, generateSeries, newUid, SAMPLE_PATIENTS, type SyntheticCharset, type SyntheticModality, type SyntheticPatient } from '../src/server/archive/dicom/synthetic.ts';
import { nameSearchText, normaliseForSearch } from '../src/server/archive/dicom/names.ts';
import { QueryRepository, type StudyQuery } from '../src/server/archive/repository.ts';
import { dateCondition, nameCondition, stringCondition, uidCondition } from '../src/server/archive/dicomweb/qido-match.ts';
import { postgresSessionOptions } from '../src/server/platform/db/index.ts';
import type { Database as DbSchema } from '../src/server/platform/db/schema.ts';
import {
  BENCH_DIR,
  BenchError,
  MB,
  PersistentAgent,
  ROOT,
  checkInterrupted,
  cpuSeconds,
  ensureTools,
  fmt,
  initRun,
  launchEnkaku,
  launchOrthanc,
  pad,
  runMain,
  say,
  setupEnkaku,
  setupOrthanc,
  stamp,
  stopServer,
  storescu,
  syncDisks,
  timedRequest,
  enkakuLogProblems,
  type EnkakuServer,
  type EnkakuSetup,
  type OrthancServer,
  type OrthancSetup,
  type TimedAnswer,
  type Tools,
} from './lib.ts';

// ---------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: npm run bench:query -- [options]

  --count N            slices of the CT series for rendered frames and metadata (default 300)
  --studies N          studies loaded for the QIDO-RS comparison (default 10000)
  --qido-reps N        repetitions of each QIDO-RS query type (default 50)
  --metadata-reps N    repeated WADO-RS metadata calls after the first (default 20)
  --no-rendered        skip the rendered-frame comparison
  --no-metadata        skip the metadata comparison
  --no-qido            skip the 10,000-study QIDO-RS comparison
  --pg-million         run the PostgreSQL step (default: when PostgreSQL answers at
                       the database URL); --no-pg-million skips it
  --million N          studies inserted for the PostgreSQL step (default 1000000)
  --patients N         patients for the PostgreSQL step (default 30 % of --million)
  --pg-reps N          requests of each query type in the PostgreSQL step (default 100)
  --database-url URL   PostgreSQL for that step (default postgres://postgres@127.0.0.1:5432/postgres);
                       Enkaku gets a fresh schema there, dropped at the end
  --explain            print EXPLAIN ANALYZE of every PostgreSQL query type (default: misses only)
  --cpu-prof           profile Enkaku (node --cpu-prof) and print where its CPU time goes in
                       each measured phase; the .cpuprofile files are kept under .bench/
  --keep               keep the temp folder (data, logs) for inspection
  -h, --help           this text`;

interface Options {
  count: number;
  studies: number;
  qidoReps: number;
  metadataReps: number;
  rendered: boolean;
  metadata: boolean;
  qido: boolean;
  pgMillion: boolean | undefined;
  million: number;
  patients: number;
  pgReps: number;
  databaseUrl: string;
  databaseUrlGiven: boolean;
  explain: boolean;
  cpuProf: boolean;
  keep: boolean;
}

function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function parseOptions(): Options {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    allowNegative: true,
    options: {
      count: { type: 'string', default: '300' },
      studies: { type: 'string', default: '10000' },
      'qido-reps': { type: 'string', default: '50' },
      'metadata-reps': { type: 'string', default: '20' },
      rendered: { type: 'boolean', default: true },
      metadata: { type: 'boolean', default: true },
      qido: { type: 'boolean', default: true },
      'pg-million': { type: 'boolean' },
      million: { type: 'string', default: '1000000' },
      patients: { type: 'string' },
      'pg-reps': { type: 'string', default: '100' },
      'database-url': { type: 'string' },
      explain: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, raw: string, min = 1): number => {
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) usageError(`--${name} must be an integer of at least ${min}, got "${raw}"`);
    return n;
  };
  const million = int('million', v.million, 1000);
  const url = v['database-url'];
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) usageError('--database-url must start with postgres://');
  return {
    count: int('count', v.count, 2),
    studies: int('studies', v.studies, 100),
    qidoReps: int('qido-reps', v['qido-reps']),
    metadataReps: int('metadata-reps', v['metadata-reps']),
    rendered: v.rendered,
    metadata: v.metadata,
    qido: v.qido,
    // An explicit --database-url asks for the step unless --no-pg-million says otherwise.
    pgMillion: v['pg-million'] ?? (url !== undefined ? true : undefined),
    million,
    patients: v.patients !== undefined ? int('patients', v.patients, 10) : Math.max(10, Math.round(million * 0.3)),
    pgReps: int('pg-reps', v['pg-reps']),
    databaseUrl: url ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    databaseUrlGiven: url !== undefined,
    explain: v.explain,
    cpuProf: v['cpu-prof'],
    keep: v.keep,
  };
}

/** Targets of the issue. */
const TARGETS = {
  /** Enkaku p95 / Orthanc p95 for rendered frames. */
  renderedRatio: 0.5,
  /** Enkaku p95 / Orthanc p95 for QIDO-RS and metadata. */
  qidoRatio: 1.0,
  metadataRatio: 1.0,
  /** p95 of each query type on PostgreSQL with a million studies. */
  pgP95Ms: 50,
};

const SIZE = 512;
const STAMP = stamp();
const RUN_DIR = path.join(BENCH_DIR, `run-query-${STAMP}-${process.pid}`);
let O: Options;

// ---------------------------------------------------------------------------------------
// Statistics

/** The q-quantile of the samples, interpolated linearly between the closest ranks. */
function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

function stats(xs: readonly number[]): Stats {
  return {
    n: xs.length,
    median: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
    mean: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN,
  };
}

const ms = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : '-');

// ---------------------------------------------------------------------------------------
// Synthetic data: names, patients, studies

/** Surnames, roughly in order of frequency in Japan: romaji, kanji, hiragana reading; weight. */
const SURNAMES: Array<[string, string, string, number]> = [
  ['Satou', '佐藤', 'さとう', 18], ['Suzuki', '鈴木', 'すずき', 17], ['Takahashi', '高橋', 'たかはし', 14], ['Tanaka', '田中', 'たなか', 13],
  ['Itou', '伊藤', 'いとう', 11], ['Watanabe', '渡辺', 'わたなべ', 11], ['Yamamoto', '山本', 'やまもと', 11], ['Nakamura', '中村', 'なかむら', 10],
  ['Kobayashi', '小林', 'こばやし', 10], ['Katou', '加藤', 'かとう', 9], ['Yoshida', '吉田', 'よしだ', 8], ['Yamada', '山田', 'やまだ', 8],
  ['Sasaki', '佐々木', 'ささき', 7], ['Yamaguchi', '山口', 'やまぐち', 6], ['Matsumoto', '松本', 'まつもと', 6], ['Inoue', '井上', 'いのうえ', 6],
  ['Kimura', '木村', 'きむら', 6], ['Hayashi', '林', 'はやし', 5], ['Saitou', '斎藤', 'さいとう', 5], ['Shimizu', '清水', 'しみず', 5],
  ['Yamazaki', '山崎', 'やまざき', 5], ['Mori', '森', 'もり', 5], ['Ikeda', '池田', 'いけだ', 4], ['Hashimoto', '橋本', 'はしもと', 4],
  ['Abe', '阿部', 'あべ', 4], ['Ishikawa', '石川', 'いしかわ', 4], ['Yamashita', '山下', 'やました', 4], ['Nakajima', '中島', 'なかじま', 4],
  ['Ishii', '石井', 'いしい', 3], ['Ogawa', '小川', 'おがわ', 3], ['Maeda', '前田', 'まえだ', 3], ['Okada', '岡田', 'おかだ', 3],
  ['Hasegawa', '長谷川', 'はせがわ', 3], ['Fujita', '藤田', 'ふじた', 3], ['Gotou', '後藤', 'ごとう', 3], ['Kondou', '近藤', 'こんどう', 3],
  ['Murakami', '村上', 'むらかみ', 2], ['Endou', '遠藤', 'えんどう', 2], ['Aoki', '青木', 'あおき', 2], ['Sakamoto', '坂本', 'さかもと', 2],
  // 濵 is a JIS X 0212 kanji: only ISO 2022 IR 159 or UTF-8 can carry it.
  ['Hamada', '濵田', 'はまだ', 1],
];

/** Given names: romaji, kanji, hiragana reading, sex. */
const GIVEN: Array<[string, string, string, 'M' | 'F']> = [
  ['Tarou', '太郎', 'たろう', 'M'], ['Ichirou', '一郎', 'いちろう', 'M'], ['Kenji', '健二', 'けんじ', 'M'], ['Shouta', '翔太', 'しょうた', 'M'],
  ['Daisuke', '大輔', 'だいすけ', 'M'], ['Makoto', '誠', 'まこと', 'M'], ['Hiroshi', '浩', 'ひろし', 'M'], ['Manabu', '学', 'まなぶ', 'M'],
  ['Takuya', '拓也', 'たくや', 'M'], ['Ren', '蓮', 'れん', 'M'], ['Yuuma', '悠真', 'ゆうま', 'M'], ['Shigeru', '茂', 'しげる', 'M'],
  ['Isamu', '勇', 'いさむ', 'M'], ['Masao', '正雄', 'まさお', 'M'], ['Kenta', '健太', 'けんた', 'M'],
  ['Hanako', '花子', 'はなこ', 'F'], ['Yuki', '由紀', 'ゆき', 'F'], ['Youko', '陽子', 'ようこ', 'F'], ['Keiko', '恵子', 'けいこ', 'F'],
  ['Misaki', '美咲', 'みさき', 'F'], ['Ai', '愛', 'あい', 'F'], ['Sakura', 'さくら', 'さくら', 'F'], ['Kumiko', '久美子', 'くみこ', 'F'],
  ['Mayumi', '真由美', 'まゆみ', 'F'], ['Yui', '結衣', 'ゆい', 'F'], ['Sachiko', '幸子', 'さちこ', 'F'], ['Akemi', '明美', 'あけみ', 'F'],
  ['Yuuko', '裕子', 'ゆうこ', 'F'], ['Tomoko', '智子', 'ともこ', 'F'], ['Aoi', '葵', 'あおい', 'F'],
];

const katakana = (s: string): string => Encoding.toKatakanaCase(s);
const halfwidth = (s: string): string => Encoding.toHankanaCase(Encoding.toKatakanaCase(s));

/** A seeded PRNG (mulberry32), so a run's data is the same every time. */
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

/** A table of `size` indexes into `weights`, each index appearing in proportion to its weight. */
function weightedTable(weights: readonly number[], size: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w;
    while (out.length < Math.round((acc / total) * size)) out.push(i);
  });
  return out;
}

/** Character sets of the 10,000-study data, with their share of patients. */
const CHARSETS: Array<[SyntheticCharset, number]> = [
  ['\\ISO 2022 IR 87', 40],
  ['ISO_IR 192', 25],
  ['ISO 2022 IR 13\\ISO 2022 IR 87', 15],
  ['ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159', 10],
  ['ISO_IR 13', 5],
  ['', 5],
];

/** One study of the QIDO-RS data, as written to a file and as the servers should index it. */
interface StudySpec {
  index: number;
  studyUid: string;
  seriesUid: string;
  patient: SyntheticPatient;
  charset: SyntheticCharset;
  /** The Patient's Name groups the file holds (after adapting to the charset). */
  groups: [string, string, string];
  modality: SyntheticModality;
  date: string;
  accession: string;
  seed: number;
}

const ymd = (d: Date): string => `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;

/** The patients and studies of the QIDO-RS comparison (deterministic). */
function planStudies(n: number): StudySpec[] {
  const rand = prng(20240601);
  const surnameTable = weightedTable(SURNAMES.map((s) => s[3]), 1000);
  const charsetTable = weightedTable(CHARSETS.map((c) => c[1]), 100);
  const patientCount = Math.max(1, Math.round(n / 3));
  const patients: Array<{ p: SyntheticPatient; charset: SyntheticCharset; groups: [string, string, string] }> = [];
  for (let i = 0; i < patientCount; i++) {
    const [sa, sk, sh] = SURNAMES[surnameTable[Math.floor(rand() * surnameTable.length)]!]!;
    const [ga, gk, gh, sex] = GIVEN[Math.floor(rand() * GIVEN.length)]!;
    const form = rand();
    const phon = (s: string): string => (form < 0.5 ? s : form < 0.85 ? katakana(s) : halfwidth(s));
    const birth = new Date(Date.UTC(1930, 0, 1) + Math.floor(rand() * 33000) * 86400000);
    const p: SyntheticPatient = {
      id: `Q${String(i + 1).padStart(7, '0')}`,
      issuer: 'ENKAKU',
      name: { alphabetic: `${sa}^${ga}`, ideographic: `${sk}^${gk}`, phonetic: `${phon(sh)}^${phon(gh)}` },
      sex,
      birthDate: ymd(birth),
    };
    let charset = CHARSETS[charsetTable[Math.floor(rand() * charsetTable.length)]!]![0];
    let adapted: string;
    try {
      adapted = adaptPersonName(p.name, charset);
    } catch {
      charset = 'ISO_IR 192'; // e.g. 濵 without ISO 2022 IR 159
      adapted = adaptPersonName(p.name, charset);
    }
    const [a = '', id = '', ph = ''] = adapted.split('=');
    patients.push({ p, charset, groups: [a, id, ph] });
  }
  const modalities: Array<[SyntheticModality, number]> = [['CT', 40], ['MR', 25], ['CR', 35]];
  const modalityTable = weightedTable(modalities.map((m) => m[1]), 100);
  const day0 = Date.UTC(2005, 0, 1);
  const days = Math.round((Date.UTC(2025, 0, 1) - day0) / 86400000);
  const out: StudySpec[] = [];
  for (let i = 0; i < n; i++) {
    const pt = patients[i < patientCount ? i : Math.floor(rand() * patientCount)]!;
    const date = ymd(new Date(day0 + Math.floor(rand() * days) * 86400000));
    out.push({
      index: i,
      studyUid: newUid(),
      seriesUid: newUid(),
      patient: pt.p,
      charset: pt.charset,
      groups: pt.groups,
      modality: modalities[modalityTable[Math.floor(rand() * modalityTable.length)]!]![0],
      date,
      accession: `A${date}${String(i).padStart(6, '0')}`.slice(0, 16),
      seed: 1_000_000 + i,
    });
  }
  return out;
}

/** The file of one small study (64x64, one instance), under `dir/<thousands>/`. */
function studyFile(dir: string, s: StudySpec): string {
  return path.join(dir, String(Math.floor(s.index / 1000)).padStart(3, '0'), `${String(s.index).padStart(6, '0')}.dcm`);
}

/** Worker thread: writes the files of the studies it is given. */
async function generateWorker(): Promise<void> {
  const { dir, specs } = workerData as { dir: string; specs: StudySpec[] };
  let bytes = 0;
  for (const s of specs) {
    const file = studyFile(dir, s);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    for (const inst of generateSeries({
      modality: s.modality,
      count: 1,
      rows: 64,
      columns: 64,
      patient: s.patient,
      charset: s.charset,
      studyInstanceUid: s.studyUid,
      seriesInstanceUid: s.seriesUid,
      accessionNumber: s.accession,
      studyDate: s.date,
      seed: s.seed,
    })) {
      await fsp.writeFile(file, inst.bytes);
      bytes += inst.bytes.length;
    }
  }
  parentPort!.postMessage({ bytes });
}

/** Writes the studies' files with one worker thread per CPU (at most 4). */
async function writeStudies(dir: string, specs: StudySpec[]): Promise<number> {
  const workers = Math.max(1, Math.min(4, os.cpus().length));
  const tsx = import.meta.resolve('tsx/esm/api');
  // Workers do not inherit tsx's loader: register it, then load this file.
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const parts = Array.from({ length: workers }, (_, w) => specs.filter((_s, i) => i % workers === w));
  const results = await Promise.all(
    parts.map(
      (part) =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { dir, specs: part } });
          w.once('message', (m: { bytes: number }) => resolve(m.bytes));
          w.once('error', reject);
          w.once('exit', (c) => (c === 0 ? undefined : reject(new BenchError(`study generator worker exited with code ${c}`))));
        }),
    ),
  );
  return results.reduce((a, b) => a + b, 0);
}

/** A CT series written to disk, with the UIDs needed to address its instances. */
interface SeriesOnDisk {
  dir: string;
  files: string[];
  bytes: number;
  studyUid: string;
  seriesUid: string;
  sopUids: string[];
  patient: SyntheticPatient;
  date: string;
}

async function writeCtSeries(dir: string, count: number, seed: number, patient: SyntheticPatient, date: string): Promise<SeriesOnDisk> {
  await fsp.mkdir(dir, { recursive: true });
  const studyUid = newUid();
  const seriesUid = newUid();
  const files: string[] = [];
  const sopUids: string[] = [];
  let bytes = 0;
  let i = 0;
  for (const inst of generateSeries({ modality: 'CT', count, rows: SIZE, columns: SIZE, seed, patient, studyInstanceUid: studyUid, seriesInstanceUid: seriesUid, studyDate: date, accessionNumber: `BENCH${seed}` })) {
    const file = path.join(dir, `CT_${String(++i).padStart(4, '0')}.dcm`);
    await fsp.writeFile(file, inst.bytes);
    files.push(file);
    sopUids.push(inst.sopInstanceUid);
    bytes += inst.bytes.length;
  }
  return { dir, files, bytes, studyUid, seriesUid, sopUids, patient, date };
}

// ---------------------------------------------------------------------------------------
// The two servers of parts 1-3

/** Node options that make an Enkaku process write CPU profiles for a phase (with --cpu-prof). */
function profArgs(phase: string): string[] {
  return O.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(RUN_DIR, 'profiles', phase)}`] : [];
}

/**
 * The main thread's profile of a stopped process: Node writes one file per thread
 * (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; tsx's loader runs in a thread of its own).
 */
function mainThreadProfile(phase: string, pid: number | undefined): string | undefined {
  const dir = path.join(RUN_DIR, 'profiles', phase);
  if (!O.cpuProf || !pid || !fs.existsSync(dir)) return undefined;
  const f = fs.readdirSync(dir).find((x) => x.includes(`.${pid}.0.`) && x.endsWith('.cpuprofile'));
  return f ? path.join(dir, f) : undefined;
}

/** A keep-alive agent with one connection: requests go one at a time over it. */
const newAgent = (): http.Agent => new PersistentAgent();

/** Orthanc configuration added for this bench: its HTTP defaults, written out for the record. */
const ORTHANC_QUERY_CONFIG = { KeepAlive: true, TcpNoDelay: true, HttpCompressionEnabled: true, HttpThreadsCount: 50, LimitFindResults: 0, LimitFindInstances: 0 };

/** CPU time of a process over a phase. */
interface CpuWindow {
  enkakuCpuSeconds: number | undefined;
  orthancCpuSeconds: number | undefined;
  seconds: number;
}

class Pair {
  enkaku!: EnkakuServer;
  orthanc!: OrthancServer;
  eAgent = newAgent();
  oAgent = newAgent();
  /** Profiles written by Enkaku processes that have stopped: phase name and file. */
  readonly profiles: Array<{ phase: string; file: string; windows: Array<[bigint, bigint]> }> = [];
  private phase = 'start';
  private windows: Array<[bigint, bigint]> = [];

  constructor(
    readonly tools: Tools,
    readonly eSetup: EnkakuSetup,
    readonly oSetup: OrthancSetup,
  ) {}

  static async create(tools: Tools): Promise<Pair> {
    const e = await setupEnkaku({ label: 'main', scopes: ['dicomweb:write', 'dicomweb:read'] });
    const o = await setupOrthanc(tools, 'main', ORTHANC_QUERY_CONFIG);
    const pair = new Pair(tools, e, o);
    await pair.launch('load');
    return pair;
  }

  private async launch(phase: string): Promise<void> {
    this.phase = phase;
    this.windows = [];
    const nodeArgs = profArgs(phase);
    [this.enkaku, this.orthanc] = await Promise.all([launchEnkaku(this.eSetup, { nodeArgs }), launchOrthanc(this.tools, this.oSetup)]);
    this.eAgent = newAgent();
    this.oAgent = newAgent();
  }

  /** Stops both servers (keeping their data). */
  async stop(): Promise<void> {
    this.eAgent.destroy();
    this.oAgent.destroy();
    await Promise.all([stopServer(this.enkaku, false), stopServer(this.orthanc, false)]);
    const file = mainThreadProfile(this.phase, this.enkaku.proc.child.pid);
    if (file) this.profiles.push({ phase: this.phase, file, windows: this.windows });
  }

  /** Restarts both servers, so neither has anything cached from earlier requests. */
  async restart(phase: string): Promise<void> {
    await this.stop();
    await this.launch(phase);
  }

  /** Runs `fn` as a measured window: its CPU use, and (with --cpu-prof) the profile samples to keep. */
  async measure<T>(fn: () => Promise<T>): Promise<[T, CpuWindow]> {
    const e0 = cpuSeconds(this.enkaku.proc.child.pid);
    const o0 = cpuSeconds(this.orthanc.proc.child.pid);
    const t0 = process.hrtime.bigint();
    const r = await fn();
    const t1 = process.hrtime.bigint();
    this.windows.push([t0 / 1000n, t1 / 1000n]);
    const e1 = cpuSeconds(this.enkaku.proc.child.pid);
    const o1 = cpuSeconds(this.orthanc.proc.child.pid);
    return [
      r,
      {
        seconds: Number(t1 - t0) / 1e9,
        enkakuCpuSeconds: e0 !== undefined && e1 !== undefined ? e1 - e0 : undefined,
        orthancCpuSeconds: o0 !== undefined && o1 !== undefined ? o1 - o0 : undefined,
      },
    ];
  }

  enkakuGet(url: string, headers: Record<string, string>): Promise<TimedAnswer> {
    return timedRequest(`${this.enkaku.baseUrl}${url}`, { headers: { authorization: `Bearer ${this.enkaku.token}`, ...headers }, agent: this.eAgent });
  }

  orthancGet(url: string, headers: Record<string, string>): Promise<TimedAnswer> {
    return timedRequest(`${this.orthanc.baseUrl}${url}`, { headers, agent: this.oAgent });
  }

  orthancPost(url: string, body: unknown): Promise<TimedAnswer> {
    return timedRequest(`${this.orthanc.baseUrl}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), agent: this.oAgent });
  }
}

/** Problems seen during the run (wrong answers, failed loads, log warnings). */
const problems: string[] = [];
function problem(text: string): void {
  problems.push(text);
  say(`      ! ${text}`);
}

/** Sends a folder with storescu and checks how many instances the server holds afterwards. */
async function loadInto(pair: Pair, which: 'enkaku' | 'orthanc', dir: string, expectInstances: number, what: string): Promise<{ seconds: number; instances: number; cpuSeconds: number | undefined }> {
  const s = which === 'enkaku' ? pair.enkaku : pair.orthanc;
  syncDisks();
  const cpu0 = cpuSeconds(s.proc.child.pid);
  const r = await storescu(s, dir, path.join(RUN_DIR, `storescu-${which}-${what.replace(/\W+/g, '-')}.log`));
  const cpu1 = cpuSeconds(s.proc.child.pid);
  let held = await s.count().catch(() => -1);
  for (let i = 0; i < 10 && held !== expectInstances; i++) {
    await new Promise((res) => setTimeout(res, 500));
    held = await s.count().catch(() => -1);
  }
  say(`    ${s.name}: ${fmt(r.seconds, 1)} s (${fmt(expectInstances / r.seconds, 0)} instances/s), ${held}/${expectInstances} instances held`);
  for (const p of r.problems) problem(`${s.name} load (${what}): ${p}`);
  if (held !== expectInstances) problem(`${s.name} holds ${held} instances after loading ${what}, expected ${expectInstances}`);
  return { seconds: r.seconds, instances: held, cpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined };
}

/** Orthanc's identifiers of a series' instances, by SOP Instance UID (REST: /tools/find). */
async function orthancIds(pair: Pair, seriesUid: string): Promise<Map<string, string>> {
  const r = await pair.orthancPost('/tools/find', { Level: 'Instance', Query: { SeriesInstanceUID: seriesUid }, Expand: true });
  if (r.status !== 200) throw new BenchError(`Orthanc POST /tools/find answered ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
  const list = JSON.parse(r.body.toString('utf8')) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID?: string } }>;
  return new Map(list.map((x) => [x.MainDicomTags.SOPInstanceUID ?? '', x.ID]));
}

// ---------------------------------------------------------------------------------------
// Part: WADO-RS metadata

interface MetadataResult {
  instances: number;
  first: { enkakuMs: number | undefined; orthancMs: number | undefined };
  repeated: { enkaku: Stats; orthanc: Stats };
  enkakuError?: string;
  orthancError?: string;
  cpu: CpuWindow;
}

/** Checks a metadata answer: 200, a DICOM JSON array with one object per instance of the series. */
function checkMetadata(r: TimedAnswer, sops: ReadonlySet<string>): string | undefined {
  if (r.status !== 200) return `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`;
  let list: Array<Record<string, { Value?: unknown[] }>>;
  try {
    list = JSON.parse(r.body.toString('utf8')) as typeof list;
  } catch {
    return `not JSON (${String(r.headers['content-type'])})`;
  }
  if (!Array.isArray(list)) return 'not a JSON array';
  if (list.length !== sops.size) return `${list.length} objects, expected ${sops.size}`;
  const seen = new Set(list.map((o) => String(o['00080018']?.Value?.[0] ?? '')));
  const missing = [...sops].filter((s) => !seen.has(s)).length;
  if (missing) return `${missing} of the series' SOP Instance UIDs are missing from the answer`;
  return undefined;
}

async function metadataPart(pair: Pair, series: SeriesOnDisk, warmup: SeriesOnDisk): Promise<MetadataResult> {
  say(`\nWADO-RS metadata of the ${series.sopUids.length}-instance series (both servers restarted, one untimed call on the warm-up series: first call, then ${O.metadataReps} repeated calls)`);
  await pair.restart('metadata');
  const sops = new Set(series.sopUids);
  const accept = { accept: 'application/dicom+json' };
  const eUrl = `/dicomweb/studies/${series.studyUid}/series/${series.seriesUid}/metadata`;
  const oUrl = `/dicom-web/studies/${series.studyUid}/series/${series.seriesUid}/metadata`;
  // Warm-up on a different series, as for rendered frames: code paths and connections,
  // not the measured files.
  const wE = await pair.enkakuGet(`/dicomweb/studies/${warmup.studyUid}/series/${warmup.seriesUid}/metadata`, accept);
  const wO = await pair.orthancGet(`/dicom-web/studies/${warmup.studyUid}/series/${warmup.seriesUid}/metadata`, accept);
  if (wE.status !== 200) problem(`Enkaku metadata warm-up call: HTTP ${wE.status}`);
  if (wO.status !== 200) problem(`Orthanc metadata warm-up call: HTTP ${wO.status}`);
  const e: number[] = [];
  const o: number[] = [];
  let eErr: string | undefined;
  let oErr: string | undefined;
  const first = { enkakuMs: undefined as number | undefined, orthancMs: undefined as number | undefined };
  const [, cpu] = await pair.measure(async () => {
    for (let i = 0; i <= O.metadataReps; i++) {
      checkInterrupted();
      if (!eErr) {
        const r = await pair.enkakuGet(eUrl, accept);
        const bad = checkMetadata(r, sops);
        if (bad) eErr = bad;
        else if (i === 0) first.enkakuMs = r.ms;
        else e.push(r.ms);
      }
      if (!oErr) {
        const r = await pair.orthancGet(oUrl, accept);
        const bad = checkMetadata(r, sops);
        if (bad) oErr = bad;
        else if (i === 0) first.orthancMs = r.ms;
        else o.push(r.ms);
      }
    }
  });
  if (eErr) problem(`Enkaku metadata: ${eErr}`);
  if (oErr) problem(`Orthanc metadata: ${oErr}`);
  const result: MetadataResult = { instances: sops.size, first, repeated: { enkaku: stats(e), orthanc: stats(o) }, cpu, ...(eErr ? { enkakuError: eErr } : {}), ...(oErr ? { orthancError: oErr } : {}) };
  say(`    first call: Enkaku ${ms(first.enkakuMs ?? NaN)} ms, Orthanc ${ms(first.orthancMs ?? NaN)} ms; repeated p95: Enkaku ${ms(result.repeated.enkaku.p95)} ms, Orthanc ${ms(result.repeated.orthanc.p95)} ms`);
  return result;
}

// ---------------------------------------------------------------------------------------
// Part: rendered frames

type ImageFormat = 'png' | 'jpeg';

/** Width and height from a PNG's IHDR or a JPEG's SOFn segment; a string says what is wrong. */
function imageSize(buf: Buffer, format: ImageFormat): { width: number; height: number } | string {
  if (format === 'png') {
    const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    if (buf.length < 24 || !buf.subarray(0, 8).equals(sig)) return 'no PNG signature';
    if (buf.toString('latin1', 12, 16) !== 'IHDR') return 'PNG without IHDR first';
    return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return 'no JPEG SOI marker';
  let i = 2;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) return `JPEG marker expected at byte ${i}`;
    const m = buf[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = buf.readUInt16BE(i + 2);
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 9 > buf.length) return 'truncated JPEG SOF segment';
      return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    }
    if (m === 0xda || m === 0xd9) break;
    i += 2 + len;
  }
  return 'no JPEG SOF segment';
}

/** Checks a rendered answer: 200, the media type asked for, its signature, and the frame's size. */
function checkImage(r: TimedAnswer, format: ImageFormat, size: number): string | undefined {
  if (r.status !== 200) return `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 160).replace(/\s+/g, ' ')}`;
  const type = String(r.headers['content-type'] ?? '');
  if (!type.startsWith(`image/${format}`)) return `Content-Type "${type}", expected image/${format}`;
  const dims = imageSize(r.body, format);
  if (typeof dims === 'string') return dims;
  if (dims.width !== size || dims.height !== size) return `image is ${dims.width}x${dims.height}, expected ${size}x${size}`;
  return undefined;
}

interface RenderedRow {
  format: ImageFormat;
  pass: 'cold' | 'warm' | 'shuffled';
  enkaku: Stats;
  orthanc: Stats;
  enkakuBytes: number;
  orthancBytes: number;
  enkakuError?: string;
  orthancError?: string;
  /** Requests that had to open a new connection (1 = keep-alive worked). */
  newConnections: { enkaku: number; orthanc: number };
  cpu: CpuWindow;
  /** Every request's time in ms, in the order asked (for looking at where the slow ones fall). */
  samples: { enkaku: number[]; orthanc: number[] };
}

/**
 * The items in a pseudo-random order (seeded, the same in every run) in which no item
 * directly follows the one before it in the input.
 */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  const index = new Map(items.map((v, i) => [v, i]));
  for (let attempt = 0; ; attempt++) {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    const adjacent = out.some((v, i) => i > 0 && Math.abs(index.get(v)! - index.get(out[i - 1]!)!) <= 1);
    if (!adjacent || attempt > 1000 || out.length < 4) return out;
  }
}

async function renderedPart(pair: Pair, series: SeriesOnDisk, warmup: SeriesOnDisk): Promise<RenderedRow[]> {
  const rows: RenderedRow[] = [];
  const ids = await orthancIds(pair, series.seriesUid);
  const warmIds = await orthancIds(pair, warmup.seriesUid);
  const missing = series.sopUids.filter((s) => !ids.has(s)).length;
  if (missing) throw new BenchError(`Orthanc does not know ${missing} of the series' instances`);
  for (const format of ['png', 'jpeg'] as const) {
    say(`\nRendered ${format.toUpperCase()}: both servers restarted; ${series.sopUids.length} slices cold in series order, then the same slices warm; both servers restarted again; every slice once in a shuffled order`);
    await pair.restart(`rendered-${format}`);
    const accept = { accept: `image/${format}` };
    const eUrl = (s: SeriesOnDisk, sop: string): string => `/dicomweb/studies/${s.studyUid}/series/${s.seriesUid}/instances/${sop}/rendered`;
    // Warm-up on a different series: code paths and connections, not the measured frames.
    let eErr: string | undefined;
    let oErr: string | undefined;
    const warmUp = async (): Promise<void> => {
      for (const sop of warmup.sopUids) {
        const er = await pair.enkakuGet(eUrl(warmup, sop), accept);
        eErr ??= checkImage(er, format, SIZE);
        const or = await pair.orthancGet(`/instances/${warmIds.get(sop)}/rendered`, accept);
        oErr ??= checkImage(or, format, SIZE);
      }
    };
    await warmUp();
    if (eErr) problem(`Enkaku rendered ${format.toUpperCase()} does not work (warm-up request): ${eErr}${eErr.startsWith('HTTP 404') ? ' — the rendered endpoint is missing; Enkaku is skipped for this format' : ''}`);
    if (oErr) problem(`Orthanc rendered ${format.toUpperCase()} does not work (warm-up request): ${oErr}`);
    for (const pass of ['cold', 'warm', 'shuffled'] as const) {
      // Shuffled: cold again (both servers restarted), in an order in which no slice follows
      // its neighbour, so that nothing a server renders ahead of a scrolling reader helps.
      let order = series.sopUids;
      if (pass === 'shuffled') {
        await pair.restart(`rendered-${format}-shuffled`);
        await warmUp();
        order = shuffled(series.sopUids, 7);
      }
      const e: number[] = [];
      const o: number[] = [];
      let eBytes = 0;
      let oBytes = 0;
      const conns = { enkaku: 0, orthanc: 0 };
      let eBad: string | undefined;
      let oBad: string | undefined;
      const [, cpu] = await pair.measure(async () => {
        for (const sop of order) {
          checkInterrupted();
          if (!eErr) {
            const r = await pair.enkakuGet(eUrl(series, sop), accept);
            const bad = checkImage(r, format, SIZE);
            if (!r.reused) conns.enkaku++;
            if (bad) eBad ??= bad;
            else {
              e.push(r.ms);
              eBytes += r.body.length;
            }
          }
          if (!oErr) {
            const r = await pair.orthancGet(`/instances/${ids.get(sop)}/rendered`, accept);
            const bad = checkImage(r, format, SIZE);
            if (!r.reused) conns.orthanc++;
            if (bad) oBad ??= bad;
            else {
              o.push(r.ms);
              oBytes += r.body.length;
            }
          }
        }
      });
      const n = series.sopUids.length;
      if (!eErr && e.length !== n) problem(`Enkaku rendered ${format} ${pass}: ${n - e.length} of ${n} answers wrong, e.g. ${eBad}`);
      if (!oErr && o.length !== n) problem(`Orthanc rendered ${format} ${pass}: ${n - o.length} of ${n} answers wrong, e.g. ${oBad}`);
      const row: RenderedRow = {
        format,
        pass,
        enkaku: stats(e),
        orthanc: stats(o),
        enkakuBytes: e.length ? eBytes / e.length : NaN,
        orthancBytes: o.length ? oBytes / o.length : NaN,
        newConnections: conns,
        cpu,
        samples: { enkaku: e.map((x) => Math.round(x * 100) / 100), orthanc: o.map((x) => Math.round(x * 100) / 100) },
        ...(eErr ?? (e.length !== n ? eBad : undefined) ? { enkakuError: eErr ?? eBad } : {}),
        ...(oErr ?? (o.length !== n ? oBad : undefined) ? { orthancError: oErr ?? oBad } : {}),
      };
      rows.push(row);
      say(
        `    ${pass}: Enkaku median ${ms(row.enkaku.median)} / p95 ${ms(row.enkaku.p95)} ms${eErr ? ' (not measured)' : ''}; ` +
          `Orthanc median ${ms(row.orthanc.median)} / p95 ${ms(row.orthanc.p95)} ms; CPU s Enkaku ${fmt(cpu.enkakuCpuSeconds ?? NaN, 2)}, Orthanc ${fmt(cpu.orthancCpuSeconds ?? NaN, 2)}`,
      );
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// Part: QIDO-RS at 10,000 studies

/** One QIDO-RS request of a query type: the query string and, where known, the number of matches. */
interface QidoCase {
  query: string;
  /** Query string for Orthanc, if it differs; undefined when Orthanc is not asked. */
  orthancQuery?: string | undefined;
  /** Expected number of studies in the answer, when the bench can know it. */
  expect?: number;
}

interface QueryType {
  key: string;
  label: string;
  enkakuOnly?: boolean;
  /** Shown for information (no target): e.g. the cost of a search that finds nothing. */
  info?: boolean;
  cases: QidoCase[];
}

interface QidoRow {
  key: string;
  label: string;
  info: boolean;
  example: string;
  enkaku: Stats;
  orthanc: Stats | undefined;
  hits: { enkaku: [number, number]; orthanc: [number, number] | undefined };
  wrong: { enkaku: number; orthanc: number };
}

/** Indexed view of what the servers hold, to know how many studies each search must return. */
interface Truth {
  studies: Array<{ patientId: string; groups: [string, string, string]; date: string; modality: string; accession: string }>;
}

const countWhere = <T>(xs: readonly T[], f: (x: T) => boolean): number => xs.reduce((n, x) => n + (f(x) ? 1 : 0), 0);

/** Whether a fuzzy search for `q` finds the name: a component of a group starts with it, after normalisation. */
function fuzzyHit(groups: readonly string[], q: string): boolean {
  const nq = normaliseForSearch(q);
  return groups.some((g) => normaliseForSearch(g).split('^').some((c) => c.startsWith(nq)));
}

/** A Study Instance UID no server holds. */
const NO_SUCH_UID = '1.2.826.0.1.3680043.9.7433.1.999999999';

function qidoTypes(truth: Truth, specs: StudySpec[]): QueryType[] {
  const limit = 100;
  const cap = (n: number): number => Math.min(limit, n);
  const rand = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const surnames = [...new Set(specs.map((s) => s.groups[0].split('^')[0]!))].sort();
  const kana = ['やまだ', 'すずき', 'サトウ', 'ﾀﾅｶ', 'たかはし', 'はまだ', 'ゆう', 'けん'];
  const months: string[] = [];
  for (let y = 2005; y < 2025; y++) for (let m = 1; m <= 12; m++) months.push(`${y}${String(m).padStart(2, '0')}`);
  const n = 40;
  const list = <T>(f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  const total = truth.studies.length;
  return [
    {
      key: 'name-wildcard',
      label: 'PatientName=<surname>*',
      cases: list((i) => {
        const s = surnames[i % surnames.length]!;
        return { query: `PatientName=${encodeURIComponent(`${s}*`)}&limit=${limit}`, expect: cap(countWhere(truth.studies, (t) => t.groups[0].toLowerCase().startsWith(s.toLowerCase()))) };
      }),
    },
    {
      key: 'patient-id',
      label: 'PatientID=<id>',
      cases: list(() => {
        const id = pick(specs).patient.id;
        return { query: `PatientID=${id}&limit=${limit}`, expect: cap(countWhere(truth.studies, (t) => t.patientId === id)) };
      }),
    },
    {
      key: 'date-range',
      label: 'StudyDate=<one month>',
      cases: list(() => {
        const m = pick(months);
        const [from, to] = [`${m}01`, `${m}31`];
        return { query: `StudyDate=${from}-${to}&limit=${limit}`, expect: cap(countWhere(truth.studies, (t) => t.date >= from && t.date <= to)) };
      }),
    },
    {
      key: 'accession',
      label: 'AccessionNumber=<number>',
      cases: list(() => {
        const a = pick(specs).accession;
        return { query: `AccessionNumber=${a}&limit=${limit}`, expect: cap(countWhere(truth.studies, (t) => t.accession === a)) };
      }),
    },
    {
      key: 'modality',
      label: 'ModalitiesInStudy=<CT|MR|CR>',
      cases: list((i) => {
        const m = (['CT', 'MR', 'CR'] as const)[i % 3]!;
        return { query: `ModalitiesInStudy=${m}&limit=${limit}`, expect: cap(countWhere(truth.studies, (t) => t.modality === m)) };
      }),
    },
    {
      key: 'paging',
      label: 'limit=50&offset=<0..N>',
      cases: list(() => {
        const off = 50 * Math.floor(rand() * Math.floor((total - 50) / 50));
        return { query: `limit=50&offset=${off}`, expect: Math.min(50, total - off) };
      }),
    },
    {
      key: 'fuzzy',
      label: 'PatientName=<kana>&fuzzymatching=true',
      enkakuOnly: true,
      cases: list((i) => {
        const q = i === 0 ? 'やまだ' : kana[i % kana.length]!;
        return { query: `PatientName=${encodeURIComponent(q)}&fuzzymatching=true&limit=${limit}`, orthancQuery: undefined, expect: cap(countWhere(truth.studies, (t) => fuzzyHit(t.groups, q))) };
      }),
    },
    {
      // The floor: authentication, (for Enkaku) the audit entry, an index lookup, HTTP.
      key: 'no-match',
      label: 'StudyInstanceUID=<unknown> (floor)',
      info: true,
      cases: [{ query: `StudyInstanceUID=${NO_SUCH_UID}&limit=${limit}`, expect: 0 }],
    },
  ].map((t) => ({ ...t, cases: t.cases.map((c) => ({ ...c, orthancQuery: t.enkakuOnly ? undefined : c.query })) }));
}

/** Number of studies in a QIDO-RS answer (204 is none); a string says what is wrong. */
function qidoHits(r: TimedAnswer): number | string {
  if (r.status === 204) return 0;
  if (r.status !== 200) return `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`;
  try {
    const list = JSON.parse(r.body.toString('utf8')) as unknown;
    if (!Array.isArray(list)) return 'not a JSON array';
    return list.length;
  } catch {
    return 'not JSON';
  }
}

async function qidoPart(pair: Pair, specs: StudySpec[], truth: Truth): Promise<{ rows: QidoRow[]; cpu: CpuWindow }> {
  const types = qidoTypes(truth, specs);
  say(`\nQIDO-RS: ${types.length} query types × ${O.qidoReps} requests on each server (both restarted; one untimed request of each type first)`);
  await pair.restart('qido');
  const accept = { accept: 'application/dicom+json' };
  for (const t of types) {
    await pair.enkakuGet(`/dicomweb/studies?${t.cases[0]!.query}`, accept);
    if (!t.enkakuOnly) await pair.orthancGet(`/dicom-web/studies?${t.cases[0]!.orthancQuery}`, accept);
  }
  const samples = new Map(types.map((t) => [t.key, { e: [] as number[], o: [] as number[], eh: [] as number[], oh: [] as number[], ewrong: 0, owrong: 0 }]));
  const [, cpu] = await pair.measure(async () => {
    for (let i = 0; i < O.qidoReps; i++) {
      checkInterrupted();
      for (const t of types) {
        const c = t.cases[i % t.cases.length]!;
        const s = samples.get(t.key)!;
        const er = await pair.enkakuGet(`/dicomweb/studies?${c.query}`, accept);
        const eh = qidoHits(er);
        if (typeof eh === 'string' || (c.expect !== undefined && eh !== c.expect)) {
          if (s.ewrong++ === 0) problem(`Enkaku QIDO ${c.query}: ${typeof eh === 'string' ? eh : `${eh} studies, expected ${c.expect}`}`);
        } else {
          s.e.push(er.ms);
          s.eh.push(eh);
        }
        if (c.orthancQuery !== undefined) {
          const or = await pair.orthancGet(`/dicom-web/studies?${c.orthancQuery}`, accept);
          const oh = qidoHits(or);
          if (typeof oh === 'string' || (c.expect !== undefined && oh !== c.expect)) {
            if (s.owrong++ === 0) problem(`Orthanc QIDO ${c.orthancQuery}: ${typeof oh === 'string' ? oh : `${oh} studies, expected ${c.expect}`}`);
          } else {
            s.o.push(or.ms);
            s.oh.push(oh);
          }
        }
      }
    }
  });
  const range = (xs: number[]): [number, number] => (xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 0]);
  const rows = types.map((t): QidoRow => {
    const s = samples.get(t.key)!;
    return {
      key: t.key,
      label: t.label,
      info: t.info === true,
      example: decodeURIComponent(t.cases[0]!.query),
      enkaku: stats(s.e),
      orthanc: t.enkakuOnly ? undefined : stats(s.o),
      hits: { enkaku: range(s.eh), orthanc: t.enkakuOnly ? undefined : range(s.oh) },
      wrong: { enkaku: s.ewrong, orthanc: s.owrong },
    };
  });
  for (const r of rows) say(`    ${pad(r.label, 40)} Enkaku p95 ${pad(ms(r.enkaku.p95), 6, true)} ms   Orthanc p95 ${pad(r.orthanc ? ms(r.orthanc.p95) : '-', 6, true)} ms`);
  return { rows, cpu };
}

// ---------------------------------------------------------------------------------------
// Part: PostgreSQL with a million studies

/** Settings of the PostgreSQL server that shape query plans and their speed. */
async function pgSettings(c: pg.Client): Promise<Record<string, string>> {
  const r = await c.query<{ name: string; setting: string; unit: string | null }>(
    `select name, setting, unit from pg_settings where name in ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'max_parallel_workers_per_gather', 'jit', 'lc_collate', 'synchronous_commit')`,
  );
  const human = (v: string, unit: string | null): string => {
    const n = Number(v);
    const bytes = unit === '8kB' ? n * 8192 : unit === 'kB' ? n * 1024 : NaN;
    return Number.isFinite(bytes) ? (bytes >= 1024 ** 3 ? `${fmt(bytes / 1024 ** 3, 1)}GB` : `${fmt(bytes / 1024 ** 2, 0)}MB`) : v;
  };
  return Object.fromEntries(r.rows.map((x) => [x.name, human(x.setting, x.unit)]));
}

/** Whether PostgreSQL answers at the URL (within a few seconds). */
async function pgReachable(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A progress line: rewritten in place on a terminal, one line per step otherwise. */
function progress(text: string, last: boolean): void {
  if (process.stdout.isTTY) process.stdout.write(`\r    ${text}${last ? '\n' : ''}`);
  else say(`    ${text}`);
}

/** Modalities of the million-study data (study-level "ModalitiesInStudy") and their share in ‰. */
const PG_MODALITIES: Array<[string, number]> = [
  ['CT', 280], ['CR', 220], ['MR', 150], ['DX', 100], ['US', 80], ['MG', 50], ['XA', 30], ['CT\\PT', 20], ['NM', 20], ['RF', 20], ['OT', 10], ['CT\\SR', 20],
];

interface PgLoad {
  schema: string;
  facilityId: string;
  patients: number;
  studies: number;
  series: number;
  seconds: { patients: number; studies: number; vacuumAnalyze: number };
  tableBytes: Record<string, number>;
}

/**
 * Bulk-inserts patients, studies and their series with INSERT ... SELECT FROM
 * generate_series, filling every column the way Enkaku's intake would (name_search as
 * names.ts normalises it, and the patients' name keys), then VACUUM ANALYZE.
 */
async function pgBulkLoad(c: pg.Client, schema: string, patients: number, studies: number): Promise<PgLoad> {
  const fac = await c.query<{ id: string }>(`select id from ${schema}.facilities where name = 'BENCH'`);
  const facilityId = fac.rows[0]?.id;
  if (!facilityId) throw new BenchError('facility BENCH not found in the PostgreSQL schema');
  const norm = (xs: string[]): string[] => xs.map(normaliseForSearch);
  const sa = SURNAMES.map((s) => s[0]);
  const sk = SURNAMES.map((s) => s[1]);
  const sh = SURNAMES.map((s) => s[2]);
  const ga = GIVEN.map((g) => g[0]);
  const gk = GIVEN.map((g) => g[1]);
  const gh = GIVEN.map((g) => g[2]);
  const surnameLut = weightedTable(SURNAMES.map((s) => s[3]), 1000).map((i) => i + 1);
  const modalityLut = weightedTable(PG_MODALITIES.map((m) => m[1]), 1000).map((i) => i + 1);
  const chunk = 100_000;
  await c.query(`set search_path = ${schema}`);
  await c.query('select setseed(0.4242)');

  const t0 = Date.now();
  for (let a = 1; a <= patients; a += chunk) {
    checkInterrupted();
    const b = Math.min(patients, a + chunk - 1);
    // Name forms: 3 % alphabetic only; 5 % as sent under ISO_IR 13 (no kanji, half-width
    // katakana reading); otherwise all three groups, the reading in hiragana (50 %),
    // full-width katakana (35 %) or half-width katakana (15 %).
    await c.query(
      `insert into patients (id, facility_id, patient_id, issuer, name_alphabetic, name_ideographic, name_phonetic, name_search, sex, birth_date, created_at, updated_at)
       select md5('bench-patient-' || n)::uuid::text, $1, 'P' || lpad(n::text, 8, '0'), 'ENKAKU',
              alpha, ideo, phon, nalpha || E'\\n' || nideo || E'\\n' || nphon, sex, birth, now, now
       from (
         select n, s, g, birth, now,
                ($2::text[])[s] || '^' || ($5::text[])[g] as alpha,
                case when cls < 0.08 then '' else ($3::text[])[s] || '^' || ($6::text[])[g] end as ideo,
                case when cls < 0.03 then ''
                     when cls < 0.08 or form >= 0.85 then ($11::text[])[s] || '^' || ($12::text[])[g]
                     when form < 0.5 then ($4::text[])[s] || '^' || ($7::text[])[g]
                     else ($9::text[])[s] || '^' || ($10::text[])[g] end as phon,
                ($13::text[])[s] || '^' || ($14::text[])[g] as nalpha,
                case when cls < 0.08 then '' else ($15::text[])[s] || '^' || ($16::text[])[g] end as nideo,
                case when cls < 0.03 then '' else ($17::text[])[s] || '^' || ($18::text[])[g] end as nphon,
                ($20::text[])[g] as sex
         from (
           select n,
                  ($8::int[])[1 + floor(random() * 1000)::int] as s,
                  1 + floor(random() * $19)::int as g,
                  random() as cls, random() as form,
                  to_char(date '1925-01-01' + floor(random() * 35000)::int, 'YYYYMMDD') as birth,
                  to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now
           from generate_series($21::int, $22::int) n
         ) r
       ) q`,
      [
        facilityId, sa, sk, sh, ga, gk, gh, surnameLut,
        sh.map(katakana), gh.map(katakana), sh.map(halfwidth), gh.map(halfwidth),
        norm(sa), norm(ga), norm(sk), norm(gk), norm(sh), norm(gh),
        GIVEN.length, GIVEN.map((g) => g[3]), a, b,
      ],
    );
    progress(`patients ${b.toLocaleString('en')}/${patients.toLocaleString('en')}`, b === patients);
  }
  // Their fuzzy name keys, as nameSearchKeys makes them: the text from its start and from
  // after every new line or '^'.
  await c.query(
    `insert into patient_name_keys (key, facility_id, patient_id)
     select distinct substr(p.name_search, i), p.facility_id, p.id
     from patients p cross join lateral generate_series(1, length(p.name_search)) i
     where i = 1 or substr(p.name_search, i - 1, 1) in (E'\n', '^')`,
  );
  const tPatients = (Date.now() - t0) / 1000;

  const t1 = Date.now();
  const descriptions: Record<string, string> = { CT: '胸腹部CT', CR: '胸部X線', MR: '頭部MRI', DX: '胸部X線', US: '腹部超音波', MG: 'マンモグラフィ', XA: '冠動脈造影', 'CT\\PT': 'PET-CT', NM: '骨シンチ', RF: '上部消化管造影', OT: 'その他', 'CT\\SR': '胸部CT' };
  const mods = PG_MODALITIES.map((m) => m[0]);
  for (let a = 1; a <= studies; a += chunk) {
    checkInterrupted();
    const b = Math.min(studies, a + chunk - 1);
    // Dates over 20 years with volume rising over time (density grows linearly); studies
    // between 08:00 and 20:00; one series per modality of the study.
    await c.query(
      `with r as (
         select n,
                1 + floor(random() * $2)::int as p,
                date '2005-01-01' + floor(sqrt(random()) * 7305)::int as d,
                28800 + floor(random() * 43200)::int as t,
                ($3::int[])[1 + floor(random() * 1000)::int] as m,
                to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now
         from generate_series($6::int, $7::int) n
       ), ins as (
         insert into studies (id, facility_id, patient_ref, study_uid, accession_number, study_id, study_date, study_time, modalities, description,
                              referring_physician, institution, num_series, num_instances, size_bytes, patient_name_search, created_at, updated_at)
         select md5('bench-study-' || n)::uuid::text, $1, pt.id,
                '1.2.392.200036.9116.2.6.1.48.1214245' || '.' || n, 'A' || to_char(d, 'YY') || lpad(n::text, 8, '0'), (n % 100000)::text,
                to_char(d, 'YYYYMMDD'), lpad((t / 3600)::text, 2, '0') || lpad((t / 60 % 60)::text, 2, '0') || lpad((t % 60)::text, 2, '0'),
                ($4::text[])[m], ($5::text[])[m], 'Suzuki^Ichirou=鈴木^一郎=すずき^いちろう', '東京遠隔総合病院',
                cardinality(string_to_array(($4::text[])[m], '\\')), 1 + (n % 300), (1 + (n % 300)) * 526000, pt.name_search, now, now
         from r join patients pt on pt.id = md5('bench-patient-' || r.p)::uuid::text
         returning id, study_uid, modalities, created_at
       )
       insert into series (id, study_ref, series_uid, modality, series_number, description, body_part, num_instances, created_at)
       select md5(ins.id || '-' || k)::uuid::text, ins.id, ins.study_uid || '.' || k, mod, k, '', '', 1, ins.created_at
       from ins cross join lateral unnest(string_to_array(ins.modalities, '\\')) with ordinality as u(mod, k)`,
      [facilityId, patients, modalityLut, mods, mods.map((m) => descriptions[m] ?? ''), a, b],
    );
    progress(`studies ${b.toLocaleString('en')}/${studies.toLocaleString('en')}`, b === studies);
  }
  const tStudies = (Date.now() - t1) / 1000;
  const t2 = Date.now();
  await c.query('vacuum analyze patients, patient_name_keys, studies, series');
  const tVacuum = (Date.now() - t2) / 1000;
  const counts = await c.query<{ p: string; s: string; se: string }>('select (select count(*) from patients) p, (select count(*) from studies) s, (select count(*) from series) se');
  const sizes = await c.query<{ t: string; b: string }>(`select c.relname t, pg_total_relation_size(c.oid) b from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname in ('patients','studies','series')`, [schema]);

  // The name_search column must be what Enkaku's intake writes: check a sample.
  const sample = await c.query<{ a: string; i: string; p: string; s: string }>('select name_alphabetic a, name_ideographic i, name_phonetic p, name_search s from patients tablesample system (1) limit 500');
  const bad = sample.rows.filter((r) => nameSearchText({ alphabetic: r.a, ideographic: r.i, phonetic: r.p }) !== r.s);
  if (bad.length) problem(`PostgreSQL load: ${bad.length} of ${sample.rows.length} sampled patients have a name_search different from names.ts (e.g. ${JSON.stringify(bad[0])})`);
  // So must each study's copy of its patient's (kept by writeNameKeys in Enkaku).
  const copies = await c.query<{ n: string; bad: string }>(
    'select count(*) n, count(*) filter (where s.patient_name_search <> p.name_search) bad from studies s tablesample system (1) join patients p on p.id = s.patient_ref',
  );
  if (Number(copies.rows[0]!.bad) > 0) problem(`PostgreSQL load: ${copies.rows[0]!.bad} of ${copies.rows[0]!.n} sampled studies have a patient_name_search different from their patient's name_search`);
  return {
    schema,
    facilityId,
    patients: Number(counts.rows[0]!.p),
    studies: Number(counts.rows[0]!.s),
    series: Number(counts.rows[0]!.se),
    seconds: { patients: tPatients, studies: tStudies, vacuumAnalyze: tVacuum },
    tableBytes: Object.fromEntries(sizes.rows.map((r) => [r.t, Number(r.b)])),
  };
}

interface PgCase {
  query: string;
  /** No target: shown for information. */
  info?: boolean;
  /** The StudyQuery the QIDO route builds for it (for EXPLAIN). */
  studyQuery: (scope: string[]) => StudyQuery;
  /** At least this many studies must come back. */
  atLeast: number;
}

interface PgRow {
  key: string;
  label: string;
  info: boolean;
  example: string;
  stats: Stats;
  hits: [number, number];
  wrong: number;
  /** Requests slower than the target. */
  over: number;
  /** The slowest case's query and the EXPLAIN ANALYZE of each statement (for misses, or with --explain). */
  explain?: { query: string; statements: Array<{ sql: string; parameters: unknown[]; plan: string }> };
}

/** Value lists drawn from the loaded data, so every search has something to find. */
async function pgCases(c: pg.Client, n: number): Promise<Array<{ key: string; label: string; info?: boolean; cases: PgCase[] }>> {
  const rand = prng(99);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const sample = await c.query<{ pid: string; acc: string }>(
    'select p.patient_id pid, s.accession_number acc from studies s tablesample system (0.2) join patients p on p.id = s.patient_ref limit 1000',
  );
  if (sample.rows.length === 0) throw new BenchError('no studies sampled from the PostgreSQL schema');
  const base = (q: Partial<StudyQuery>, limit = 100, offset = 0) => (scope: string[]): StudyQuery => ({ scope, limit, offset, ...q });
  const list = (f: (i: number) => PgCase): PgCase[] => Array.from({ length: n }, (_, i) => f(i));
  const kanaForms = (i: number, s: string): string => (i % 3 === 0 ? s : i % 3 === 1 ? katakana(s) : halfwidth(s));
  return [
    {
      key: 'name-wildcard',
      label: 'PatientName=<surname>* (romaji, kanji, kana)',
      cases: list((i) => {
        const [r, k, h] = pick(SURNAMES);
        const v = `${[r, k, h][i % 3]!}*`;
        return { query: `PatientName=${encodeURIComponent(v)}&limit=100`, studyQuery: base({ patientName: nameCondition(v, false) }), atLeast: 1 };
      }),
    },
    {
      key: 'patient-id',
      label: 'PatientID=<id>',
      cases: list(() => {
        const v = pick(sample.rows).pid;
        return { query: `PatientID=${v}&limit=100`, studyQuery: base({ patientId: stringCondition(v) }), atLeast: 1 };
      }),
    },
    {
      key: 'date-range',
      label: 'StudyDate=<one month>',
      cases: list(() => {
        const y = 2005 + Math.floor(rand() * 20);
        const m = String(1 + Math.floor(rand() * 12)).padStart(2, '0');
        const v = `${y}${m}01-${y}${m}31`;
        return { query: `StudyDate=${v}&limit=100`, studyQuery: base({ studyDate: dateCondition(v, 'StudyDate') }), atLeast: 1 };
      }),
    },
    {
      key: 'accession',
      label: 'AccessionNumber=<number>',
      cases: list(() => {
        const v = pick(sample.rows).acc;
        return { query: `AccessionNumber=${v}&limit=100`, studyQuery: base({ accessionNumber: stringCondition(v) }), atLeast: 1 };
      }),
    },
    {
      key: 'modality',
      label: 'ModalitiesInStudy=<CT..NM, PT>',
      cases: list((i) => {
        const all = ['CT', 'CR', 'MR', 'DX', 'US', 'MG', 'XA', 'PT', 'NM', 'RF', 'OT', 'SR'];
        const v = all[i % all.length]!;
        return { query: `ModalitiesInStudy=${v}&limit=100`, studyQuery: base({ modalities: [v] }), atLeast: 1 };
      }),
    },
    {
      key: 'paging',
      label: 'limit=50&offset=<0..9950>',
      cases: list(() => {
        const off = 50 * Math.floor(rand() * 200);
        return { query: `limit=50&offset=${off}`, studyQuery: base({}, 50, off), atLeast: 50 };
      }),
    },
    {
      key: 'fuzzy',
      label: 'PatientName=<kana>&fuzzymatching=true',
      cases: list((i) => {
        const v = i === 0 ? 'やまだ' : i % 4 === 3 ? kanaForms(i, pick(GIVEN)[2]) : kanaForms(i, pick(SURNAMES)[2]);
        return { query: `PatientName=${encodeURIComponent(v)}&fuzzymatching=true&limit=100`, studyQuery: base({ patientName: nameCondition(v, true) }), atLeast: 1 };
      }),
    },
    {
      key: 'no-match',
      label: 'StudyInstanceUID=<unknown> (floor)',
      info: true,
      cases: [{ query: `StudyInstanceUID=${NO_SUCH_UID}&limit=100`, studyQuery: base({ studyUid: uidCondition(NO_SUCH_UID) }), atLeast: 0 }],
    },
  ];
}

/**
 * The SQL statements that QueryRepository.studies issues for a query (it may first look
 * up patients or modality lists), each with its EXPLAIN (ANALYZE, BUFFERS).
 */
async function explainStudies(url: string, schema: string, q: StudyQuery): Promise<Array<{ sql: string; parameters: unknown[]; plan: string }>> {
  const captured: CompiledQuery[] = [];
  // The session settings of Enkaku's own connections, so that the plans are the ones it gets.
  const pool = new pg.Pool({ connectionString: url, max: 1, options: postgresSessionOptions(schema) });
  const db = new Kysely<DbSchema>({
    dialect: new PostgresDialect({ pool }),
    log: (e) => {
      if (e.level === 'query') captured.push(e.query);
    },
  });
  try {
    await new QueryRepository(db).studies(q);
    if (captured.length === 0) throw new BenchError('QueryRepository.studies ran no query');
    const out: Array<{ sql: string; parameters: unknown[]; plan: string }> = [];
    const c = await pool.connect();
    try {
      for (const query of captured) {
        const r = await c.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${query.sql}`, [...query.parameters]);
        out.push({ sql: query.sql, parameters: [...query.parameters], plan: r.rows.map((x) => x['QUERY PLAN']).join('\n') });
      }
    } finally {
      c.release();
    }
    return out;
  } finally {
    await db.destroy();
  }
}

interface PgResult {
  load: PgLoad;
  /** Server settings that matter for these queries (as found; not changed). */
  settings: Record<string, string>;
  rows: PgRow[];
  cpuSeconds: number | undefined;
}

async function pgPart(): Promise<PgResult> {
  const url = O.databaseUrl;
  say(`\nPostgreSQL: Enkaku on a fresh schema at ${new URL(url).host}${new URL(url).pathname}; ${O.million.toLocaleString('en')} studies of ${O.patients.toLocaleString('en')} patients`);
  const setup = await setupEnkaku({ label: 'pg', databaseUrl: url, scopes: ['dicomweb:read'] });
  const schema = setup.pg!.schema;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let enkaku: EnkakuServer | undefined;
  try {
    const settings = await pgSettings(c);
    say(`  server: PostgreSQL ${settings.server_version ?? '?'}; ${['shared_buffers', 'work_mem', 'effective_cache_size', 'max_parallel_workers_per_gather', 'jit', 'lc_collate'].map((k) => `${k}=${settings[k] ?? '?'}`).join(', ')} (the bench changes none of them)`);
    say('  bulk insert (INSERT ... SELECT FROM generate_series), then VACUUM ANALYZE...');
    const load = await pgBulkLoad(c, schema, O.patients, O.million);
    say(
      `    ${load.patients.toLocaleString('en')} patients in ${fmt(load.seconds.patients, 1)} s, ${load.studies.toLocaleString('en')} studies (+${load.series.toLocaleString('en')} series) in ${fmt(load.seconds.studies, 1)} s, ` +
        `VACUUM ANALYZE ${fmt(load.seconds.vacuumAnalyze, 1)} s; tables ${Object.entries(load.tableBytes).map(([t, b]) => `${t} ${fmt(b / MB, 0)} MB`).join(', ')}`,
    );
    enkaku = await launchEnkaku(setup, { nodeArgs: profArgs('pg-million') });
    const agent = newAgent();
    const get = (q: string): Promise<TimedAnswer> =>
      timedRequest(`${enkaku!.baseUrl}/dicomweb/studies?${q}`, { headers: { authorization: `Bearer ${enkaku!.token}`, accept: 'application/dicom+json' }, agent });
    const types = await pgCases(c, Math.min(O.pgReps, 200));
    say(`  ${types.length} query types × ${O.pgReps} requests (one untimed request of each type first)`);
    for (const t of types) await get(t.cases[0]!.query);
    const samples = new Map(types.map((t) => [t.key, { ms: [] as number[], hits: [] as number[], wrong: 0, slowest: { ms: -1, i: 0 } }]));
    const cpu0 = cpuSeconds(enkaku.proc.child.pid);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < O.pgReps; i++) {
      checkInterrupted();
      for (const t of types) {
        const cs = t.cases[i % t.cases.length]!;
        const s = samples.get(t.key)!;
        const r = await get(cs.query);
        const h = qidoHits(r);
        if (typeof h === 'string' || h < cs.atLeast) {
          if (s.wrong++ === 0) problem(`Enkaku on PostgreSQL, ${decodeURIComponent(cs.query)}: ${typeof h === 'string' ? h : `${h} studies, expected at least ${cs.atLeast}`}`);
          continue;
        }
        s.ms.push(r.ms);
        s.hits.push(h);
        if (r.ms > s.slowest.ms) s.slowest = { ms: r.ms, i: i % t.cases.length };
      }
    }
    const t1 = process.hrtime.bigint();
    const cpu1 = cpuSeconds(enkaku.proc.child.pid);
    agent.destroy();
    const rows: PgRow[] = [];
    for (const t of types) {
      const s = samples.get(t.key)!;
      const st = stats(s.ms);
      const row: PgRow = {
        key: t.key,
        label: t.label,
        info: t.info === true,
        example: decodeURIComponent(t.cases[0]!.query),
        stats: st,
        hits: s.hits.length ? [Math.min(...s.hits), Math.max(...s.hits)] : [0, 0],
        wrong: s.wrong,
        over: s.ms.filter((x) => x >= TARGETS.pgP95Ms).length,
      };
      if (O.explain || (!row.info && !(st.p95 < TARGETS.pgP95Ms))) {
        const cs = t.cases[s.slowest.i]!;
        try {
          row.explain = { query: decodeURIComponent(cs.query), statements: await explainStudies(url, schema, cs.studyQuery([load.facilityId])) };
        } catch (err) {
          problem(`EXPLAIN of ${t.key} failed: ${(err as Error).message}`);
        }
      }
      rows.push(row);
      say(`    ${pad(t.label, 46)} median ${pad(ms(st.median), 6, true)} ms  p95 ${pad(ms(st.p95), 6, true)} ms  max ${pad(ms(st.max), 6, true)} ms`);
    }
    const window: [bigint, bigint] = [t0 / 1000n, t1 / 1000n];
    const logProblems = enkakuLogProblems(path.join(setup.dir, 'enkaku.log')).filter((l) => !/dist\/web/.test(l));
    if (logProblems.length) problem(`Enkaku (PostgreSQL) logged ${logProblems.length} warning/error line(s), e.g.: ${logProblems.slice(0, 3).join(' | ')}`);
    await stopServer(enkaku, false);
    const prof = mainThreadProfile('pg-million', enkaku.proc.child.pid);
    if (prof) pgProfiles.push({ phase: 'pg-million', file: prof, windows: [window] });
    return { load, rows, settings, cpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined };
  } finally {
    if (enkaku) await stopServer(enkaku, true);
    await c.end().catch(() => undefined);
  }
}

const pgProfiles: Array<{ phase: string; file: string; windows: Array<[bigint, bigint]> }> = [];

// ---------------------------------------------------------------------------------------
// CPU profiles (--cpu-prof)

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

interface ProfileSummary {
  phase: string;
  file: string;
  /** Sampled time inside the measured windows, ms (idle included). */
  sampledMs: number;
  busyMs: number;
  byFunction: Array<{ name: string; ms: number }>;
  byArea: Array<{ area: string; ms: number }>;
}

/** Where a script lives, in a few words: a package, an Enkaku module, Node itself. */
function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/src\/server\/(.+?)\/[^/]+$/.exec(url);
  if (src) return `enkaku ${src[1]}`;
  if (url.startsWith('node:')) return 'node core';
  return path.basename(url);
}

/** Self time per function and per area, from the samples that fall in the measured windows. */
function summariseProfile(phase: string, file: string, windows: Array<[bigint, bigint]>): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fnMs = new Map<string, number>();
  const areaMs = new Map<string, number>();
  let t = p.startTime;
  let sampled = 0;
  let idle = 0;
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const inWindow = (us: number): boolean => windows.length === 0 || windows.some(([a, b]) => us >= Number(a) && us <= Number(b));
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    const dt = (deltas[i + 1] ?? 0) / 1000;
    if (!inWindow(t)) continue;
    const node = byId.get(samples[i]!);
    if (!node) continue;
    sampled += dt;
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${areaOf(f.url, f.functionName)}:${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
    fnMs.set(name, (fnMs.get(name) ?? 0) + dt);
    const area = areaOf(f.url, f.functionName);
    areaMs.set(area, (areaMs.get(area) ?? 0) + dt);
  }
  const top = <K extends string>(m: Map<string, number>, key: K, n: number): Array<Record<K, string> & { ms: number }> =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => ({ [key]: k, ms: v }) as Record<K, string> & { ms: number });
  return { phase, file, sampledMs: sampled, busyMs: sampled - idle, byFunction: top(fnMs, 'name', 15), byArea: top(areaMs, 'area', 10) };
}

function printProfile(s: ProfileSummary): void {
  say(`\nEnkaku CPU profile, ${s.phase}: ${fmt(s.busyMs, 0)} ms busy of ${fmt(s.sampledMs, 0)} ms sampled in the measured window(s) (main thread; libvips/sharp and libuv threads not included)`);
  say(`  by area:     ${s.byArea.map((a) => `${a.area} ${fmt((100 * a.ms) / Math.max(1, s.busyMs), 0)}%`).join(', ')}`);
  say('  by function (self time):');
  for (const f of s.byFunction.slice(0, 12)) say(`    ${pad(`${fmt(f.ms, 0)} ms`, 9, true)}  ${fmt((100 * f.ms) / Math.max(1, s.busyMs), 1).padStart(5)}%  ${f.name}`);
}

// ---------------------------------------------------------------------------------------
// Report

interface Verdict {
  part: string;
  name: string;
  value: number;
  target: string;
  pass: boolean;
  note?: string;
}

function ratioVerdict(part: string, name: string, e: Stats, o: Stats | undefined, target: number, eErr?: string, oErr?: string): Verdict {
  const value = o && e.n && o.n ? e.p95 / o.p95 : NaN;
  const note = eErr ? `Enkaku: ${eErr.slice(0, 60)}` : oErr ? `Orthanc: ${oErr.slice(0, 60)}` : undefined;
  return { part, name, value, target: `<= ${target.toFixed(2)}`, pass: !note && Number.isFinite(value) && value <= target, ...(note ? { note } : {}) };
}

function table(head: Array<[string, number, boolean?]>, rows: string[][]): void {
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, head[i]![1], head[i]![2] ?? true)).join(' ');
  const h = line(head.map((x) => x[0]));
  say(h);
  say('-'.repeat(h.length));
  for (const r of rows) say(line(r));
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new BenchError('this benchmark reads /proc and runs Debian packages: Linux only');
  const tools = ensureTools();
  await fsp.mkdir(RUN_DIR, { recursive: true });
  const started = new Date();
  const host = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? '?'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM, Linux ${os.release()}`;
  say(`Enkaku query benchmark — ${host}`);
  say(`Node ${process.version}; ${tools.orthancVersion} + DICOMweb plugin (${path.basename(tools.dicomWebPlugin)}); dcmtk ${tools.dcmtkVersion}`);
  const loadAvg = os.loadavg();
  say(`Load average before the run: ${loadAvg.map((l) => l.toFixed(2)).join(' ')}`);
  if ((loadAvg[0] ?? 0) > os.cpus().length / 2) say('  warning: the machine is busy; the timings will be noisy (compare runs made on a quiet machine)');
  if (O.count < 100) say(`  note: --count ${O.count} is below the 100 slices the targets are defined for`);

  let pgSkip: string | undefined;
  if (O.pgMillion !== false) {
    const err = await pgReachable(O.databaseUrl);
    if (err && O.pgMillion === true) throw new BenchError(`PostgreSQL at ${O.databaseUrl.replace(/\/\/[^@]*@/, '//')} is not reachable (${err}); use --no-pg-million or --database-url`);
    if (err) pgSkip = `PostgreSQL not reachable at ${new URL(O.databaseUrl).host} (${err})`;
  } else pgSkip = '--no-pg-million';
  say(`Parts: metadata ${O.metadata ? 'yes' : 'no'}, rendered ${O.rendered ? 'yes' : 'no'}, QIDO-RS ${O.qido ? `yes (${O.studies} studies)` : 'no'}, PostgreSQL ${pgSkip ? `no (${pgSkip})` : `yes (${O.million.toLocaleString('en')} studies)`}; temp folder ${path.relative(ROOT, RUN_DIR)}`);

  let metadata: MetadataResult | undefined;
  let rendered: RenderedRow[] = [];
  let qido: { rows: QidoRow[]; cpu: CpuWindow } | undefined;
  const loads: Record<string, unknown> = {};
  let pair: Pair | undefined;
  let series: SeriesOnDisk | undefined;
  const profiles: ProfileSummary[] = [];

  if (O.metadata || O.rendered || O.qido) {
    say(`\nWriting a ${O.count}-slice CT series of ${SIZE}x${SIZE} (16-bit, explicit VR little endian) and a 2-slice warm-up series...`);
    const seriesRoot = path.join(RUN_DIR, 'series');
    series = await writeCtSeries(path.join(seriesRoot, 'ct'), O.count, 42, SAMPLE_PATIENTS[0]!, '20250110');
    const warmup = await writeCtSeries(path.join(seriesRoot, 'warmup'), 2, 43, SAMPLE_PATIENTS[1]!, '20250111');
    say(`  ${series.files.length} files, ${fmt(series.bytes / MB)} MB`);
    pair = await Pair.create(tools);
    try {
      say('\nLoading the series into both servers (storescu, one association)...');
      loads.series = {
        instances: series.files.length + warmup.files.length,
        bytes: series.bytes + warmup.bytes,
        enkaku: await loadInto(pair, 'enkaku', seriesRoot, series.files.length + warmup.files.length, 'CT series'),
        orthanc: await loadInto(pair, 'orthanc', seriesRoot, series.files.length + warmup.files.length, 'CT series'),
      };
      if (O.metadata) metadata = await metadataPart(pair, series, warmup);
      if (O.rendered) rendered = await renderedPart(pair, series, warmup);
      if (O.qido) {
        const specs = planStudies(O.studies);
        const dir = path.join(RUN_DIR, 'studies');
        say(`\nWriting ${O.studies} studies (one 64x64 instance each; ${new Set(specs.map((s) => s.patient.id)).size} patients; character sets ${CHARSETS.map((c) => c[0] || 'default').join(', ')})...`);
        const tg = Date.now();
        const bytes = await writeStudies(dir, specs);
        say(`  ${fmt(bytes / MB)} MB in ${fmt((Date.now() - tg) / 1000, 1)} s`);
        say(`Loading them into both servers (storescu, one association each)...`);
        const held = series.files.length + warmup.files.length + specs.length;
        loads.studies = {
          studies: specs.length,
          bytes,
          enkaku: await loadInto(pair, 'enkaku', dir, held, `${specs.length} studies`),
          orthanc: await loadInto(pair, 'orthanc', dir, held, `${specs.length} studies`),
        };
        const truth: Truth = {
          studies: [
            ...specs.map((s) => ({ patientId: s.patient.id, groups: s.groups, date: s.date, modality: s.modality, accession: s.accession })),
            ...[series, warmup].map((x) => {
              const [a = '', i = '', p = ''] = adaptPersonName(x.patient.name, '\\ISO 2022 IR 87').split('=');
              return { patientId: x.patient.id, groups: [a, i, p] as [string, string, string], date: x.date, modality: 'CT', accession: '' };
            }),
          ],
        };
        qido = await qidoPart(pair, specs, truth);
        if (!O.keep) await fsp.rm(dir, { recursive: true, force: true });
      }
      const logProblems = enkakuLogProblems(path.join(pair.eSetup.dir, 'enkaku.log')).filter((l) => !/dist\/web/.test(l));
      if (logProblems.length) problem(`Enkaku logged ${logProblems.length} warning/error line(s), e.g.: ${logProblems.slice(0, 3).join(' | ')}`);
    } finally {
      await pair.stop();
      for (const p of pair.profiles) if (p.phase !== 'load') profiles.push(summariseProfile(p.phase, p.file, p.windows));
      await Promise.all([stopServer(pair.enkaku), stopServer(pair.orthanc)]);
    }
  }

  let pgResult: PgResult | undefined;
  if (!pgSkip) {
    pgResult = await pgPart();
    for (const p of pgProfiles) profiles.push(summariseProfile(p.phase, p.file, p.windows));
  }

  // ----- Report
  const verdicts: Verdict[] = [];
  say(`\nResults (ms = milliseconds per request at the client; median and p95 over the requests; ratio = Enkaku p95 / Orthanc p95)`);
  if (loads.series || loads.studies) {
    say('\nLoad (storescu, one association; not a target)');
    const rowsL: string[][] = [];
    for (const [k, v] of Object.entries(loads) as Array<[string, { enkaku: { seconds: number; instances: number }; orthanc: { seconds: number; instances: number }; studies?: number; instances?: number }]>) {
      const n = v.studies ?? v.instances ?? 0;
      rowsL.push([k === 'series' ? `CT series + warm-up (${n} inst.)` : `${n} studies (1 inst. each)`, fmt(v.enkaku.seconds, 1), fmt(n / v.enkaku.seconds, 0), fmt(v.orthanc.seconds, 1), fmt(n / v.orthanc.seconds, 0)]);
    }
    table([['What', 34, false], ['Enkaku s', 9], ['per s', 7], ['Orthanc s', 10], ['per s', 7]], rowsL);
  }
  if (metadata) {
    say(`\nWADO-RS metadata, series of ${metadata.instances} instances (${O.metadataReps} repeated calls)`);
    const m = metadata;
    const first: Stats = { ...stats(m.first.enkakuMs !== undefined ? [m.first.enkakuMs] : []) };
    const firstO: Stats = { ...stats(m.first.orthancMs !== undefined ? [m.first.orthancMs] : []) };
    const v1 = ratioVerdict('metadata', 'metadata first call', first, firstO, TARGETS.metadataRatio, m.enkakuError, m.orthancError);
    const v2 = ratioVerdict('metadata', 'metadata repeated (p95)', m.repeated.enkaku, m.repeated.orthanc, TARGETS.metadataRatio, m.enkakuError, m.orthancError);
    verdicts.push(v1, v2);
    table(
      [['Call', 20, false], ['Enkaku med', 11], ['p95', 7], ['Orthanc med', 12], ['p95', 7], ['Ratio', 7], ['Target', 8], ['Result', 7]],
      [
        ['first call', ms(first.median), '-', ms(firstO.median), '-', fmt(v1.value, 2), v1.target, v1.pass ? 'PASS' : 'MISS'],
        ['repeated', ms(m.repeated.enkaku.median), ms(m.repeated.enkaku.p95), ms(m.repeated.orthanc.median), ms(m.repeated.orthanc.p95), fmt(v2.value, 2), v2.target, v2.pass ? 'PASS' : 'MISS'],
      ],
    );
  }
  if (rendered.length) {
    say(`\nRendered frames, ${O.count} × ${SIZE}x${SIZE} CT slices, each once cold and once warm in series order, then once cold in a shuffled order; one request at a time (keep-alive)`);
    const rowsR: string[][] = [];
    for (const r of rendered) {
      const v = ratioVerdict('rendered', `rendered ${r.format.toUpperCase()} ${r.pass}`, r.enkaku, r.orthanc, TARGETS.renderedRatio, r.enkakuError, r.orthancError);
      verdicts.push(v);
      rowsR.push([
        `${r.format.toUpperCase()} ${r.pass}`,
        ms(r.enkaku.median),
        ms(r.enkaku.p95),
        ms(r.orthanc.median),
        ms(r.orthanc.p95),
        r.enkaku.n ? fmt(r.enkakuBytes / 1000, 0) : '-',
        r.orthanc.n ? fmt(r.orthancBytes / 1000, 0) : '-',
        fmt(v.value, 2),
        v.target,
        `${v.pass ? 'PASS' : 'MISS'}${v.note ? ` (${v.note})` : ''}`,
      ]);
    }
    table([['Format, pass', 13, false], ['Enkaku med', 11], ['p95', 7], ['Orthanc med', 12], ['p95', 7], ['E kB', 6], ['O kB', 6], ['Ratio', 7], ['Target', 8], ['Result', 7, false]], rowsR);
  }
  if (qido) {
    say(`\nQIDO-RS study searches, ${O.studies.toLocaleString('en')} studies (+2 of the series above), ${O.qidoReps} requests per query type, limit 100 unless given`);
    const rowsQ: string[][] = [];
    for (const r of qido.rows) {
      const v = r.orthanc && !r.info
        ? ratioVerdict('qido', `QIDO ${r.key}`, r.enkaku, r.orthanc, TARGETS.qidoRatio, r.wrong.enkaku ? 'wrong answers' : undefined, r.wrong.orthanc ? 'wrong answers' : undefined)
        : undefined;
      if (v) verdicts.push(v);
      const hits = `${r.hits.enkaku[0]}-${r.hits.enkaku[1]}${r.hits.orthanc ? `/${r.hits.orthanc[0]}-${r.hits.orthanc[1]}` : ''}`;
      rowsQ.push([r.label, hits, ms(r.enkaku.median), ms(r.enkaku.p95), r.orthanc ? ms(r.orthanc.median) : '-', r.orthanc ? ms(r.orthanc.p95) : '-', v ? fmt(v.value, 2) : '-', v ? v.target : r.info ? '(info)' : '(Enkaku only)', v ? `${v.pass ? 'PASS' : 'MISS'}${v.note ? ` (${v.note})` : ''}` : r.wrong.enkaku || r.wrong.orthanc ? 'WRONG' : '']);
    }
    table([['Query', 40, false], ['Hits E/O', 12], ['Enkaku med', 11], ['p95', 7], ['Orthanc med', 12], ['p95', 7], ['Ratio', 6], ['Target', 13], ['Result', 7, false]], rowsQ);
  }
  if (pgResult) {
    const L = pgResult.load;
    say(
      `\nPostgreSQL: QIDO-RS through Enkaku's HTTP API, ${L.studies.toLocaleString('en')} studies of ${L.patients.toLocaleString('en')} patients ` +
        `(bulk insert ${fmt(L.seconds.patients + L.seconds.studies, 0)} s, VACUUM ANALYZE ${fmt(L.seconds.vacuumAnalyze, 0)} s), ${O.pgReps} requests per query type`,
    );
    const rowsP: string[][] = [];
    for (const r of pgResult.rows) {
      const pass = r.wrong === 0 && r.stats.p95 < TARGETS.pgP95Ms;
      if (r.info) {
        rowsP.push([r.label, `${r.hits[0]}-${r.hits[1]}`, ms(r.stats.median), ms(r.stats.p95), ms(r.stats.max), '(info)', r.wrong ? 'WRONG' : '']);
        continue;
      }
      verdicts.push({ part: 'pg', name: `PostgreSQL ${r.key}`, value: r.stats.p95, target: `< ${TARGETS.pgP95Ms} ms`, pass, ...(r.wrong ? { note: 'wrong answers' } : {}) });
      rowsP.push([r.label, `${r.hits[0]}-${r.hits[1]}`, ms(r.stats.median), ms(r.stats.p95), ms(r.stats.max), `< ${TARGETS.pgP95Ms}`, `${pass ? 'PASS' : 'MISS'}${r.wrong ? ' (wrong answers)' : ''}`]);
    }
    table([['Query', 46, false], ['Hits', 8], ['median', 7], ['p95', 7], ['max', 7], ['Target', 7], ['Result', 7, false]], rowsP);
    for (const r of pgResult.rows.filter((x) => x.explain)) {
      const st = r.explain!.statements;
      say(`\nEXPLAIN ANALYZE, ${r.key} (${r.explain!.query}; the slowest request's values; ${st.length} statement${st.length > 1 ? 's' : ''}):`);
      st.forEach((x, i) => {
        if (st.length > 1) say(`  -- statement ${i + 1}: ${x.sql.replace(/\s+/g, ' ').slice(0, 100)}...`);
        // Long parameter lists (patient ids) are shortened for the screen; the JSON has them.
        say(x.plan.replace(/'\{[^}]{120,}\}'/g, "'{...}'").split('\n').map((l) => `  ${l}`).join('\n'));
      });
    }
  }
  for (const p of profiles) printProfile(p);

  say('\nTargets');
  table(
    [['Measure', 34, false], ['Value', 9], ['Target', 9], ['Result', 7, false]],
    verdicts.map((v) => [v.name, v.part === 'pg' ? `${ms(v.value)} ms` : fmt(v.value, 2), v.target, `${v.pass ? 'PASS' : 'MISS'}${v.note ? ` (${v.note})` : ''}`]),
  );
  say(`${verdicts.filter((v) => v.pass).length} of ${verdicts.length} targets met.`);
  if (problems.length) {
    say('\nProblems seen:');
    for (const p of problems) say(`  - ${p}`);
  }

  await fsp.mkdir(BENCH_DIR, { recursive: true });
  let keptProfiles: string | undefined;
  if (O.cpuProf && fs.existsSync(path.join(RUN_DIR, 'profiles'))) {
    keptProfiles = path.join(BENCH_DIR, `query-${STAMP}-profiles`);
    await fsp.cp(path.join(RUN_DIR, 'profiles'), keptProfiles, { recursive: true });
    say(`\nCPU profiles (open in Chrome DevTools or speedscope): ${path.relative(ROOT, keptProfiles)}`);
  }
  const jsonFile = path.join(BENCH_DIR, `query-${STAMP}.json`);
  const json = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { loadAverageAtStart: loadAvg, loadAverageAtEnd: os.loadavg(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), memoryBytes: os.totalmem(), kernel: os.release(), node: process.version },
    versions: {
      enkaku: (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      orthanc: tools.orthancVersion,
      dicomWebPlugin: tools.dicomWebPlugin,
      dcmtk: tools.dcmtkVersion,
      postgres: pgResult ? await pgVersion(O.databaseUrl) : undefined,
    },
    options: { ...O, databaseUrl: O.databaseUrl.replace(/\/\/[^@]*@/, '//') },
    targets: TARGETS,
    series: series ? { instances: series.files.length, bytes: series.bytes, size: SIZE, transferSyntax: '1.2.840.10008.1.2.1' } : null,
    loads,
    metadata: metadata ?? null,
    rendered,
    qido: qido ?? null,
    postgres: pgResult ?? (pgSkip ? { skipped: pgSkip } : null),
    profiles: profiles.map((p) => ({ ...p, file: keptProfiles ? path.join(path.relative(ROOT, keptProfiles), path.basename(p.file)) : undefined })),
    verdicts,
    problems,
  };
  await fsp.writeFile(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  say(`\nResults written to ${path.relative(ROOT, jsonFile)}`);
  return problems.length ? 1 : 0;
}

async function pgVersion(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    return (await c.query<{ v: string }>('show server_version')).rows[0]?.v;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

if (!isMainThread) {
  await generateWorker();
} else {
  O = parseOptions();
  initRun({ dir: RUN_DIR, keep: O.keep, keepSchemas: O.keep, dcmtkEnv: { ...process.env, TCP_NODELAY: '1' } });
  await runMain(main);
}
