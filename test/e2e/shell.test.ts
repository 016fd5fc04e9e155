/**
 * Browser tests of the web shell: real Chromium (Debian's package) driven by
 * playwright-core against a real `enkaku serve`. First-administrator setup, login with a
 * TOTP second factor and its enrolment, the language switch, and giving a user a role
 * at a facility.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { generate } from 'otplib';
import { ENKAKU_BIN, STRICT, childEnv, freePort, startServer, testConfig, which, type ServerProcess } from '../helpers.ts';

const CHROMIUM = which('chromium') ?? which('chromium-browser');
const PW = 'Correct-Horse-9-Battery';

/** The first-login gates of a new account: the confidentiality agreement, then a new password. */
async function acceptAgreementAndChangePassword(page: Page, initial: string): Promise<void> {
  await page.getByTestId('agreement-checkbox').check();
  await page.getByTestId('agreement-accept').click();
  await page.getByTestId('password-current').fill(initial);
  await page.getByTestId('password-new').fill(PW);
  await page.getByTestId('password-confirm').fill(PW);
  await page.getByTestId('password-submit').click();
  await page.getByTestId('current-user').waitFor();
}

async function enkaku(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const r = spawnSync(process.execPath, [ENKAKU_BIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`enkaku ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('web shell in Chromium', { concurrency: false, timeout: 240_000 }, () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  let base = '';
  let setupLink = '';
  let cleanup: (() => Promise<void>) | undefined;
  let env: NodeJS.ProcessEnv;
  let skipReason = '';

  before(async () => {
    if (!CHROMIUM) {
      if (STRICT) throw new Error('strict mode: chromium not installed (apt-get install chromium)');
      skipReason = 'chromium not installed (apt-get install chromium)';
      return;
    }
    const built = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '..', '..', 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
    assert.equal(built.status, 0, 'web build');
    const t = testConfig();
    cleanup = t.cleanup;
    t.config.http.port = await freePort();
    t.config.dicom.port = await freePort();
    env = childEnv(t.config);
    await enkaku(env, ['facility', 'add', '--name', '札幌中央病院', '--aet', 'SAPCT']);
    server = await startServer(env, /Facilities:/);
    setupLink = /(http:\/\/\S+\/setup\?token=\S+)/.exec(server.output())![1]!;
    base = `http://127.0.0.1:${t.config.http.port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await cleanup?.();
  });

  const newPage = async (): Promise<Page> => {
    const ctx = await browser!.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
    return ctx.newPage();
  };

  test('first administrator setup, agreement, language switch and a facility role for a new user', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const page = await newPage();
    await page.goto(setupLink);
    assert.equal(await page.getAttribute('html', 'lang'), 'ja', 'Japanese by default');
    // The app takes the token out of the address bar once it has read it.
    await page.getByTestId('setup-username').waitFor();
    await page.waitForFunction("!location.search.includes('token=')", undefined, { timeout: 10_000 });
    assert.ok(!page.url().includes('token='), 'the setup token leaves the address bar');
    await page.getByTestId('setup-username').fill('admin');
    await page.getByTestId('setup-display-name').fill('管理 太郎');
    await page.getByTestId('setup-password').fill(PW);
    await page.getByTestId('setup-password-confirm').fill(PW);
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(PW);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('agreement-checkbox').check();
    await page.getByTestId('agreement-accept').click();
    await page.getByTestId('current-user').waitFor();
    assert.match(await page.getByTestId('current-user').innerText(), /管理 太郎/);

    await page.getByTestId('lang-switch').click();
    await page.waitForFunction("document.documentElement.lang === 'en'");
    assert.match(await page.getByTestId('nav-admin-users').innerText(), /[A-Za-z]/);
    await page.getByTestId('lang-switch').click();
    await page.waitForFunction("document.documentElement.lang === 'ja'");

    await page.getByTestId('nav-admin-users').click();
    await page.getByTestId('create-user-open').click();
    await page.getByTestId('create-user-username').fill('tech-sapporo');
    await page.getByTestId('create-user-display-name').fill('技師 花子');
    await page.getByTestId('create-user-password').fill(PW);
    await page.getByTestId('create-user-role-0').selectOption('technologist');
    const facilityOption = await page.getByTestId('create-user-facility-0').locator('option', { hasText: '札幌中央病院' }).getAttribute('value');
    await page.getByTestId('create-user-facility-0').selectOption(facilityOption!);
    await page.getByTestId('create-user-submit').click();
    const row = page.getByTestId('user-row-tech-sapporo');
    await row.waitFor();
    assert.match(await row.innerText(), /札幌中央病院/);
    assert.match(await row.innerText(), /診療放射線技師/);
    await page.screenshot({ path: path.join(process.env.ENKAKU_E2E_SHOTS ?? '/tmp', 'enkaku-users.png') });
    await page.context().close();
  });

  test('a physician enrols TOTP at first login and then needs the code', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const initial = /initial password[^:]*: (\S+)/.exec(await enkaku(env, ['user', 'add', '--username', 'dr-kato', '--name', '加藤 医師', '--role', 'radiologist']))![1]!;
    const page = await newPage();
    await page.goto(`${base}/login`);
    await page.getByTestId('login-username').fill('dr-kato');
    await page.getByTestId('login-password').fill(initial);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('totp-qr').waitFor();
    const secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await page.getByTestId('mfa-code').fill('000000');
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('mfa-error').waitFor();
    await page.getByTestId('mfa-code').fill(await generate({ secret }));
    await page.getByTestId('mfa-submit').click();
    // The agreement comes first, then the administrator-set password must be changed.
    await acceptAgreementAndChangePassword(page, initial);
    await page.getByTestId('logout').click();
    await page.getByTestId('login-username').waitFor();
    await page.context().close();

    // Next time the code is asked for, without enrolment.
    const again = await newPage();
    await again.goto(`${base}/login`);
    await again.getByTestId('login-username').fill('dr-kato');
    await again.getByTestId('login-password').fill(PW);
    await again.getByTestId('login-submit').click();
    await again.getByTestId('mfa-code').waitFor();
    assert.equal(await again.getByTestId('totp-qr').count(), 0, 'no enrolment the second time');
    // A fresh code (the enrolment's code cannot be replayed): wait for the next 30 s step.
    const step = Math.floor(Date.now() / 30_000);
    while (Math.floor(Date.now() / 30_000) === step) await new Promise((r) => setTimeout(r, 500));
    await again.getByTestId('mfa-code').fill(await generate({ secret }));
    await again.getByTestId('mfa-submit').click();
    await again.getByTestId('current-user').waitFor();
    assert.match(await again.getByTestId('current-user').innerText(), /加藤 医師/);
    await again.context().close();
  });

  test('a passkey registered on the security page replaces the code at the next login (virtual authenticator)', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const initial = /initial password[^:]*: (\S+)/.exec(await enkaku(env, ['user', 'add', '--username', 'dr-mori', '--name', '森 医師', '--role', 'radiologist']))![1]!;
    const page = await newPage();
    // WebAuthn needs a host name as relying party id: localhost, not 127.0.0.1.
    const local = base.replace('127.0.0.1', 'localhost');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto(`${local}/login`);
    await page.getByTestId('login-username').fill('dr-mori');
    await page.getByTestId('login-password').fill(initial);
    await page.getByTestId('login-submit').click();
    const secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
    await page.getByTestId('mfa-code').fill(await generate({ secret }));
    await page.getByTestId('mfa-submit').click();
    await acceptAgreementAndChangePassword(page, initial);

    await page.getByTestId('nav-security').click();
    await page.getByTestId('passkey-name').fill('ノートPC');
    await page.getByTestId('passkey-register').click();
    await page.getByTestId('passkey-row').first().waitFor();
    assert.match(await page.getByTestId('passkey-row').first().innerText(), /ノートPC/);

    await page.getByTestId('logout').click();
    await page.getByTestId('login-username').fill('dr-mori');
    await page.getByTestId('login-password').fill(PW);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('passkey-login').click();
    await page.getByTestId('current-user').waitFor();
    assert.match(await page.getByTestId('current-user').innerText(), /森 医師/);
    await page.context().close();
  });
});
