/**
 * Ingest benchmark (`npm run bench:ingest`): how fast Enkaku takes in a CT series over
 * DICOM C-STORE and STOW-RS, compared with Orthanc and with dcmtk's storescp on the same
 * machine, and how much memory Enkaku needs while receiving a ~2 GB study.
 *
 * One run:
 *  1. writes a synthetic CT series (default 300 slices of 512x512, explicit VR LE);
 *  2. starts Enkaku, Orthanc (with its DICOMweb plugin) and storescp, each fresh, on
 *     loopback ports in 42000-42999;
 *  3. sends the series with `storescu` (one association) to each and checks that every
 *     instance arrived;
 *  4. restarts Enkaku and Orthanc with fresh folders and sends the series by STOW-RS;
 *  5. unless `--no-rss`, sends a ~2 GB study to a fresh Enkaku and samples its resident
 *     memory every 100 ms;
 *  6. prints a table and the ratios against the issue's targets, and writes the results
 *     to `.bench/ingest-<timestamp>.json`;
 *  7. stops everything it started (also on error and Ctrl-C) and removes its temp data.
 *
 * See bench/README.md for how to read the figures.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { SAMPLE_PATIENTS, writeSeries } from '../src/server/archive/dicom/synthetic.ts';
import {
  BENCH_DIR,
  BenchError,
  MB,
  ROOT,
  agent,
  cpuSeconds,
  ensureTools,
  fmt,
  initRun,
  listDicom,
  logTail,
  pad,
  procMemory,
  runMain,
  say,
  sleep,
  startEnkaku as startEnkakuWith,
  startOrthanc,
  startStorescp,
  stopServer,
  storescu,
  syncDisks,
  type Server,
  type Tools,
} from './lib.ts';


// ---------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: npm run bench:ingest -- [options]

  --count N            slices in the benchmark series (default 300)
  --size N             rows and columns of each slice (default 512)
  --stow-batch N       instances per STOW-RS request (default 50)
  --stow-parallel N    STOW-RS requests in flight at once, same for both servers (default 1)
  --rss-gb G           size of the study sent for the memory measurement (default 2)
  --no-rss             skip the memory measurement (quick run)
  --database-url URL   run Enkaku on PostgreSQL (postgres://...); a fresh schema per start
  --no-tcp-nodelay     leave Nagle's algorithm on in dcmtk tools and Orthanc (dcmtk's default;
                       costs them a ~40 ms delayed-ACK stall per instance on loopback)
  --keep               keep the temp folder (data, logs) for inspection
  -h, --help           this text`;

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  allowNegative: true,
  options: {
    count: { type: 'string', default: '300' },
    size: { type: 'string', default: '512' },
    'stow-batch': { type: 'string', default: '50' },
    'stow-parallel': { type: 'string', default: '1' },
    rss: { type: 'boolean', default: true },
    'rss-gb': { type: 'string', default: '2' },
    'database-url': { type: 'string' },
    'tcp-nodelay': { type: 'boolean', default: true },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) usageError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const COUNT = positiveInt('count', opts.count);
const SIZE = positiveInt('size', opts.size);
const STOW_BATCH = positiveInt('stow-batch', opts['stow-batch']);
const STOW_PARALLEL = positiveInt('stow-parallel', opts['stow-parallel']);
const RSS_GB = Number(opts['rss-gb']);
if (!(RSS_GB > 0)) usageError(`--rss-gb must be a positive number, got "${opts['rss-gb']}"`);
const DATABASE_URL = opts['database-url'];
if (DATABASE_URL !== undefined && !/^postgres(ql)?:\/\//.test(DATABASE_URL)) usageError('--database-url must start with postgres://');

/** Targets of the issue. */
const TARGETS = {
  cstoreVsOrthanc: 1.5,
  cstoreVsStorescp: 0.6,
  stowVsOrthanc: 1.5,
  rssMb: 300,
};

/**
 * dcmtk (and Orthanc, which uses dcmtk's network layer) keeps Nagle's algorithm on unless
 * the environment variable TCP_NODELAY=1 is set. With Nagle on, every C-STORE response
 * waits for the peer's delayed ACK (~40 ms on Linux), so the receiver's speed would not be
 * measured at all. The bench therefore sets TCP_NODELAY=1 for storescu, storescp, echoscu
 * and Orthanc unless --no-tcp-nodelay is given.
 */
const DCMTK_ENV: NodeJS.ProcessEnv = { ...process.env, TCP_NODELAY: opts['tcp-nodelay'] ? '1' : '0' };

const STAMP = new Date().toISOString().replace(/[:.]/g, '-');
const RUN_DIR = path.join(BENCH_DIR, `run-${STAMP}-${process.pid}`);
initRun({ dir: RUN_DIR, keep: opts.keep, dcmtkEnv: DCMTK_ENV });

/** A fresh Enkaku for one round (facility BENCH, a dicomweb:write token). */
function startEnkaku(label: string): ReturnType<typeof startEnkakuWith> {
  return startEnkakuWith({ label, databaseUrl: DATABASE_URL, scopes: ['dicomweb:write'] });
}

// ---------------------------------------------------------------------------------------
// Senders

interface RoundResult {
  target: string;
  protocol: 'C-STORE' | 'STOW-RS';
  sent: number;
  received: number;
  bytes: number;
  seconds: number;
  instancesPerSecond: number;
  mbPerSecond: number;
  /** Peak resident memory of the receiving process over its life (VmHWM), bytes. */
  peakRssBytes: number | undefined;
  /** CPU time the receiving process used during the transfer (all its threads), seconds. */
  cpuSeconds: number | undefined;
  problems: string[];
}

/** One storescu association carrying every file of `dir` (scanned with +sd, so no ARG_MAX issue). */

const DICOM_JSON_REFERENCED = '00081199';
const DICOM_JSON_FAILED = '00081198';

/** POSTs one multipart/related request whose body streams from the files. */
async function stowRequest(url: string, headers: Record<string, string>, files: string[]): Promise<{ status: number; stored: number; failed: number; body: string }> {
  const boundary = `enkaku-bench-${randomBytes(12).toString('hex')}`;
  const partHead = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1');
  const crlf = Buffer.from('\r\n');
  const tail = Buffer.from(`--${boundary}--\r\n`, 'latin1');
  let length = tail.length;
  for (const f of files) length += partHead.length + fs.statSync(f).size + crlf.length;
  async function* body(): AsyncGenerator<Buffer> {
    for (const f of files) {
      yield partHead;
      for await (const chunk of fs.createReadStream(f, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
      yield crlf;
    }
    yield tail;
  }
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        ...headers,
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        'content-length': String(length),
      },
    });
    req.on('response', resolve);
    req.on('error', reject);
    pipeline(Readable.from(body()), req).catch(reject);
  });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let stored = 0;
  let failed = 0;
  try {
    const j = JSON.parse(text) as Record<string, { Value?: unknown[] }>;
    stored = j[DICOM_JSON_REFERENCED]?.Value?.length ?? 0;
    failed = j[DICOM_JSON_FAILED]?.Value?.length ?? 0;
  } catch {
    // not JSON: reported through the status
  }
  return { status: res.statusCode ?? 0, stored, failed, body: text };
}

/** STOW-RS of all files in batches of STOW_BATCH, STOW_PARALLEL requests at a time. */
async function stow(s: Server, files: string[]): Promise<{ seconds: number; problems: string[] }> {
  const url = `${s.stowBase}/studies`;
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += STOW_BATCH) batches.push(files.slice(i, i + STOW_BATCH));
  const problems: string[] = [];
  let next = 0;
  let stored = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const r = await stowRequest(url, s.stowHeaders ?? {}, batch);
      stored += r.stored;
      if (r.status !== 200 || r.failed || r.stored !== batch.length) {
        problems.push(`HTTP ${r.status}, ${r.stored} stored, ${r.failed} failed of ${batch.length}: ${r.body.slice(0, 300)}`);
      }
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(STOW_PARALLEL, batches.length) }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (stored !== files.length) problems.unshift(`STOW-RS responses list ${stored} stored instance(s) of ${files.length}`);
  return { seconds, problems: problems.slice(0, 5) };
}

async function round(
  s: Server,
  protocol: 'C-STORE' | 'STOW-RS',
  series: { dir: string; files: string[]; bytes: number },
  label: string,
): Promise<RoundResult> {
  syncDisks();
  say(`  ${label}: sending ${series.files.length} instances by ${protocol}...`);
  const cpu0 = cpuSeconds(s.proc.child.pid);
  const sent =
    protocol === 'C-STORE'
      ? await storescu(s, series.dir, path.join(RUN_DIR, `storescu-${s.name}.log`))
      : await stow(s, series.files);
  const cpu1 = cpuSeconds(s.proc.child.pid);
  if (s.proc.exitCode !== undefined) sent.problems.push(`${s.name} exited (code ${s.proc.exitCode}) during the transfer; log:\n${logTail(s.proc.logFile)}`);
  // Orthanc and Enkaku answer once an instance is stored; a short settle time covers any
  // index write still in flight, without counting towards the measured time.
  let received = await s.count().catch(() => -1);
  for (let i = 0; i < 10 && received !== series.files.length; i++) {
    await sleep(500);
    received = await s.count().catch(() => -1);
  }
  const problems = [...sent.problems, ...((await s.notes?.().catch((e: Error) => [`check failed: ${e.message}`])) ?? [])];
  if (received !== series.files.length) problems.unshift(`${label}: ${received} of ${series.files.length} instances found on the server afterwards`);
  const peak = s.proc.child.pid ? procMemory(s.proc.child.pid)?.hwm : undefined;
  const r: RoundResult = {
    target: label,
    protocol,
    sent: series.files.length,
    received,
    bytes: series.bytes,
    seconds: sent.seconds,
    instancesPerSecond: series.files.length / sent.seconds,
    mbPerSecond: series.bytes / MB / sent.seconds,
    peakRssBytes: peak,
    cpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
    problems,
  };
  say(`    ${fmt(r.seconds, 2)} s, ${fmt(r.instancesPerSecond)} instances/s, ${fmt(r.mbPerSecond)} MB/s, ${received}/${r.sent} received${problems.length ? ' — PROBLEMS:' : ''}`);
  for (const p of problems) say(`      ! ${p}`);
  return r;
}

// ---------------------------------------------------------------------------------------
// Synthetic data

interface SeriesOnDisk {
  dir: string;
  files: string[];
  bytes: number;
  studyInstanceUid: string;
}

async function generate(dir: string, count: number, seed: number): Promise<SeriesOnDisk> {
  await fsp.mkdir(dir, { recursive: true });
  const r = await writeSeries(dir, { modality: 'CT', count, rows: SIZE, columns: SIZE, seed, patient: SAMPLE_PATIENTS[0]! });
  const files = listDicom(dir);
  if (files.length !== count) throw new BenchError(`writeSeries wrote ${files.length} files, expected ${count}`);
  return { dir, files, bytes: r.bytes, studyInstanceUid: r.studyInstanceUid };
}

/**
 * The big study of the memory step: `count` slices of one study and series, written in
 * batches of at most 250 slices (sub-folders) so the generator never holds much in memory.
 */
async function generateBig(dir: string, count: number): Promise<SeriesOnDisk> {
  await fsp.mkdir(dir, { recursive: true });
  const studyInstanceUid = `2.25.${BigInt(`0x${randomBytes(15).toString('hex')}`).toString()}`;
  const seriesInstanceUid = `2.25.${BigInt(`0x${randomBytes(15).toString('hex')}`).toString()}`;
  const batch = 250;
  let bytes = 0;
  for (let done = 0, k = 0; done < count; done += batch, k++) {
    const n = Math.min(batch, count - done);
    const sub = path.join(dir, `part${String(k).padStart(3, '0')}`);
    await fsp.mkdir(sub);
    const r = await writeSeries(sub, {
      modality: 'CT',
      count: n,
      rows: SIZE,
      columns: SIZE,
      seed: 1000 + k,
      patient: SAMPLE_PATIENTS[0]!,
      studyInstanceUid,
      seriesInstanceUid,
    });
    bytes += r.bytes;
    if (process.stdout.isTTY) process.stdout.write(`\r    generated ${done + n}/${count} slices, ${fmt(bytes / MB, 0)} MB`);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  const files = listDicom(dir);
  if (files.length !== count) throw new BenchError(`writeSeries wrote ${files.length} files, expected ${count}`);
  return { dir, files, bytes, studyInstanceUid };
}

// ---------------------------------------------------------------------------------------
// Memory step

interface RssResult {
  instances: number;
  received: number;
  bytes: number;
  seconds: number;
  baselineRssBytes: number;
  peakSampledRssBytes: number;
  vmHwmBytes: number;
  peakRssBytes: number;
  cpuSeconds: number | undefined;
  samples: Array<[number, number]>;
  problems: string[];
}

async function rssStep(tools: Tools): Promise<RssResult> {
  void tools;
  const perSlice = SIZE * SIZE * 2 + 2048;
  const count = Math.max(1, Math.round((RSS_GB * 1024 ** 3) / perSlice));
  const need = count * perSlice * 2.2; // the study plus Enkaku's copy, with margin
  const st = await fsp.statfs(RUN_DIR);
  const free = st.bavail * st.bsize;
  if (free < need) throw new BenchError(`the memory step needs about ${fmt(need / 1e9)} GB of free disk under ${RUN_DIR}, only ${fmt(free / 1e9)} GB free (use --rss-gb or --no-rss)`);

  say(`\nMemory: ${count} slices (~${fmt((count * perSlice) / 1e9, 2)} GB) to a fresh Enkaku over one C-STORE association`);
  const big = await generateBig(path.join(RUN_DIR, 'series-big'), count);
  const enkaku = await startEnkaku('rss');
  const pid = enkaku.proc.child.pid!;
  const baseline = procMemory(pid)?.rss ?? 0;
  const samples: Array<[number, number]> = [];
  let peak = baseline;
  const t0 = Date.now();
  const timer = setInterval(() => {
    const m = procMemory(pid);
    if (!m) return;
    samples.push([Date.now() - t0, m.rss]);
    if (m.rss > peak) peak = m.rss;
  }, 100);
  let sent: { seconds: number; problems: string[] };
  const cpu0 = cpuSeconds(pid);
  try {
    syncDisks();
    sent = await storescu(enkaku, big.dir, path.join(RUN_DIR, 'storescu-rss.log'));
  } finally {
    clearInterval(timer);
  }
  const hwm = procMemory(pid)?.hwm ?? 0;
  const cpu1 = cpuSeconds(pid);
  const received = await enkaku.count().catch(() => -1);
  const problems = [...sent.problems, ...((await enkaku.notes?.()) ?? [])];
  if (received !== count) problems.unshift(`Enkaku holds ${received} of ${count} instances afterwards`);
  await stopServer(enkaku);
  if (!opts.keep) await fsp.rm(big.dir, { recursive: true, force: true });
  const r: RssResult = {
    instances: count,
    received,
    bytes: big.bytes,
    seconds: sent.seconds,
    baselineRssBytes: baseline,
    peakSampledRssBytes: peak,
    vmHwmBytes: hwm,
    peakRssBytes: Math.max(peak, hwm),
    cpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
    samples,
    problems,
  };
  say(
    `    ${fmt(r.seconds, 1)} s (${fmt(count / r.seconds)} instances/s, ${fmt(big.bytes / MB / r.seconds)} MB/s), ${received}/${count} received; ` +
      `RSS at start ${fmt(baseline / MB, 0)} MB, peak sampled ${fmt(peak / MB, 0)} MB, VmHWM ${fmt(hwm / MB, 0)} MB`,
  );
  for (const p of problems) say(`      ! ${p}`);
  return r;
}

// ---------------------------------------------------------------------------------------
// Report

interface Ratio {
  name: string;
  value: number;
  target: string;
  pass: boolean;
  note?: string;
}


function printReport(results: RoundResult[], ratios: Ratio[], rss: RssResult | undefined, header: string): void {
  say(`\n${header}`);
  const head = `${pad('Target', 18)}${pad('Instances', 11, true)}${pad('Seconds', 10, true)}${pad('Inst/s', 10, true)}${pad('MB/s', 9, true)}${pad('CPU s', 8, true)}${pad('Peak RSS', 11, true)}`;
  say(head);
  say('-'.repeat(head.length));
  for (const r of results) {
    const inst = r.received === r.sent ? String(r.sent) : `${r.received}/${r.sent}`;
    say(
      `${pad(r.target, 18)}${pad(inst, 11, true)}${pad(fmt(r.seconds, 2), 10, true)}${pad(fmt(r.instancesPerSecond), 10, true)}${pad(fmt(r.mbPerSecond), 9, true)}` +
        `${pad(r.cpuSeconds !== undefined ? fmt(r.cpuSeconds, 2) : '-', 8, true)}${pad(r.peakRssBytes ? `${fmt(r.peakRssBytes / MB, 0)} MB` : '-', 11, true)}`,
    );
  }
  if (rss) {
    const inst = rss.received === rss.instances ? String(rss.instances) : `${rss.received}/${rss.instances}`;
    say(
      `${pad('Enkaku C-STORE 2G', 18)}${pad(inst, 11, true)}${pad(fmt(rss.seconds, 2), 10, true)}${pad(fmt(rss.instances / rss.seconds), 10, true)}` +
        `${pad(fmt(rss.bytes / MB / rss.seconds), 9, true)}${pad(rss.cpuSeconds !== undefined ? fmt(rss.cpuSeconds, 2) : '-', 8, true)}${pad(`${fmt(rss.peakRssBytes / MB, 0)} MB`, 11, true)}`,
    );
  }
  say('');
  const rhead = `${pad('Ratio', 44)}${pad('Value', 10, true)}${pad('Target', 10, true)}  Result`;
  say(rhead);
  say('-'.repeat(rhead.length));
  for (const q of ratios) {
    const v = q.name.includes('RSS') ? `${fmt(q.value, 0)} MB` : fmt(q.value, 2);
    say(`${pad(q.name, 44)}${pad(v, 10, true)}${pad(q.target, 10, true)}  ${q.pass ? 'PASS' : 'MISS'}${q.note ? ` (${q.note})` : ''}`);
  }
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new BenchError('this benchmark reads /proc and runs Debian packages: Linux only');
  const tools = ensureTools();
  await fsp.mkdir(RUN_DIR, { recursive: true });
  const started = new Date();
  const host = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? '?'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM, Linux ${os.release()}`;
  say(`Enkaku ingest benchmark — ${host}`);
  say(`Node ${process.version}; ${tools.orthancVersion} + DICOMweb plugin (${path.basename(tools.dicomWebPlugin)}); dcmtk ${tools.dcmtkVersion}`);
  say(`Enkaku database: ${DATABASE_URL ? `PostgreSQL (${new URL(DATABASE_URL).host})` : 'SQLite'}; temp folder ${path.relative(ROOT, RUN_DIR)}`);
  const load = os.loadavg();
  say(`Load average before the run: ${load.map((l) => l.toFixed(2)).join(' ')}`);
  if ((load[0] ?? 0) > os.cpus().length / 2) say('  warning: the machine is busy; the timings will be noisy (compare runs made on a quiet machine)');
  say(`dcmtk tools and Orthanc run with TCP_NODELAY=${DCMTK_ENV.TCP_NODELAY} (Nagle's algorithm ${opts['tcp-nodelay'] ? 'off' : "on, dcmtk's default"})`);

  say(`\nGenerating ${COUNT} CT slices of ${SIZE}x${SIZE} (explicit VR little endian)...`);
  const series = await generate(path.join(RUN_DIR, 'series'), COUNT, 42);
  say(`  ${series.files.length} files, ${fmt(series.bytes / MB)} MB`);
  syncDisks();

  const results: RoundResult[] = [];

  say('\nRound 1: C-STORE (storescu, one association, all files)');
  {
    const enkaku = await startEnkaku('cstore');
    const orthanc = await startOrthanc(tools, 'cstore');
    const storescp = await startStorescp();
    try {
      results.push(await round(enkaku, 'C-STORE', series, 'Enkaku C-STORE'));
      results.push(await round(orthanc, 'C-STORE', series, 'Orthanc C-STORE'));
      results.push(await round(storescp, 'C-STORE', series, 'storescp C-STORE'));
    } finally {
      await Promise.all([stopServer(enkaku), stopServer(orthanc), stopServer(storescp)]);
    }
  }

  say(`\nRound 2: STOW-RS (fresh servers; ${STOW_BATCH} instances per request, ${STOW_PARALLEL} request(s) at a time)`);
  {
    const enkaku = await startEnkaku('stow');
    const orthanc = await startOrthanc(tools, 'stow');
    try {
      results.push(await round(enkaku, 'STOW-RS', series, 'Enkaku STOW-RS'));
      results.push(await round(orthanc, 'STOW-RS', series, 'Orthanc STOW-RS'));
    } finally {
      await Promise.all([stopServer(enkaku), stopServer(orthanc)]);
    }
  }
  if (!opts.keep) await fsp.rm(series.dir, { recursive: true, force: true });

  const rss = opts.rss ? await rssStep(tools) : undefined;

  const by = (t: string): RoundResult => results.find((r) => r.target === t)!;
  const complete = (...rs: RoundResult[]): boolean => rs.every((r) => r.received === r.sent && r.problems.length === 0);
  const ratio = (name: string, a: RoundResult, b: RoundResult, target: number): Ratio => {
    const value = a.instancesPerSecond / b.instancesPerSecond;
    const ok = complete(a, b);
    return { name, value, target: `>= ${target.toFixed(2)}`, pass: ok && value >= target, ...(ok ? {} : { note: 'transfer incomplete or with errors' }) };
  };
  const ratios: Ratio[] = [
    ratio('Enkaku C-STORE / Orthanc C-STORE', by('Enkaku C-STORE'), by('Orthanc C-STORE'), TARGETS.cstoreVsOrthanc),
    ratio('Enkaku C-STORE / storescp C-STORE', by('Enkaku C-STORE'), by('storescp C-STORE'), TARGETS.cstoreVsStorescp),
    ratio('Enkaku STOW-RS / Orthanc STOW-RS', by('Enkaku STOW-RS'), by('Orthanc STOW-RS'), TARGETS.stowVsOrthanc),
  ];
  if (rss) {
    const ok = rss.received === rss.instances && rss.problems.length === 0;
    ratios.push({
      name: `Enkaku peak RSS, ${fmt(rss.bytes / 1e9, 1)} GB by C-STORE`,
      value: rss.peakRssBytes / MB,
      target: `< ${TARGETS.rssMb} MB`,
      pass: ok && rss.peakRssBytes / MB < TARGETS.rssMb,
      ...(ok ? {} : { note: 'transfer incomplete or with errors' }),
    });
  }

  const header =
    `Results: ${COUNT} × ${SIZE}x${SIZE} CT, ${fmt(series.bytes / MB)} MB; Enkaku on ${DATABASE_URL ? 'PostgreSQL' : 'SQLite'}; ` +
    `STOW ${STOW_BATCH}/request × ${STOW_PARALLEL}; dcmtk/Orthanc TCP_NODELAY=${DCMTK_ENV.TCP_NODELAY}; MB = 10^6 bytes; ratios use instances/s`;
  printReport(results, ratios, rss, header);

  const problems = [...results.flatMap((r) => r.problems.map((p) => `${r.target}: ${p}`)), ...(rss?.problems.map((p) => `memory step: ${p}`) ?? [])];
  if (!opts.rss) say('\n(memory step skipped: --no-rss)');
  if (problems.length) {
    say('\nProblems seen:');
    for (const p of problems) say(`  - ${p}`);
  }

  await fsp.mkdir(BENCH_DIR, { recursive: true });
  const jsonFile = path.join(BENCH_DIR, `ingest-${STAMP}.json`);
  const json = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { loadAverageAtStart: load, loadAverageAtEnd: os.loadavg(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), memoryBytes: os.totalmem(), kernel: os.release(), node: process.version },
    versions: { enkaku: (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version, orthanc: tools.orthancVersion, dicomWebPlugin: tools.dicomWebPlugin, dcmtk: tools.dcmtkVersion },
    options: { count: COUNT, size: SIZE, stowBatch: STOW_BATCH, stowParallel: STOW_PARALLEL, rss: opts.rss, rssGb: RSS_GB, database: DATABASE_URL ? 'postgres' : 'sqlite', dcmtkTcpNoDelay: opts['tcp-nodelay'] },
    series: { instances: series.files.length, bytes: series.bytes, transferSyntax: '1.2.840.10008.1.2.1' },
    results,
    ratios,
    rss: rss ?? null,
    problems,
  };
  await fsp.writeFile(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  say(`\nResults written to ${path.relative(ROOT, jsonFile)}`);
  return problems.length ? 1 : 0;
}

await runMain(main);
