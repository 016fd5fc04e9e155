/**
 * Helpers of the browser tests and the viewer benchmark: Debian's Chromium through
 * playwright-core, a reader's first login (TOTP enrolment, the confidentiality agreement,
 * the new password), and sending synthetic studies to Enkaku over STOW-RS.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { generate } from 'otplib';
import { ENKAKU_BIN, which } from '../helpers.ts';

/** Debian's Chromium, if installed. */
export const CHROMIUM = which('chromium') ?? which('chromium-browser');

/** Flags for a quiet headless Chromium in a container. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('chromium not installed (apt-get install chromium)');
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Runs `enkaku <args>` with an environment and returns its standard output. */
export function enkakuCli(env: NodeJS.ProcessEnv, args: string[]): string {
  const r = spawnSync(process.execPath, [ENKAKU_BIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`enkaku ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Creates a user with the CLI and returns the initial password it printed. */
export function addUser(env: NodeJS.ProcessEnv, username: string, name: string, roles: string[]): string {
  const out = enkakuCli(env, ['user', 'add', '--username', username, '--name', name, ...roles.flatMap((r) => ['--role', r])]);
  const m = /initial password[^:]*: (\S+)/.exec(out);
  if (!m) throw new Error(`no initial password in: ${out}`);
  return m[1]!;
}

/**
 * A new account's first login: password, TOTP enrolment (when asked), the confidentiality
 * agreement and the password change. Returns the TOTP secret (empty when none was asked).
 */
export async function firstLogin(page: Page, base: string, username: string, initial: string, password: string): Promise<string> {
  await page.goto(`${base}/login`);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(initial);
  await page.getByTestId('login-submit').click();
  let secret = '';
  const next = await Promise.race([
    page.getByTestId('totp-secret').waitFor().then(() => 'totp' as const),
    page.getByTestId('agreement-checkbox').waitFor().then(() => 'agreement' as const),
  ]);
  if (next === 'totp') {
    secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
    await page.getByTestId('mfa-code').fill(await generate({ secret }));
    await page.getByTestId('mfa-submit').click();
  }
  await page.getByTestId('agreement-checkbox').check();
  await page.getByTestId('agreement-accept').click();
  await page.getByTestId('password-current').fill(initial);
  await page.getByTestId('password-new').fill(password);
  await page.getByTestId('password-confirm').fill(password);
  await page.getByTestId('password-submit').click();
  await page.getByTestId('current-user').waitFor();
  return secret;
}

/** The Part 10 files of a folder, sorted. */
export async function dicomFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(dir, f));
}

/**
 * Sends files to `POST /dicomweb/studies` (STOW-RS, PS3.18 §10.5) with a facility token,
 * `batch` files per multipart request.
 */
export async function stow(base: string, token: string, files: string[], batch = 50): Promise<void> {
  for (let i = 0; i < files.length; i += batch) {
    const boundary = `enkaku-${Math.random().toString(36).slice(2)}`;
    const parts: Buffer[] = [];
    for (const f of files.slice(i, i + batch)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`));
      parts.push(await fs.readFile(f));
      parts.push(Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const r = await fetch(`${base}/dicomweb/studies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
      body: Buffer.concat(parts),
    });
    if (r.status !== 200) throw new Error(`STOW-RS answered ${r.status}: ${await r.text()}`);
  }
}
