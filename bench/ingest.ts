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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SAMPLE_PATIENTS, writeSeries } from '../src/server/archive/dicom/synthetic.ts';

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

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');
const RUN_DIR = path.join(BENCH_DIR, `run-${STAMP}-${process.pid}`);
const ENKAKU_BIN = path.join(ROOT, 'bin', 'enkaku.js');
const CALLING_AET = 'BENCHSCU';
const MB = 1e6;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** An error whose message is meant for the reader as is (no stack trace). */
class BenchError extends Error {}

// ---------------------------------------------------------------------------------------
// Processes and cleanup

interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
}

const procs = new Set<Proc>();
const pgSchemas: string[] = [];
let cleanedUp = false;
let interrupted = false;

/** Starts a long-running process with stdout and stderr going to a log file. */
function startProc(name: string, cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Proc {
  if (interrupted || cleanedUp) throw new BenchError('interrupted');
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env, cwd: ROOT });
  fs.closeSync(fd);
  const p: Proc = { name, child, logFile, exitCode: undefined, exited: Promise.resolve(null) };
  p.exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      p.exitCode = code ?? (signal ? -1 : null);
      procs.delete(p);
      resolve(code);
    });
    child.on('error', (err) => {
      fs.appendFileSync(logFile, `\n[bench] could not start ${cmd}: ${err.message}\n`);
      p.exitCode = -1;
      procs.delete(p);
      resolve(-1);
    });
  });
  procs.add(p);
  return p;
}

/** Stops a process: SIGTERM, then SIGKILL after a grace period. */
async function stopProc(p: Proc, graceMs = 15_000): Promise<void> {
  if (p.exitCode !== undefined) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

function logTail(file: string, lines = 30): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return '    | (no log)';
  }
}

let cleanupDone: Promise<void> | undefined;
/** Stops every process, drops PostgreSQL schemas and removes the temp folder (once). */
function cleanup(): Promise<void> {
  cleanedUp = true;
  return (cleanupDone ??= doCleanup());
}

async function doCleanup(): Promise<void> {
  await Promise.all([...procs].map((p) => stopProc(p)));
  await dropSchemas([...pgSchemas]);
  if (opts.keep) say(`temp folder kept: ${path.relative(ROOT, RUN_DIR)}`);
  else await fsp.rm(RUN_DIR, { recursive: true, force: true });
}

/** Drops PostgreSQL schemas made for Enkaku starts. */
async function dropSchemas(schemas: string[]): Promise<void> {
  if (!DATABASE_URL || schemas.length === 0) return;
  const c = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await c.connect();
    for (const s of schemas) {
      await c.query(`drop schema if exists ${s} cascade`);
      pgSchemas.splice(pgSchemas.indexOf(s), 1);
    }
  } catch (err) {
    say(`warning: could not drop PostgreSQL schema(s) ${schemas.join(', ')}: ${(err as Error).message}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

// Last resort if the bench dies without running cleanup: no server stays behind.
process.on('exit', () => {
  for (const p of procs) p.child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say(`\n${sig}: stopping the servers and removing temp data...`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------
// Small helpers

function which(tool: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

let portCursor = Math.floor(Math.random() * 1000);
/** A free loopback port in 42000-42999 (never the same twice in one run). */
async function freePort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const port = 42000 + (portCursor++ % 1000);
    if (await canListen(port)) return port;
  }
  throw new BenchError('no free TCP port in 42000-42999');
}

interface HttpAnswer {
  status: number;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

/** Polls `check` until it returns true; fails early when the process exits. */
async function waitFor(p: Proc, what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (p.exitCode !== undefined) {
      throw new BenchError(`${p.name} exited (code ${p.exitCode}) before ${what}; its log:\n${logTail(p.logFile)}`);
    }
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new BenchError(`${p.name}: ${what} not reached within ${timeoutMs / 1000} s; its log:\n${logTail(p.logFile)}`);
}

/** C-ECHO with dcmtk's echoscu: the DICOM listener accepts associations from BENCHSCU. */
function echo(aet: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn('echoscu', ['-aec', aet, '-aet', CALLING_AET, '-to', '5', '127.0.0.1', String(port)], { stdio: 'ignore', env: DCMTK_ENV });
    c.on('exit', (code) => resolve(code === 0));
    c.on('error', () => resolve(false));
  });
}

/** VmRSS / VmHWM of a process in bytes (undefined once it is gone). */
function procMemory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system, all threads) a process has used so far, in seconds. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function countFiles(dir: string, recursive = true): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { recursive, withFileTypes: true }).filter((e) => e.isFile()).length;
}

function listDicom(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Flushes dirty pages so one target's writes do not slow down the next one's fsyncs. */
function syncDisks(): void {
  spawnSync('sync', [], { stdio: 'ignore' });
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

// ---------------------------------------------------------------------------------------
// Tools: dcmtk and Orthanc (installed with apt-get when missing)

interface Tools {
  orthanc: string;
  dicomWebPlugin: string;
  orthancVersion: string;
  dcmtkVersion: string;
}

function findDicomWebPlugin(): string | undefined {
  for (const dir of ['/usr/share/orthanc/plugins', '/usr/lib/orthanc', '/usr/local/share/orthanc/plugins', '/usr/local/lib/orthanc']) {
    if (!fs.existsSync(dir)) continue;
    const hits = fs
      .readdirSync(dir)
      .filter((f) => /^libOrthancDicomWeb\.so/.test(f))
      .sort((a, b) => a.length - b.length);
    if (hits[0]) return path.join(dir, hits[0]);
  }
  return undefined;
}

function findOrthanc(): string | undefined {
  return which('Orthanc') ?? ['/usr/sbin/Orthanc', '/usr/bin/Orthanc', '/usr/local/bin/Orthanc'].find((f) => fs.existsSync(f));
}

function ensureTools(): Tools {
  const missing: string[] = [];
  if (!findOrthanc()) missing.push('orthanc');
  if (!findDicomWebPlugin()) missing.push('orthanc-dicomweb');
  if (!which('storescu') || !which('storescp') || !which('echoscu')) missing.push('dcmtk');
  if (missing.length) {
    const cmd = `apt-get install -y ${missing.join(' ')}`;
    const isRoot = process.getuid?.() === 0;
    const sudo = !isRoot && which('sudo') ? ['sudo', '-n'] : [];
    if (!which('apt-get') || (!isRoot && sudo.length === 0)) {
      throw new BenchError(
        `missing: ${missing.join(', ')}, and this bench cannot install them (${which('apt-get') ? 'not root and no sudo' : 'no apt-get'}).\n` +
          `  Install them yourself, e.g.:  sudo ${cmd}`,
      );
    }
    say(`Installing ${missing.join(', ')} (missing): ${[...sudo, cmd].join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const run = (args: string[]): number | null =>
      spawnSync(sudo[0] ?? args[0]!, sudo.length ? [...sudo.slice(1), ...args] : args.slice(1), { stdio: 'inherit', env }).status;
    let status = run(['apt-get', 'install', '-y', ...missing]);
    if (status !== 0) {
      say('apt-get install failed; refreshing the package lists (apt-get update) and trying once more');
      run(['apt-get', 'update']);
      status = run(['apt-get', 'install', '-y', ...missing]);
    }
    if (status !== 0) throw new BenchError(`could not install ${missing.join(', ')} with apt-get (exit ${status}); install them by hand:  sudo ${cmd}`);
  }
  const orthanc = findOrthanc();
  const dicomWebPlugin = findDicomWebPlugin();
  if (!orthanc) throw new BenchError('Orthanc is still not found after installation (looked for the "Orthanc" executable)');
  if (!dicomWebPlugin) throw new BenchError('the Orthanc DICOMweb plugin (libOrthancDicomWeb.so) is still not found under /usr/share/orthanc/plugins or /usr/lib/orthanc');
  if (!which('storescu') || !which('storescp') || !which('echoscu')) throw new BenchError('dcmtk (storescu, storescp, echoscu) is still not found after installation');
  const firstLine = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: 'utf8' }).stdout.split('\n').find((l) => l.trim()) ?? '?';
  return {
    orthanc,
    dicomWebPlugin,
    orthancVersion: firstLine(orthanc, ['--version']).trim(),
    dcmtkVersion: firstLine('storescu', ['--version']).replace(/^\$dcmtk:\s*/, '').replace(/\s*\$$/, ''),
  };
}

// ---------------------------------------------------------------------------------------
// Servers

interface Server {
  name: string;
  proc: Proc;
  aet: string;
  dicomPort: number;
  /** Base URL of the STOW-RS endpoint's parent (…/studies is appended). */
  stowBase?: string;
  stowHeaders?: Record<string, string>;
  /** Instances the server holds now. */
  count(): Promise<number>;
  /** Extra checks after a round (e.g. blobs vs index rows), for the report. */
  notes?(): Promise<string[]>;
  /** Folder holding everything it stored (removed after the round). */
  dir: string;
  /** Called once the process has stopped. */
  afterStop?(): Promise<void>;
}

async function startEnkaku(label: string): Promise<Server & { token: string }> {
  const dir = path.join(RUN_DIR, `enkaku-${label}`);
  const dataDir = path.join(dir, 'data');
  await fsp.mkdir(dataDir, { recursive: true });
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  const schema = DATABASE_URL ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  if (schema) pgSchemas.push(schema);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENKAKU_DATA_DIR: dataDir,
    ENKAKU_HTTP_PORT: String(httpPort),
    ENKAKU_DICOM_PORT: String(dicomPort),
    ENKAKU_DICOM_AET: 'ENKAKU',
    ENKAKU_LOG_LEVEL: 'warn',
    ENKAKU_DATABASE_URL: DATABASE_URL ?? '',
    ENKAKU_DATABASE_SCHEMA: schema ?? '',
  };
  const cli = (args: string[]): string => {
    const r = spawnSync(process.execPath, [ENKAKU_BIN, ...args], { env, cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new BenchError(`enkaku ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  cli(['facility', 'add', '--name', 'BENCH', '--aet', CALLING_AET]);
  const token = cli(['token', 'create', '--facility', 'BENCH', '--scope', 'dicomweb:write']).trim().split('\n').pop()?.trim() ?? '';
  if (!token) throw new BenchError('enkaku token create printed no token');

  const logFile = path.join(dir, 'enkaku.log');
  const proc = startProc(`Enkaku (${label})`, process.execPath, [ENKAKU_BIN, 'serve'], logFile, env);
  await waitFor(proc, 'GET /readyz = 200', async () => (await httpGet(`http://127.0.0.1:${httpPort}/readyz`)).status === 200);
  await waitFor(proc, 'C-ECHO answered', () => echo('ENKAKU', dicomPort));

  const dbCount = async (): Promise<number> => {
    if (DATABASE_URL) {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      try {
        const r = await c.query<{ n: string }>(`select count(*) as n from ${schema}.instances`);
        return Number(r.rows[0]?.n ?? 0);
      } finally {
        await c.end();
      }
    }
    const db = new Database(path.join(dataDir, 'enkaku.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('select count(*) as n from instances').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const blobCount = (): number => countFiles(path.join(dataDir, 'blobs'));
  return {
    name: 'Enkaku',
    proc,
    aet: 'ENKAKU',
    dicomPort,
    dir,
    token,
    stowBase: `http://127.0.0.1:${httpPort}/dicomweb`,
    stowHeaders: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' },
    count: dbCount,
    // The schema goes as soon as this Enkaku stops, so an interrupted run leaves little behind.
    afterStop: () => dropSchemas(schema ? [schema] : []),
    notes: async () => {
      const out: string[] = [];
      const rows = await dbCount();
      const blobs = blobCount();
      if (blobs !== rows) out.push(`Enkaku: ${rows} instance row(s) but ${blobs} blob file(s)`);
      const leftovers = countFiles(path.join(dataDir, 'tmp'));
      if (leftovers) out.push(`Enkaku: ${leftovers} file(s) left in data/tmp`);
      const problems = enkakuLogProblems(logFile);
      if (problems.length) out.push(`Enkaku logged ${problems.length} warning/error line(s), e.g.: ${problems.slice(0, 3).join(' | ')}`);
      return out;
    },
  };
}

/** Warning and error lines (pino level >= 40) of an Enkaku log. */
function enkakuLogProblems(logFile: string): string[] {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string; event?: string; err?: unknown };
      if ((j.level ?? 0) >= 40) out.push(`${j.event ?? ''} ${j.msg ?? ''}${j.err ? ` (${typeof j.err === 'string' ? j.err : JSON.stringify(j.err)})` : ''}`.trim());
    } catch {
      // not JSON: ignore
    }
  }
  return out;
}

async function startOrthanc(tools: Tools, label: string): Promise<Server> {
  const dir = path.join(RUN_DIR, `orthanc-${label}`);
  await fsp.mkdir(path.join(dir, 'storage'), { recursive: true });
  await fsp.mkdir(path.join(dir, 'index'), { recursive: true });
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  // Orthanc's own defaults otherwise (notably SyncStorageArea true = fsync per file,
  // MaximumPduLength 16 KiB, DicomThreadsCount 4), written out for the record.
  const config = {
    Name: 'ENKAKU-BENCH',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'index'),
    StorageCompression: false,
    SyncStorageArea: true,
    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: true,
    DicomAet: 'ORTHANC',
    DicomPort: dicomPort,
    DicomCheckCalledAet: false,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowEcho: true,
    DicomCheckModalityHost: false,
    SaveJobs: false,
    Plugins: [tools.dicomWebPlugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, Ssl: false },
  };
  const configFile = path.join(dir, 'orthanc.json');
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(dir, 'orthanc.log');
  const proc = startProc(`Orthanc (${label})`, tools.orthanc, [configFile], logFile, DCMTK_ENV);
  const base = `http://127.0.0.1:${httpPort}`;
  await waitFor(proc, 'GET /system = 200', async () => (await httpGet(`${base}/system`)).status === 200);
  const plugins = await httpGet(`${base}/plugins`);
  if (!plugins.body.includes('dicom-web')) {
    throw new BenchError(`Orthanc started without its DICOMweb plugin (${tools.dicomWebPlugin}); GET /plugins = ${plugins.body.trim()}; log:\n${logTail(logFile)}`);
  }
  await waitFor(proc, 'C-ECHO answered', () => echo('ORTHANC', dicomPort));
  return {
    name: 'Orthanc',
    proc,
    aet: 'ORTHANC',
    dicomPort,
    dir,
    stowBase: `${base}/dicom-web`,
    stowHeaders: { accept: 'application/dicom+json' },
    count: async () => {
      const r = await httpGet(`${base}/statistics`);
      if (r.status !== 200) throw new BenchError(`Orthanc GET /statistics answered ${r.status}`);
      return Number((JSON.parse(r.body) as { CountInstances?: number }).CountInstances ?? 0);
    },
  };
}

async function startStorescp(): Promise<Server> {
  const dir = path.join(RUN_DIR, 'storescp');
  const out = path.join(dir, 'received');
  await fsp.mkdir(out, { recursive: true });
  const port = await freePort();
  const logFile = path.join(dir, 'storescp.log');
  // Defaults otherwise: single process, 16 KiB max PDU, data written with the received transfer syntax, no fsync.
  const proc = startProc('storescp', 'storescp', ['-aet', 'STORESCP', '-od', out, '+xa', String(port)], logFile, DCMTK_ENV);
  await waitFor(proc, 'C-ECHO answered', () => echo('STORESCP', port));
  return { name: 'storescp', proc, aet: 'STORESCP', dicomPort: port, dir, count: async () => countFiles(out) };
}

async function stopServer(s: Server, removeData = true): Promise<{ peakRssBytes: number | undefined }> {
  const mem = s.proc.child.pid ? procMemory(s.proc.child.pid) : undefined;
  await stopProc(s.proc);
  await s.afterStop?.();
  if (removeData && !opts.keep) await fsp.rm(s.dir, { recursive: true, force: true });
  return { peakRssBytes: mem?.hwm };
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
async function storescu(s: Server, dir: string, logFile: string): Promise<{ seconds: number; problems: string[] }> {
  const args = ['-aec', s.aet, '-aet', CALLING_AET, '-nh', '+sd', '+r', '127.0.0.1', String(s.dicomPort), dir];
  const t0 = process.hrtime.bigint();
  const p = startProc(`storescu -> ${s.name}`, 'storescu', args, logFile, DCMTK_ENV);
  const code = await p.exited;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const problems: string[] = [];
  if (code !== 0) problems.push(`storescu exited with code ${code}`);
  const log = fs.readFileSync(logFile, 'utf8');
  const failed = log.split('\n').filter((l) => /^E: /.test(l));
  if (failed.length) problems.push(`storescu reported ${failed.length} error line(s), e.g.: ${failed.slice(0, 3).join(' | ')}`);
  return { seconds, problems };
}

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

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
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

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  if (interrupted) exitCode = 130;
  else if (err instanceof BenchError) process.stderr.write(`\nbench: ${err.message}\n`);
  else process.stderr.write(`\nbench: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  if (!interrupted) exitCode = 1;
} finally {
  await cleanup();
}
process.exit(interrupted ? 130 : exitCode);
