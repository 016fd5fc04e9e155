/**
 * Helpers for the signing tests: a runtime with a signing service and physicians, and the
 * outside verifiers (openssl, poppler's pdfsig, NSS certutil) run on files in a temp folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { needTools, testRuntime, which } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { SecretBox } from '../../platform/secrets.ts';
import { SigningService } from './service.ts';

export const OP = { kind: 'system', name: 'test' } as const;

/** A runtime with a signing service (SQLite or the test PostgreSQL schema). */
export async function signingRuntime(): Promise<{ rt: Runtime & { cleanup: () => Promise<void> }; signing: SigningService }> {
  const rt = await testRuntime();
  const signing = await SigningService.open({ db: rt.db.kysely, dataDir: rt.config.dataDir, secrets: SecretBox.open(rt.config.dataDir), audit: rt.audit });
  return { rt, signing };
}

/** Creates a physician account; returns its id. */
export async function physician(rt: Runtime, username: string, displayName: string): Promise<string> {
  return rt.accounts.create(OP, { username, displayName, password: 'Correct-Horse-9-Battery', grants: [{ role: 'radiologist', facilityId: null }], mustChangePassword: false });
}

/** A temp folder removed by `cleanup`. */
export function scratch(): { dir: string; file(name: string, data?: Buffer | string): string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-sign-'));
  return {
    dir,
    file(name, data) {
      const p = path.join(dir, name);
      if (data !== undefined) fs.writeFileSync(p, data);
      return p;
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs a tool; returns exit status and output (stdout + stderr). */
export function run(cmd: string, args: string[], input?: Buffer): { status: number; out: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'buffer', timeout: 60_000 });
  return { status: r.status ?? -1, out: Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]).toString('utf8') };
}

/** Runs a tool without blocking the event loop (for clients of servers in this process). */
export function runAsync(cmd: string, args: string[]): Promise<{ status: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, out: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

/** openssl is needed (skips, or fails in strict mode, when missing). */
export function needOpenssl(t: TestContext): boolean {
  return needTools(t, ['openssl'], 'apt-get install openssl');
}

/** pdfsig is needed. */
export function needPdfsig(t: TestContext): boolean {
  return needTools(t, ['pdfsig'], 'apt-get install poppler-utils');
}

/**
 * An NSS database trusting the given CA (PEM), for `pdfsig -nssdir`, or undefined when NSS's
 * certutil (Debian libnss3-tools) is missing: then only the signature itself is checked.
 */
export function nssTrusting(dir: string, caPem: string): string | undefined {
  if (!which('certutil')) return undefined;
  const db = path.join(dir, 'nss');
  fs.mkdirSync(db, { recursive: true });
  const ca = path.join(dir, 'nss-ca.pem');
  fs.writeFileSync(ca, caPem);
  if (run('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']).status !== 0) return undefined;
  if (run('certutil', ['-A', '-d', `sql:${db}`, '-n', 'enkaku-ca', '-t', 'C,C,C', '-i', ca]).status !== 0) return undefined;
  return `sql:${db}`;
}

/** A copy of bytes with one byte changed. */
export function flipByte(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
