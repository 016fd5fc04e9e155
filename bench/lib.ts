/**
 * Shared pieces of the benchmarks in this folder (`ingest.ts`, `query.ts`): child
 * processes that are always stopped (also on error and Ctrl-C), free loopback ports,
 * a keep-alive HTTP client, dcmtk and Orthanc (installed with apt-get when missing),
 * and starting Enkaku and Orthanc with fresh folders.
 *
 * A bench calls {@link initRun} once with its temp folder, then {@link runMain} with its
 * main function; everything it starts through this module is stopped and removed when
 * main returns or throws, or on SIGINT/SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_DIR = path.join(ROOT, '.bench');
export const ENKAKU_BIN = path.join(ROOT, 'bin', 'enkaku.js');
export const CALLING_AET = 'BENCHSCU';
export const MB = 1e6;

/** A file-name-safe timestamp of now (`2025-01-31T12-00-00-000Z`). */
export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** An error whose message is meant for the reader as is (no stack trace). */
export class BenchError extends Error {}

// ---------------------------------------------------------------------------------------
// The run: temp folder, processes and cleanup

interface RunConfig {
  /** Temp folder of this run (removed at the end unless `keep`). */
  dir: string;
  keep: boolean;
  /** Keep PostgreSQL schemas too (default: dropped when their Enkaku stops, or at the end). */
  keepSchemas?: boolean;
  /** Environment of dcmtk tools and Orthanc (TCP_NODELAY, see ingest.ts). */
  dcmtkEnv: NodeJS.ProcessEnv;
}

const run: RunConfig = { dir: '', keep: false, keepSchemas: false, dcmtkEnv: { ...process.env, TCP_NODELAY: '1' } };

/** The current run's settings (after {@link initRun}). */
export function runConfig(): Readonly<RunConfig> {
  return run;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
}

/** A PostgreSQL schema made for one Enkaku start, dropped at the end at the latest. */
export interface PgSchema {
  url: string;
  schema: string;
}

const procs = new Set<Proc>();
const pgSchemas: PgSchema[] = [];
let cleanedUp = false;
let interrupted = false;

/** Whether Ctrl-C (or SIGTERM) has been received. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/** Throws when the run is being stopped, so long loops end promptly on Ctrl-C. */
export function checkInterrupted(): void {
  if (interrupted || cleanedUp) throw new BenchError('interrupted');
}

/**
 * Sets up the run: its temp folder, whether to keep it, the dcmtk environment, and the
 * handlers that stop everything on SIGINT/SIGTERM and kill what is left on exit.
 */
export function initRun(config: RunConfig): void {
  Object.assign(run, config);
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
}

/** Starts a long-running process with stdout and stderr going to a log file. */
export function startProc(name: string, cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Proc {
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
export async function stopProc(p: Proc, graceMs = 15_000): Promise<void> {
  if (p.exitCode !== undefined) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

export function logTail(file: string, lines = 30): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return '    | (no log)';
  }
}

let cleanupDone: Promise<void> | undefined;
/** Stops every process, drops PostgreSQL schemas and removes the temp folder (once). */
export function cleanup(): Promise<void> {
  cleanedUp = true;
  return (cleanupDone ??= doCleanup());
}

async function doCleanup(): Promise<void> {
  await Promise.all([...procs].map((p) => stopProc(p)));
  await dropSchemas([...pgSchemas]);
  if (!run.dir) return;
  if (run.keep) say(`temp folder kept: ${path.relative(ROOT, run.dir)}`);
  else await fsp.rm(run.dir, { recursive: true, force: true });
}

/** A new PostgreSQL schema name for one Enkaku start, dropped by {@link cleanup} at the latest. */
export function newPgSchema(url: string): PgSchema {
  const s = { url, schema: `bench_${randomBytes(5).toString('hex')}` };
  pgSchemas.push(s);
  return s;
}

/** Drops PostgreSQL schemas made for Enkaku starts (or, with `keepSchemas`, says where they are). */
export async function dropSchemas(schemas: PgSchema[]): Promise<void> {
  if (run.keepSchemas) {
    for (const s of schemas) {
      const i = pgSchemas.indexOf(s);
      if (i < 0) continue;
      pgSchemas.splice(i, 1);
      say(`PostgreSQL schema kept: ${s.schema} (drop it with: psql ${s.url.replace(/\/\/([^:@/]*):[^@]*@/, '//$1@')} -c 'drop schema ${s.schema} cascade')`);
    }
    return;
  }
  for (const url of new Set(schemas.map((s) => s.url))) {
    const mine = schemas.filter((s) => s.url === url);
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      for (const s of mine) {
        await c.query(`drop schema if exists ${s.schema} cascade`);
        const i = pgSchemas.indexOf(s);
        if (i >= 0) pgSchemas.splice(i, 1);
      }
    } catch (err) {
      say(`warning: could not drop PostgreSQL schema(s) ${mine.map((s) => s.schema).join(', ')}: ${(err as Error).message}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/**
 * Runs a bench's main function: its return value is the exit code; a {@link BenchError}
 * is printed without a stack trace; everything is cleaned up in every case.
 */
export async function runMain(main: () => Promise<number>): Promise<never> {
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
}

// ---------------------------------------------------------------------------------------
// Small helpers

export function which(tool: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

let portCursor = Math.floor(Math.random() * 1000);
/** A free loopback port in 42000-42999 (never the same twice in one run). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const port = 42000 + (portCursor++ % 1000);
    if (await canListen(port)) return port;
  }
  throw new BenchError('no free TCP port in 42000-42999');
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** The bench's shared keep-alive agent. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
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

/** A complete HTTP answer with its headers, the body as bytes, and the wall time in ms. */
export interface TimedAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
  /** Whether the request went over a connection that an earlier request opened. */
  reused: boolean;
}

/**
 * A keep-alive agent with one connection, so requests go one at a time over it. It keeps
 * the connection even when the server announces a short idle timeout: Orthanc 1.10 sends
 * `Keep-Alive: timeout=1`, and Node's own agent then closes every connection after one
 * request. A request that finds the connection closed meanwhile is sent again once
 * ({@link timedRequest}).
 */
export class PersistentAgent extends http.Agent {
  constructor() {
    super({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 1000 });
  }

  override keepSocketAlive(socket: net.Socket): boolean {
    socket.setKeepAlive(true, 1000);
    socket.unref();
    return true;
  }
}

/**
 * One HTTP request, timed from just before it is sent until the last byte of the answer
 * has arrived. `agent` decides the connection (keep-alive or not). If a reused keep-alive
 * connection turns out to be closed by the server, the request is sent once more on a
 * new one, and only that attempt is timed.
 */
export async function timedRequest(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent: http.Agent; timeoutMs?: number },
): Promise<TimedAnswer> {
  try {
    return await timedRequestOnce(url, o);
  } catch (err) {
    if ((err as { reusedSocket?: boolean }).reusedSocket !== true) throw err;
    return timedRequestOnce(url, o);
  }
}

function timedRequestOnce(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent: http.Agent; timeoutMs?: number },
): Promise<TimedAnswer> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers ?? {}, agent: o.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: Number(process.hrtime.bigint() - t0) / 1e6,
          reused: req.reusedSocket,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', (err: Error & { code?: string }) => {
      // A keep-alive connection the server had closed: the caller may send it again.
      if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) Object.assign(err, { reusedSocket: true });
      reject(err);
    });
    req.setTimeout(o.timeoutMs ?? 120_000, () => req.destroy(new Error('timeout')));
    req.end(o.body);
  });
}

/** Polls `check` until it returns true; fails early when the process exits. */
export async function waitFor(p: Proc, what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
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
export function echo(aet: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn('echoscu', ['-aec', aet, '-aet', CALLING_AET, '-to', '5', '127.0.0.1', String(port)], { stdio: 'ignore', env: run.dcmtkEnv });
    c.on('exit', (code) => resolve(code === 0));
    c.on('error', () => resolve(false));
  });
}

/** VmRSS / VmHWM of a process in bytes (undefined once it is gone). */
export function procMemory(pid: number): { rss: number; hwm: number } | undefined {
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
export function cpuSeconds(pid: number | undefined): number | undefined {
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

export function countFiles(dir: string, recursive = true): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { recursive, withFileTypes: true }).filter((e) => e.isFile()).length;
}

export function listDicom(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Flushes dirty pages so one target's writes do not slow down the next one's fsyncs. */
export function syncDisks(): void {
  spawnSync('sync', [], { stdio: 'ignore' });
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

// ---------------------------------------------------------------------------------------
// Tools: dcmtk and Orthanc (installed with apt-get when missing)

export interface Tools {
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

/** Finds Orthanc, its DICOMweb plugin and dcmtk, installing the missing Debian packages. */
export function ensureTools(): Tools {
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
    const runApt = (args: string[]): number | null =>
      spawnSync(sudo[0] ?? args[0]!, sudo.length ? [...sudo.slice(1), ...args] : args.slice(1), { stdio: 'inherit', env }).status;
    let status = runApt(['apt-get', 'install', '-y', ...missing]);
    if (status !== 0) {
      say('apt-get install failed; refreshing the package lists (apt-get update) and trying once more');
      runApt(['apt-get', 'update']);
      status = runApt(['apt-get', 'install', '-y', ...missing]);
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

export interface Server {
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
  /** Called once the process has stopped and its data is removed. */
  afterStop?(): Promise<void>;
}

/** An Enkaku data folder (or PostgreSQL schema) with facility BENCH and an API token, not yet serving. */
export interface EnkakuSetup {
  label: string;
  dir: string;
  dataDir: string;
  httpPort: number;
  dicomPort: number;
  env: NodeJS.ProcessEnv;
  token: string;
  /** Set when Enkaku runs on PostgreSQL. */
  pg?: PgSchema;
}

export type EnkakuServer = Server & { token: string; setup: EnkakuSetup; baseUrl: string };

/**
 * Makes a data folder (and, with a PostgreSQL URL, a fresh schema) for an Enkaku,
 * registers facility BENCH with calling AE BENCHSCU, and creates a token with `scopes`.
 * The CLI commands also run the migrations.
 */
export async function setupEnkaku(o: { label: string; databaseUrl?: string | undefined; scopes: string[] }): Promise<EnkakuSetup> {
  const dir = path.join(run.dir, `enkaku-${o.label}`);
  const dataDir = path.join(dir, 'data');
  await fsp.mkdir(dataDir, { recursive: true });
  const [httpPort, dicomPort, hl7Port] = [await freePort(), await freePort(), await freePort()];
  const schema = o.databaseUrl ? newPgSchema(o.databaseUrl) : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENKAKU_DATA_DIR: dataDir,
    ENKAKU_HTTP_PORT: String(httpPort),
    ENKAKU_DICOM_PORT: String(dicomPort),
    // Its HL7 MLLP listener too, so that no default port (2575) is shared with anything else.
    ENKAKU_HL7_PORT: String(hl7Port),
    ENKAKU_DICOM_AET: 'ENKAKU',
    ENKAKU_LOG_LEVEL: 'warn',
    ENKAKU_DATABASE_URL: o.databaseUrl ?? '',
    ENKAKU_DATABASE_SCHEMA: schema?.schema ?? '',
  };
  const cli = (args: string[]): string => {
    const r = spawnSync(process.execPath, [ENKAKU_BIN, ...args], { env, cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new BenchError(`enkaku ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  cli(['facility', 'add', '--name', 'BENCH', '--aet', CALLING_AET]);
  const token = cli(['token', 'create', '--facility', 'BENCH', ...o.scopes.flatMap((s) => ['--scope', s])]).trim().split('\n').pop()?.trim() ?? '';
  if (!token) throw new BenchError('enkaku token create printed no token');
  return { label: o.label, dir, dataDir, httpPort, dicomPort, env, token, ...(schema ? { pg: schema } : {}) };
}

/**
 * Starts `enkaku serve` on a prepared setup and waits until it answers /readyz and a
 * C-ECHO. `nodeArgs` go to Node before the script (e.g. `--cpu-prof`). The same setup
 * can be started again after {@link stopServer} with `removeData` false.
 */
export async function launchEnkaku(setup: EnkakuSetup, o: { nodeArgs?: string[]; logName?: string } = {}): Promise<EnkakuServer> {
  const { dir, dataDir, httpPort, dicomPort, env, token, label } = setup;
  const schema = setup.pg;
  const logFile = path.join(dir, o.logName ?? 'enkaku.log');
  const proc = startProc(`Enkaku (${label})`, process.execPath, [...(o.nodeArgs ?? []), ENKAKU_BIN, 'serve'], logFile, env);
  await waitFor(proc, 'GET /readyz = 200', async () => (await httpGet(`http://127.0.0.1:${httpPort}/readyz`)).status === 200);
  await waitFor(proc, 'C-ECHO answered', () => echo('ENKAKU', dicomPort));

  const dbCount = async (): Promise<number> => {
    if (schema) {
      const c = new pg.Client({ connectionString: schema.url });
      await c.connect();
      try {
        const r = await c.query<{ n: string }>(`select count(*) as n from ${schema.schema}.instances`);
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
    setup,
    baseUrl: `http://127.0.0.1:${httpPort}`,
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

/** A fresh Enkaku (new data folder, facility BENCH, token with `scopes`), serving. */
export async function startEnkaku(o: { label: string; databaseUrl?: string | undefined; scopes: string[] }): Promise<EnkakuServer> {
  return launchEnkaku(await setupEnkaku(o));
}

/** Warning and error lines (pino level >= 40) of an Enkaku log. */
export function enkakuLogProblems(logFile: string): string[] {
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

/** An Orthanc configuration written to its folder, not yet running. */
export interface OrthancSetup {
  label: string;
  dir: string;
  configFile: string;
  httpPort: number;
  dicomPort: number;
}

export type OrthancServer = Server & { setup: OrthancSetup; baseUrl: string };

/**
 * Writes the configuration of a fresh Orthanc (with its DICOMweb plugin, no
 * authentication, loopback only). `extra` adds or overrides configuration keys.
 */
export async function setupOrthanc(tools: Tools, label: string, extra: Record<string, unknown> = {}): Promise<OrthancSetup> {
  const dir = path.join(run.dir, `orthanc-${label}`);
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
    ...extra,
  };
  const configFile = path.join(dir, 'orthanc.json');
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2));
  return { label, dir, configFile, httpPort, dicomPort };
}

/** Starts Orthanc on a prepared setup and waits for its REST API, the DICOMweb plugin and a C-ECHO. */
export async function launchOrthanc(tools: Tools, setup: OrthancSetup): Promise<OrthancServer> {
  const { dir, configFile, httpPort, dicomPort, label } = setup;
  const logFile = path.join(dir, 'orthanc.log');
  const proc = startProc(`Orthanc (${label})`, tools.orthanc, [configFile], logFile, run.dcmtkEnv);
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
    setup,
    baseUrl: base,
    stowBase: `${base}/dicom-web`,
    stowHeaders: { accept: 'application/dicom+json' },
    count: async () => {
      const r = await httpGet(`${base}/statistics`);
      if (r.status !== 200) throw new BenchError(`Orthanc GET /statistics answered ${r.status}`);
      return Number((JSON.parse(r.body) as { CountInstances?: number }).CountInstances ?? 0);
    },
  };
}

/** A fresh Orthanc with its DICOMweb plugin, serving. */
export async function startOrthanc(tools: Tools, label: string): Promise<OrthancServer> {
  return launchOrthanc(tools, await setupOrthanc(tools, label));
}

/** A fresh dcmtk storescp writing into an empty folder. */
export async function startStorescp(): Promise<Server> {
  const dir = path.join(run.dir, 'storescp');
  const out = path.join(dir, 'received');
  await fsp.mkdir(out, { recursive: true });
  const port = await freePort();
  const logFile = path.join(dir, 'storescp.log');
  // Defaults otherwise: single process, 16 KiB max PDU, data written with the received transfer syntax, no fsync.
  const proc = startProc('storescp', 'storescp', ['-aet', 'STORESCP', '-od', out, '+xa', String(port)], logFile, run.dcmtkEnv);
  await waitFor(proc, 'C-ECHO answered', () => echo('STORESCP', port));
  return { name: 'storescp', proc, aet: 'STORESCP', dicomPort: port, dir, count: async () => countFiles(out) };
}

/**
 * Stops a server. With `removeData` (the default) its folder is removed (unless the run
 * keeps its temp folder) and `afterStop` runs (e.g. dropping its PostgreSQL schema);
 * without it, the server can be started again on the same data.
 */
export async function stopServer(s: Server, removeData = true): Promise<{ peakRssBytes: number | undefined }> {
  const mem = s.proc.child.pid ? procMemory(s.proc.child.pid) : undefined;
  await stopProc(s.proc);
  if (removeData) {
    await s.afterStop?.();
    if (!run.keep) await fsp.rm(s.dir, { recursive: true, force: true });
  }
  return { peakRssBytes: mem?.hwm };
}

// ---------------------------------------------------------------------------------------
// Senders

/** One storescu association carrying every file of `dir` (scanned with +sd, so no ARG_MAX issue). */
export async function storescu(s: Server, dir: string, logFile: string): Promise<{ seconds: number; problems: string[] }> {
  const args = ['-aec', s.aet, '-aet', CALLING_AET, '-nh', '+sd', '+r', '127.0.0.1', String(s.dicomPort), dir];
  const t0 = process.hrtime.bigint();
  const p = startProc(`storescu -> ${s.name}`, 'storescu', args, logFile, run.dcmtkEnv);
  const code = await p.exited;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const problems: string[] = [];
  if (code !== 0) problems.push(`storescu exited with code ${code}`);
  const log = fs.readFileSync(logFile, 'utf8');
  const failed = log.split('\n').filter((l) => /^E: /.test(l));
  if (failed.length) problems.push(`storescu reported ${failed.length} error line(s), e.g.: ${failed.slice(0, 3).join(' | ')}`);
  return { seconds, problems };
}
