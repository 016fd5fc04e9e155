/**
 * Accounts, login with a second factor, lockout, sessions, CSRF, the agreement gate,
 * re-authentication and facility-scoped administration, through the HTTP API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { buildApp } from '../app.ts';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { AuthService, AccountRepository, LockedError, TokenService } from './index.ts';
import { SecretBox } from '../platform/secrets.ts';

const OP = { kind: 'system', name: 'test' } as const;
const STRONG = 'Correct-Horse-9-Battery';
const REMOTE = '203.0.113.7';


class Browser {
  cookie = '';
  csrf = '';
  constructor(
    private readonly app: FastifyInstance,
    private readonly ip = '127.0.0.1',
  ) {}
  async req(method: string, url: string, payload?: unknown, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { ...extra };
    if (this.cookie) headers.cookie = `enkaku_session=${this.cookie}`;
    if (this.csrf && method !== 'GET' && !('x-csrf-token' in extra)) headers['x-csrf-token'] = this.csrf;
    const res: LightMyRequestResponse = await this.app.inject({ method: method as 'GET', url, payload: payload as object | undefined, headers, remoteAddress: this.ip });
    const set = res.cookies.find((c) => c.name === 'enkaku_session');
    if (set) this.cookie = set.value;
    const body = res.headers['content-type']?.toString().includes('json') ? res.json() : undefined;
    if (body?.session?.csrfToken) this.csrf = body.session.csrfToken;
    if (body?.csrfToken) this.csrf = body.csrfToken;
    return res;
  }
}

describe('security API', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let hospitalA: string;
  let hospitalB: string;

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    hospitalA = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['MODA'] })).id;
    hospitalB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['MODB'] })).id;
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  test('first administrator: only with the one-time setup link, only once', async () => {
    const b = new Browser(app);
    assert.deepEqual((await b.req('GET', '/api/setup')).json(), { needed: true });
    const token = (await rt.auth.issueSetupToken())!;
    const wrong = await b.req('POST', '/api/setup', { token: 'nope', username: 'admin', displayName: '管理 太郎', password: STRONG });
    assert.equal(wrong.statusCode, 403);
    const weak = await b.req('POST', '/api/setup', { token, username: 'admin', displayName: '管理 太郎', password: 'short1!' });
    assert.equal(weak.statusCode, 400);
    assert.match(weak.json().message, /at least 13 characters/);
    assert.equal((await b.req('POST', '/api/setup', { token, username: 'admin', displayName: '管理 太郎', password: STRONG })).statusCode, 201);
    assert.deepEqual((await b.req('GET', '/api/setup')).json(), { needed: false });
    assert.equal((await b.req('POST', '/api/setup', { token, username: 'admin2', displayName: 'x', password: STRONG })).statusCode, 409);
    assert.equal(await rt.auth.issueSetupToken(), undefined, 'no new setup link once an administrator exists');
  });

  test('a loopback administrator logs in with the password; the agreement and CSRF gate everything else', async () => {
    const b = new Browser(app);
    const login = await b.req('POST', '/api/auth/login', { username: 'admin', password: STRONG });
    assert.equal(login.statusCode, 200);
    assert.equal(login.json().status, 'ok');
    const cookie = login.cookies.find((c) => c.name === 'enkaku_session')!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal((await b.req('GET', '/api/admin/users')).statusCode, 403, 'agreement first');
    assert.equal((await b.req('POST', '/api/me/agreement', { accept: true }, { 'x-csrf-token': 'forged' })).statusCode, 403, 'CSRF token checked');
    assert.equal((await b.req('POST', '/api/me/agreement', { accept: true })).statusCode, 200);
    const users = await b.req('GET', '/api/admin/users');
    assert.equal(users.statusCode, 200);
    assert.equal(users.headers['cache-control'], 'no-store');
    assert.deepEqual(users.json().map((u: { username: string }) => u.username), ['admin']);
  });

  test('off loopback a second factor is enrolled, required, and a code cannot be replayed', async () => {
    const admin = new Browser(app);
    await admin.req('POST', '/api/auth/login', { username: 'admin', password: STRONG });
    const created = await admin.req('POST', '/api/admin/users', { username: 'tech1', displayName: '技師 一郎', password: STRONG, grants: [{ role: 'technologist', facilityId: hospitalA }] });
    assert.equal(created.statusCode, 201, created.body);

    const remote = new Browser(app, REMOTE);
    const first = await remote.req('POST', '/api/auth/login', { username: 'tech1', password: STRONG });
    const body = first.json();
    assert.equal(body.status, 'mfa-enrolment-required');
    assert.match(body.enrolment.otpauthUrl, /^otpauth:\/\/totp\/Enkaku:tech1\?/);
    assert.match(body.enrolment.qrSvg, /^<svg/);
    assert.equal((await remote.req('GET', '/api/session')).statusCode, 401, 'not logged in before the second factor');
    assert.equal((await remote.req('POST', '/api/auth/mfa', { code: '000000' })).statusCode, 401);
    const code = await generate({ secret: body.enrolment.secret });
    const ok = await remote.req('POST', '/api/auth/mfa', { code });
    assert.equal(ok.json().status, 'ok');
    assert.equal(ok.json().session.user.mfaEnrolled, true);
    assert.equal(ok.json().session.user.mustChangePassword, true, 'an administrator-set password must be changed');

    const again = new Browser(app, REMOTE);
    assert.equal((await again.req('POST', '/api/auth/login', { username: 'tech1', password: STRONG })).json().status, 'mfa-required');
    assert.equal((await again.req('POST', '/api/auth/mfa', { code })).statusCode, 401, 'the same code cannot be used twice');

    // A lost phone: the administrator (password again) resets the factor; the next login enrols anew.
    const id = (await rt.accounts.repo.byUsername('tech1'))!.id;
    assert.equal((await admin.req('POST', `/api/admin/users/${id}/reset-mfa`, { reauthPassword: 'wrong' })).statusCode, 403);
    assert.equal((await admin.req('POST', `/api/admin/users/${id}/reset-mfa`, { reauthPassword: STRONG })).statusCode, 200);
    assert.equal((await remote.req('GET', '/api/session')).statusCode, 401, 'the user\'s sessions ended');
    const fresh = new Browser(app, REMOTE);
    assert.equal((await fresh.req('POST', '/api/auth/login', { username: 'tech1', password: STRONG })).json().status, 'mfa-enrolment-required');
  });

  test('physicians need a second factor even on loopback', async () => {
    await rt.accounts.create(OP, { username: 'dr-yamada', displayName: '山田 花子', password: STRONG, grants: [{ role: 'radiologist', facilityId: null }] });
    const b = new Browser(app);
    assert.equal((await b.req('POST', '/api/auth/login', { username: 'dr-yamada', password: STRONG })).json().status, 'mfa-enrolment-required');
  });

  test('repeated failures lock the account (423) until an administrator unlocks it', async () => {
    await rt.accounts.create(OP, { username: 'clumsy', displayName: 'うっかり', password: STRONG, grants: [{ role: 'auditor', facilityId: null }] });
    const b = new Browser(app);
    for (let i = 0; i < 5; i++) assert.equal((await b.req('POST', '/api/auth/login', { username: 'clumsy', password: 'wrong-password-1!' })).statusCode, 401);
    const locked = await b.req('POST', '/api/auth/login', { username: 'clumsy', password: STRONG });
    assert.equal(locked.statusCode, 423);
    assert.match(locked.json().message, /locked/);
    const user = (await rt.accounts.repo.byUsername('clumsy'))!;
    await rt.accounts.unlock(OP, user.id);
    assert.equal((await b.req('POST', '/api/auth/login', { username: 'clumsy', password: STRONG })).json().status, 'ok');
  });

  test('facility administrators manage only their own facility; grant changes need the password again', async () => {
    await rt.accounts.create(OP, { username: 'fadmin', displayName: '施設 管理', password: STRONG, grants: [{ role: 'facility-admin', facilityId: hospitalA }] });
    const fa = new Browser(app);
    await fa.req('POST', '/api/auth/login', { username: 'fadmin', password: STRONG });
    await fa.req('POST', '/api/me/password', { currentPassword: STRONG, newPassword: `${STRONG}-new` });
    await fa.req('POST', '/api/me/agreement', { accept: true });
    const facilities = await fa.req('GET', '/api/admin/facilities');
    assert.deepEqual(facilities.json().map((f: { name: string }) => f.name), ['Hospital A']);
    const other = await fa.req('POST', '/api/admin/users', { username: 'spy', displayName: 'x', password: STRONG, grants: [{ role: 'technologist', facilityId: hospitalB }] });
    assert.equal(other.statusCode, 403);
    const provider = await fa.req('POST', '/api/admin/users', { username: 'spy2', displayName: 'x', password: STRONG, grants: [{ role: 'radiologist', facilityId: null }] });
    assert.equal(provider.statusCode, 403);
    const own = await fa.req('POST', '/api/admin/users', { username: 'tech2', displayName: '技師 二郎', password: STRONG, grants: [{ role: 'technologist', facilityId: hospitalA }] });
    assert.equal(own.statusCode, 201);
    const visible = (await fa.req('GET', '/api/admin/users')).json().map((u: { username: string }) => u.username).sort();
    assert.deepEqual(visible, ['fadmin', 'tech1', 'tech2'], 'only users of Hospital A');
    const id = own.json().id;
    const noReauth = await fa.req('PUT', `/api/admin/users/${id}/grants`, { grants: [{ role: 'attending-physician', facilityId: hospitalA }], reauthPassword: 'wrong' });
    assert.equal(noReauth.statusCode, 403);
    const ok = await fa.req('PUT', `/api/admin/users/${id}/grants`, { grants: [{ role: 'attending-physician', facilityId: hospitalA }], reauthPassword: `${STRONG}-new` });
    assert.equal(ok.statusCode, 200);
  });

  test('an API token works until it is revoked; one revoked in the database stops within its row lifetime', async () => {
    const { id, token } = await rt.tokens.create(OP, { facilityId: hospitalA, name: 'viewer', scopes: ['dicomweb:read'] });
    const ask = () => app.inject({ method: 'GET', url: '/dicomweb/studies', headers: { authorization: `Bearer ${token}` } });
    const served = (status: number) => status === 200 || status === 204;
    assert.ok(served((await ask()).statusCode));
    assert.ok(served((await ask()).statusCode), 'the kept row still lets it in');
    const wrong = `${token.slice(0, -4)}AAAA`;
    assert.equal((await app.inject({ method: 'GET', url: '/dicomweb/studies', headers: { authorization: `Bearer ${wrong}` } })).statusCode, 401, 'a kept row does not spare the secret check');
    await rt.tokens.revoke(OP, id);
    assert.equal((await ask()).statusCode, 401, 'revoked through the service: refused at once');

    const tokens = new TokenService(rt.db.kysely, async () => true, 50);
    const second = await tokens.create(OP, { facilityId: hospitalA, name: 'ris', scopes: ['dicomweb:read'] });
    assert.ok(await tokens.authenticate(second.token, '127.0.0.1'));
    await rt.db.kysely.updateTable('api_tokens').set({ revoked_at: new Date().toISOString() }).where('id', '=', second.id).execute();
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await tokens.authenticate(second.token, '127.0.0.1'), undefined, 'revoked by other means: refused once the row is read again');
  });

  test('an administrator can revoke a user\'s sessions', async () => {
    const user = new Browser(app);
    await user.req('POST', '/api/auth/login', { username: 'clumsy', password: STRONG });
    assert.equal((await user.req('GET', '/api/session')).statusCode, 200);
    const admin = new Browser(app);
    await admin.req('POST', '/api/auth/login', { username: 'admin', password: STRONG });
    const id = (await rt.accounts.repo.byUsername('clumsy'))!.id;
    assert.equal((await admin.req('POST', `/api/admin/users/${id}/revoke-sessions`, {})).statusCode, 200);
    assert.equal((await user.req('GET', '/api/session')).statusCode, 401);
  });

  test('sessions end after the idle timeout and the absolute timeout; lockouts back off', async () => {
    let now = new Date('2026-11-25T00:00:00Z');
    const auth = new AuthService(new AccountRepository(rt.db.kysely), rt.accounts, SecretBox.open(rt.config.dataDir), async () => undefined, undefined, () => now);
    const client = { address: '127.0.0.1', userAgent: 'test' };
    await rt.accounts.create(OP, { username: 'sleepy', displayName: '眠い', password: STRONG, grants: [{ role: 'auditor', facilityId: null }] });
    const { cookie } = await auth.login('sleepy', STRONG, client);
    now = new Date(now.getTime() + 29 * 60_000);
    assert.ok(await auth.session(cookie, client), 'alive after 29 idle minutes');
    now = new Date(now.getTime() + 31 * 60_000);
    assert.equal(await auth.session(cookie, client), undefined, 'ended after 31 idle minutes');

    const second = (await auth.login('sleepy', STRONG, client)).cookie;
    for (let h = 1; h <= 11; h++) {
      now = new Date(now.getTime() + 25 * 60_000);
      assert.ok(await auth.session(second, client));
    }
    now = new Date(now.getTime() + 2 * 3600_000);
    assert.equal(await auth.session(second, client), undefined, 'ended at the absolute limit even when active');

    for (let i = 0; i < 5; i++) await auth.login('sleepy', 'wrong-password-1!', client).catch(() => undefined);
    await assert.rejects(auth.login('sleepy', STRONG, client), LockedError);
    now = new Date(now.getTime() + 61_000);
    for (let i = 0; i < 5; i++) await auth.login('sleepy', 'wrong-password-1!', client).catch(() => undefined);
    now = new Date(now.getTime() + 61_000);
    await assert.rejects(auth.login('sleepy', STRONG, client), (e: unknown) => e instanceof LockedError && e.retryAfterSeconds > 50, 'second lockout lasts twice as long');
  });
});

describe('security alerts (S11)', { concurrency: false }, () => {
  test('a burst of failed logins and repeated out-of-scope requests raise alerts administrators see', async () => {
    const rt = await testRuntime();
    const app = await buildApp(rt);
    try {
      const a = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
      await rt.accounts.create(OP, { username: 'sysadmin', displayName: 'admin', password: STRONG, grants: [{ role: 'system-admin', facilityId: null }] });
      await rt.accounts.create(OP, { username: 'nosy', displayName: 'nosy', password: STRONG, grants: [{ role: 'technologist', facilityId: a }] });
      const attacker = new Browser(app, '198.51.100.9');
      for (let i = 0; i < 10; i++) await attacker.req('POST', '/api/auth/login', { username: `guess${i}`, password: 'Password-123!' });

      const nosy = new Browser(app);
      await nosy.req('POST', '/api/auth/login', { username: 'nosy', password: STRONG });
      await nosy.req('POST', '/api/me/password', { currentPassword: STRONG, newPassword: `${STRONG}-2` });
      await nosy.req('POST', '/api/me/agreement', { accept: true });
      for (let i = 0; i < 3; i++) assert.equal((await nosy.req('GET', '/api/admin/users')).statusCode, 403);
      assert.equal((await nosy.req('GET', '/api/alerts')).statusCode, 403, 'technologists do not see alerts');

      const admin = new Browser(app);
      await admin.req('POST', '/api/auth/login', { username: 'sysadmin', password: STRONG });
      await admin.req('POST', '/api/me/password', { currentPassword: STRONG, newPassword: `${STRONG}-2` });
      await admin.req('POST', '/api/me/agreement', { accept: true });
      const alerts = (await admin.req('GET', '/api/alerts')).json() as Array<{ id: string; kind: string; message: string; acknowledged: boolean }>;
      assert.deepEqual(alerts.map((x) => x.kind).sort(), ['failed-logins', 'out-of-scope']);
      assert.match(alerts.find((x) => x.kind === 'failed-logins')!.message, /10 failed logins within 5 minutes/);
      const ack = await admin.req('POST', `/api/alerts/${alerts[0]!.id}/ack`, {});
      assert.equal(ack.statusCode, 200);
      assert.equal(((await admin.req('GET', '/api/alerts')).json() as Array<{ acknowledged: boolean }>).filter((x) => x.acknowledged).length, 1);
    } finally {
      await app.close();
      await rt.cleanup();
    }
  });
});

describe('audit of security events', { concurrency: false }, () => {
  test('logins, failures and account changes are in the audit trail, which only auditors can search', async () => {
    const rt = await testRuntime();
    const app = await buildApp(rt);
    try {
      await rt.accounts.create(OP, { username: 'boss', displayName: 'boss', password: STRONG, grants: [{ role: 'system-admin', facilityId: null }], mustChangePassword: false });
      await rt.accounts.create(OP, { username: 'kansa', displayName: '監査 担当', password: STRONG, grants: [{ role: 'auditor', facilityId: null }], mustChangePassword: false });
      const boss = new Browser(app);
      await boss.req('POST', '/api/auth/login', { username: 'boss', password: 'wrong-Password-1' });
      await boss.req('POST', '/api/auth/login', { username: 'boss', password: STRONG });
      await boss.req('POST', '/api/me/agreement', { accept: true });
      assert.equal((await boss.req('GET', '/api/audit')).statusCode, 403, 'administrators do not read the audit trail');

      const auditor = new Browser(app);
      await auditor.req('POST', '/api/auth/login', { username: 'kansa', password: STRONG });
      await auditor.req('POST', '/api/me/agreement', { accept: true });
      const page = (await auditor.req('GET', '/api/audit?action=auth.*&limit=50')).json() as { total: number; entries: Array<{ action: string; outcome: string; actorName: string }> };
      const logins = page.entries.filter((e) => e.action === 'auth.login' && e.actorName === 'boss').map((e) => e.outcome);
      assert.deepEqual(logins.sort(), ['failure', 'success']);
      const created = (await auditor.req('GET', '/api/audit?action=user.create')).json() as { total: number };
      assert.equal(created.total, 2);
      const refused = await auditor.req('GET', '/api/audit/fhir?action=auth.login');
      assert.equal(refused.statusCode, 403, 'an export needs the password again');
      assert.match(refused.json().message, /password again/);
      assert.equal((await auditor.req('POST', '/api/me/reauth', { password: 'not-it' })).statusCode, 403);
      assert.equal((await auditor.req('POST', '/api/me/reauth', { password: STRONG })).statusCode, 200);
      const fhir = await auditor.req('GET', '/api/audit/fhir?action=auth.login');
      assert.match(String(fhir.headers['content-type']), /application\/fhir\+json/);
      const bundle = fhir.json() as { resourceType: string; entry: Array<{ resource: { resourceType: string } }> };
      assert.equal(bundle.resourceType, 'Bundle');
      assert.ok(bundle.entry.length >= 2 && bundle.entry.every((e) => e.resource.resourceType === 'AuditEvent'));
      assert.equal((await rt.audit.verify()).ok, true);
    } finally {
      await app.close();
      await rt.cleanup();
    }
  });
});
