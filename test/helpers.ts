/**
 * Test helpers: a throw-away Enkaku runtime (SQLite in a temp folder, or a fresh
 * PostgreSQL schema when ENKAKU_TEST_DATABASE_URL is set) and outside-tool checks.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { loadConfig, type EnkakuConfig } from '../src/server/config.ts';
import { createRuntime, type Runtime } from '../src/server/runtime.ts';
import { createLogger } from '../src/server/platform/log.ts';

/** Whether tests must fail instead of skipping when a tool is missing. */
export const STRICT = process.env.ENKAKU_TEST_STRICT === '1';

/** PostgreSQL URL under test, if any. */
export const TEST_DATABASE_URL = process.env.ENKAKU_TEST_DATABASE_URL || undefined;

/** Path of an outside executable, or undefined. */
export function which(tool: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns true when the tools are present. Otherwise skips the test with the reason, or
 * fails it in strict mode (CI), so that nothing is silently left untested.
 */
export function needTools(t: TestContext, tools: string[], install: string): boolean {
  const missing = tools.filter((x) => !which(x));
  if (missing.length === 0) return true;
  const msg = `${missing.join(', ')} not installed (${install})`;
  if (STRICT) throw new Error(`strict mode: ${msg}`);
  t.skip(`skipped: ${msg}`);
  return false;
}

/** A fresh configuration for a test: temp data folder, random ports, own DB schema. */
export function testConfig(overrides: Partial<EnkakuConfig> = {}): { config: EnkakuConfig; cleanup: () => Promise<void> } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-test-'));
  const schema = TEST_DATABASE_URL ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const config = loadConfig(
    { ENKAKU_DATA_DIR: dataDir, ENKAKU_DATABASE_URL: TEST_DATABASE_URL, ENKAKU_DATABASE_SCHEMA: schema, ENKAKU_HTTP_PORT: '0', ENKAKU_DICOM_PORT: '0', ENKAKU_HL7_PORT: '0' },
    overrides,
  );
  return {
    config,
    cleanup: async () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (schema && TEST_DATABASE_URL) {
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        await c.query(`drop schema if exists ${schema} cascade`);
        await c.end();
      }
    },
  };
}

/** A runtime for one test file; call `close` in `after`. */
export async function testRuntime(overrides: Partial<EnkakuConfig> = {}): Promise<Runtime & { cleanup: () => Promise<void> }> {
  const { config, cleanup } = testConfig(overrides);
  const rt = await createRuntime(config, createLogger(process.env.ENKAKU_LOG_LEVEL ?? 'silent'));
  return {
    ...rt,
    cleanup: async () => {
      await rt.close();
      await cleanup();
    },
  };
}

/** Files (recursively) under a folder. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** Environment for running `bin/enkaku.js` as a child process with a test configuration. */
export function childEnv(config: EnkakuConfig, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENKAKU_DATA_DIR: config.dataDir,
    ENKAKU_HTTP_PORT: String(config.http.port),
    ENKAKU_DICOM_PORT: String(config.dicom.port),
    ENKAKU_HL7_PORT: String(config.hl7.port),
    ENKAKU_LOG_LEVEL: 'warn',
    ...extra,
  };
  delete env.ENKAKU_DATABASE_URL;
  delete env.ENKAKU_DATABASE_SCHEMA;
  if (config.databaseUrl) env.ENKAKU_DATABASE_URL = config.databaseUrl;
  if (config.databaseSchema) env.ENKAKU_DATABASE_SCHEMA = config.databaseSchema;
  return env;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Path of the `enkaku` command of this checkout. */
export const ENKAKU_BIN = path.resolve(import.meta.dirname, '..', 'bin', 'enkaku.js');

/** A running `enkaku serve` child process. */
export interface ServerProcess {
  child: import('node:child_process').ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `enkaku serve` with the given environment and waits until its output matches
 * `ready` (default: the line that ends the start-up banner).
 */
export async function startServer(env: NodeJS.ProcessEnv, ready: RegExp = /npm run demo|Facilities:|Sign in at/): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [ENKAKU_BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    const check = (): void => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
