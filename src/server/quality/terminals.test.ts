/**
 * Reading terminals and monitor QC through HTTP and the service: registration and its
 * validation, who sees which terminal, the daily check counted per day in Asia/Tokyo,
 * constancy tests judged and stored with their numbers, blocking, the session's terminal and
 * its display profile applied to rendered images (PS3.14 GSDF), and the test patterns.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import type { ConstancyResult, DailyCheck, QcPatternInfo, ReadingTerminal, SessionTerminal, TerminalStatus } from '../../shared/api.ts';
import { generateSeries, type SyntheticInstance } from '../archive/dicom/synthetic.ts';
import { OP, call, signedIn, stow, type TestUser } from '../reading/test-support.ts';
import { gammaLut, gsdfLut, jndOfLuminance, luminanceOfJnd } from './gsdf.ts';
import { patternNames, renderPattern } from './patterns.ts';
import { TerminalService } from './service.ts';
import { DEFAULT_TERMS } from '../orders/index.ts';

const DAILY_OK = {
  pattern: 'TG18-QC',
  items: { 'patch-5pct': true, 'patch-95pct': true, 'grey-steps': true, 'low-contrast': true, 'line-pairs': true, ramps: true, 'no-artefacts': true, uniformity: true },
};
const terminal = (over: Record<string, unknown> = {}) => ({
  name: 'Reading room 1',
  location: 'Room 1',
  displayModel: 'MD-21',
  displaySerial: 'SN-1',
  grade: '1B',
  lmax: 400,
  lmin: 0.8,
  lamb: 0.2,
  acceptanceTestedOn: '2025-04-01',
  facilityId: null,
  ...over,
});

/** TG18-LN-like readings (18 levels) of a display that follows the GSDF exactly between L'min and L'max. */
function gsdfReadings(lmin: number, lmax: number, lamb: number): Array<{ ddl: number; luminance: number }> {
  const jLo = jndOfLuminance(lmin + lamb);
  const jHi = jndOfLuminance(lmax + lamb);
  return Array.from({ length: 18 }, (_, i) => {
    const ddl = Math.round((i * 255) / 17);
    return { ddl, luminance: luminanceOfJnd(jLo + (ddl / 255) * (jHi - jLo)) - lamb };
  });
}

const gray = async (png: Buffer) => sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });

describe('reading terminals and monitor QC', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let facilityA: string;
  let facilityB: string;
  let readToken: string;
  let mgmt: TestUser;
  let sysadmin: TestUser;
  let radiologist: TestUser;
  let attendingA: TestUser;
  let attendingB: TestUser;
  let techA: TestUser;
  let series: SyntheticInstance[];

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    facilityA = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    facilityB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    series = [...generateSeries({ modality: 'CT', count: 2, rows: 48, columns: 48, seed: 5 })];
    await stow(app, (await rt.tokens.create(OP, { facilityId: facilityA, name: 'pacs', scopes: ['dicomweb:write'] })).token, series.map((s) => s.bytes));
    readToken = (await rt.tokens.create(OP, { facilityId: facilityA, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    mgmt = await signedIn(rt, 'boss', 'management-physician', null);
    sysadmin = await signedIn(rt, 'admin', 'system-admin', null);
    radiologist = await signedIn(rt, 'rad', 'radiologist', null);
    attendingA = await signedIn(rt, 'attending-a', 'attending-physician', facilityA);
    attendingB = await signedIn(rt, 'attending-b', 'attending-physician', facilityB);
    techA = await signedIn(rt, 'tech-a', 'technologist', facilityA);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const register = async (over: Record<string, unknown> = {}, user = mgmt): Promise<ReadingTerminal> => {
    const res = await call(app, user, 'POST', '/api/terminals', terminal(over));
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as ReadingTerminal;
  };

  test('managers register terminals; impossible values are refused with the reason', async () => {
    const t = await register();
    assert.equal(t.grade, '1B');
    assert.deepEqual(t.native, { kind: 'gamma', gamma: 2.2 });
    assert.deepEqual(t.profile, { kind: 'gsdf', label: 'GSDF 0.8–400 cd/m² (ambient 0.2)' });
    assert.equal(t.requireDailyCheck, false);
    assert.equal(t.constancyIntervalMonths, 6);
    assert.equal(t.version, 1);
    assert.equal((await register({ facilityId: facilityA, name: 'A-1' }, sysadmin)).facilityName, 'Hospital A');

    const refused = async (over: Record<string, unknown>, why: RegExp) => {
      const res = await call(app, mgmt, 'POST', '/api/terminals', terminal(over));
      assert.equal(res.statusCode, 400, `${JSON.stringify(over)}: ${res.body}`);
      assert.match(res.json().message, why);
    };
    await refused({ lmax: 0.5 }, /lmax .* greater than lmin/);
    await refused({ grade: '3' }, /grade must be one of 1A, 1B, 2/);
    await refused({ lmin: -1 }, /lmin must be above 0/);
    await refused({ facilityId: 'nowhere' }, /no such facility/);
    await refused({ acceptanceTestedOn: '2999-01-01' }, /future/);
    await refused({ acceptanceTestedOn: '2025-02-30' }, /date/);
    await refused({ lmin: 0.01, lamb: 0 }, /below the GSDF range/);
    await refused({ native: { kind: 'measured', ddl: [0, 128], luminance: [0.8, 100] } }, /from DDL 0 to DDL 255/);
    await refused({ name: '' }, /name is required/);
    // Without a GSDF profile the low Lmin is acceptable (nothing is built from it).
    assert.equal((await call(app, mgmt, 'POST', '/api/terminals', terminal({ lmin: 0.01, lamb: 0, profile: 'none' }))).statusCode, 201);
    assert.equal((await call(app, radiologist, 'POST', '/api/terminals', terminal())).statusCode, 403);
    assert.equal((await call(app, techA, 'PUT', `/api/terminals/${t.id}`, { lmax: 300 })).statusCode, 403);
  });

  test('readers see the terminals of the facilities they read', async () => {
    const a = await register({ facilityId: facilityA, name: 'A-2' });
    const b = await register({ facilityId: facilityB, name: 'B-1' });
    const names = async (u: TestUser) => ((await call(app, u, 'GET', '/api/terminals')).json() as ReadingTerminal[]).map((t) => t.id);
    assert.ok((await names(attendingA)).includes(a.id));
    assert.ok(!(await names(attendingA)).includes(b.id));
    assert.ok((await names(radiologist)).includes(a.id) && (await names(radiologist)).includes(b.id), 'provider readers see every terminal');
    assert.equal((await call(app, attendingB, 'GET', `/api/terminals/${a.id}`)).statusCode, 404);
    assert.equal((await call(app, attendingB, 'PUT', '/api/me/terminal', { terminalId: a.id })).statusCode, 404);
  });

  test('the daily check is due every calendar day in Asia/Tokyo', async () => {
    const t = await register({ name: 'clock', requireDailyCheck: true });
    let clock = new Date('2025-06-01T14:59:00Z'); // 23:59 JST on June 1
    const service = new TerminalService({
      db: rt.db.kysely,
      audit: rt.audit,
      facilities: rt.facilities,
      sessions: { terminalOf: async () => t.id, bind: async () => undefined },
      now: () => clock,
    });
    const actor = { kind: 'user' as const, userId: radiologist.id, username: 'rad', grants: [{ role: 'radiologist', facilityId: null }], address: '127.0.0.1', sessionId: 'x' };
    let status = await service.status(actor, t.id);
    assert.deepEqual([status.today, status.daily.overdue, status.reading.allowed], ['2025-06-01', true, false]);
    assert.match(status.reading.blockers.join(), /has not been recorded today/);
    await assert.rejects(service.displayFor(actor, facilityA), (e: Error & { code?: string }) => e.code === 'locked');

    const check = await service.recordDailyCheck(actor, t.id, DAILY_OK);
    assert.deepEqual([check.checkedOn, check.passed], ['2025-06-01', true]);
    status = await service.status(actor, t.id);
    assert.deepEqual([status.daily.overdue, status.reading.allowed, status.daily.last?.id], [false, true, check.id]);
    assert.ok(await service.displayFor(actor, facilityA), 'a checked terminal calibrates');

    clock = new Date('2025-06-01T15:00:30Z'); // 00:00:30 JST on June 2, still June 1 in UTC
    status = await service.status(actor, t.id);
    assert.deepEqual([status.today, status.daily.overdue, status.reading.allowed], ['2025-06-02', true, false]);

    const failed = await service.recordDailyCheck(actor, t.id, { ...DAILY_OK, items: { ...DAILY_OK.items, 'patch-5pct': false }, note: 'dark patch not seen' });
    assert.equal(failed.passed, false);
    status = await service.status(actor, t.id);
    assert.deepEqual([status.daily.overdue, status.daily.failed, status.reading.allowed], [true, true, false]);
    assert.match(status.reading.blockers.join(), /found a problem/);
    await service.recordDailyCheck(actor, t.id, DAILY_OK);
    assert.equal((await service.status(actor, t.id)).reading.allowed, true, 'a passing check after the fix unblocks');

    // Without requireDailyCheck and without a contract that requires it, an overdue check only warns.
    const relaxed = await register({ name: 'relaxed' });
    const decision = await service.readingAllowed(actor, relaxed.id);
    assert.equal(decision.allowed, true);
    assert.match(decision.warnings.join(), /has not been recorded today/);
    assert.equal((await call(app, radiologist, 'POST', `/api/terminals/${t.id}/daily-checks`, { ...DAILY_OK, items: { ...DAILY_OK.items, extra: true } })).statusCode, 400);
    assert.equal((await call(app, radiologist, 'POST', `/api/terminals/${t.id}/daily-checks`, { pattern: 'TG18-QC', items: { 'patch-5pct': true } })).statusCode, 400);
  });

  test('constancy tests are judged against the grade and kept with their numbers', async () => {
    const t = await register({ facilityId: facilityA, name: 'A-const', grade: '1B', lmax: 400, lmin: 0.8, lamb: 0.2 });
    const url = `/api/terminals/${t.id}/constancy`;
    const good = await call(app, techA, 'POST', url, { lmax: 390, lmin: 0.8, lamb: 0.2, readings: gsdfReadings(0.8, 390, 0.2), testedOn: '2025-10-01', note: 'photometer X' });
    assert.equal(good.statusCode, 201, good.body);
    const g = good.json() as ConstancyResult;
    assert.equal(g.passed, true);
    assert.ok(g.contrastDeviation < 0.01, `κδ ${g.contrastDeviation}`);
    assert.ok(Math.abs(g.luminanceRatio - 390.2 / 1.0) < 1e-9);
    assert.deepEqual(g.items.map((i) => [i.item, i.pass]), [['lmax', true], ['luminance-ratio', true], ['contrast-response', true], ['lmax-change', true]]);
    assert.equal(g.nextDueOn, '2026-04-01');
    assert.equal(g.readings.length, 18);

    // A display dimmed to 150 cd/m² fails grade 1B's 170 cd/m², its ratio, and the ±10 % change.
    const bad = (await call(app, mgmt, 'POST', url, { lmax: 150, lmin: 1, lamb: 0.2, readings: gsdfReadings(1, 150, 0.2), testedOn: '2025-10-02' })).json() as ConstancyResult;
    assert.equal(bad.passed, false);
    assert.deepEqual(bad.items.filter((i) => !i.pass).map((i) => i.item), ['lmax', 'luminance-ratio', 'lmax-change']);
    assert.match(bad.items[0]!.reason, /below the grade 1B minimum of 170/);

    const stored = (await call(app, attendingA, 'GET', url)).json() as ConstancyResult[];
    assert.deepEqual(stored.map((c) => c.id), [bad.id, g.id], 'newest first');
    assert.deepEqual(stored[1]!.readings, g.readings);
    assert.equal(stored[1]!.lmax, 390);
    const status = (await call(app, attendingA, 'GET', `/api/terminals/${t.id}/status`)).json() as TerminalStatus;
    assert.equal(status.constancy.last?.id, bad.id);
    assert.equal(status.constancy.dueOn, '2026-04-02');
    assert.match(status.reading.warnings.join(), /did not meet grade 1B/);

    assert.equal((await call(app, attendingA, 'POST', url, { lmax: 390, lmin: 0.8, lamb: 0.2, readings: gsdfReadings(0.8, 390, 0.2) })).statusCode, 403);
    assert.equal((await call(app, mgmt, 'POST', url, { lmax: 390, lmin: 0.8, lamb: 0.2, readings: [{ ddl: 0, luminance: 1 }, { ddl: 0, luminance: 2 }, { ddl: 255, luminance: 300 }] })).statusCode, 400, 'a level read twice');
  });

  test('the session\'s terminal calibrates rendered images with its profile', async () => {
    const t = await register({ name: 'gsdf-home' });
    const i = series[1]!;
    const url = `/dicomweb/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}/rendered`;
    const asUser = (u: TestUser) => app.inject({ method: 'GET', url, headers: { cookie: `enkaku_session=${u.cookie}`, accept: 'image/png' } });
    const plain = await gray((await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${readToken}`, accept: 'image/png' } })).rawPayload);

    // Without a contract that requires the daily check, an unchecked terminal only warns.
    assert.equal((await asUser(radiologist)).statusCode, 200, 'no contract requires the check: reading goes on');
    // Once the facility's contract requires it, the provider's reader is blocked until it is done.
    await rt.contracts.set(OP, facilityA, { ...DEFAULT_TERMS, contactLadder: [{ name: '放射線科当直', role: '当直医', phone: '03-1111-2222', hours: '24時間' }], optOutNotice: '画像は遠隔読影のため外部に保存されます。', monitorCheckRequired: true });
    const blocked = await asUser(radiologist);
    assert.equal(blocked.statusCode, 423);
    assert.match(blocked.json().message, /no reading terminal is chosen/);
    const bound = await call(app, radiologist, 'PUT', '/api/me/terminal', { terminalId: t.id });
    assert.equal(bound.statusCode, 200, bound.body);
    assert.equal((bound.json() as SessionTerminal).profile?.kind, 'gsdf');
    assert.equal((await asUser(radiologist)).statusCode, 423, 'bound but not checked today');
    assert.equal((await call(app, radiologist, 'POST', `/api/terminals/${t.id}/daily-checks`, DAILY_OK)).statusCode, 201);

    const res = await asUser(radiologist);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(decodeURIComponent(String(res.headers['x-enkaku-display-profile'])), 'GSDF 0.8–400 cd/m² (ambient 0.2)');
    const calibrated = await gray(res.rawPayload);
    const lut = gsdfLut({ lmin: 0.8, lmax: 400, ambient: 0.2, native: { kind: 'gamma', gamma: 2.2 } });
    assert.deepEqual([...calibrated.data], [...plain.data].map((p) => lut[p]), 'every pixel is lut[pixel rendered without a terminal]');
    assert.ok(!calibrated.data.equals(plain.data));

    assert.equal((await call(app, mgmt, 'PUT', `/api/terminals/${t.id}/profile`, { profile: 'gamma22' })).statusCode, 200);
    const gamma = await asUser(radiologist);
    assert.equal(decodeURIComponent(String(gamma.headers['x-enkaku-display-profile'])), 'Gamma 2.2 compensation');
    const g22 = gammaLut(2.2);
    assert.deepEqual([...(await gray(gamma.rawPayload)).data], [...plain.data].map((p) => g22[p]), 'a new profile takes effect at once');

    assert.equal((await call(app, mgmt, 'PUT', `/api/terminals/${t.id}/profile`, { profile: 'none' })).statusCode, 200);
    const none = await asUser(radiologist);
    assert.match(decodeURIComponent(String(none.headers['x-enkaku-display-profile'])), /^None/);
    assert.ok((await gray(none.rawPayload)).data.equals(plain.data));
    assert.equal((await call(app, mgmt, 'PUT', `/api/terminals/${t.id}/profile`, { profile: 'sepia' })).statusCode, 400);

    const mine = (await call(app, radiologist, 'GET', '/api/me/terminal')).json() as SessionTerminal;
    assert.deepEqual([mine.terminal?.id, mine.status?.daily.overdue, mine.status?.reading.allowed], [t.id, false, true]);
    // Facility systems never get a LUT.
    const tokenRes = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${readToken}`, accept: 'image/png' } });
    assert.equal(tokenRes.headers['x-enkaku-display-profile'], undefined);
    assert.equal((await call(app, radiologist, 'PUT', '/api/me/terminal', { terminalId: null })).statusCode, 200);
    assert.deepEqual((await call(app, radiologist, 'GET', '/api/me/terminal')).json(), { terminal: null, profile: null, status: null });
  });

  test('a terminal that requires the daily check blocks its facility\'s own staff too; a retired one cannot be chosen', async () => {
    const t = await register({ facilityId: facilityA, name: 'A-strict', requireDailyCheck: true });
    const study = series[0]!.studyInstanceUid;
    // Without the terminal the facility's staff read (the contract binds the provider's readers only).
    assert.equal((await call(app, attendingA, 'POST', '/api/viewer/sessions', { studyUid: study })).statusCode, 201);
    assert.equal((await call(app, attendingA, 'PUT', '/api/me/terminal', { terminalId: t.id })).statusCode, 200);
    const refused = await call(app, attendingA, 'POST', '/api/viewer/sessions', { studyUid: study });
    assert.equal(refused.statusCode, 423);
    assert.match(refused.json().message, /A-strict/);
    const failures = (await rt.audit.search(OP, { action: 'study.view', outcome: 'failure', limit: 10 })).records;
    assert.equal(failures.length, 1, 'the refused opening is audited');
    await call(app, attendingA, 'POST', `/api/terminals/${t.id}/daily-checks`, DAILY_OK);
    const opened = await call(app, attendingA, 'POST', '/api/viewer/sessions', { studyUid: study });
    assert.equal(opened.statusCode, 201);
    assert.deepEqual([opened.json().terminalId, opened.json().terminalName, opened.json().profile.kind], [t.id, 'A-strict', 'gsdf']);
    const audited = (await rt.audit.search(OP, { action: 'study.view', outcome: 'success', limit: 10 })).records.find((r) => r.details.viewerSession === opened.json().id);
    assert.equal(audited?.details.terminal, t.id);

    assert.equal((await call(app, mgmt, 'PUT', `/api/terminals/${t.id}`, { active: false })).statusCode, 200);
    assert.equal((await call(app, attendingA, 'PUT', '/api/me/terminal', { terminalId: t.id })).statusCode, 409);
    assert.equal(((await call(app, attendingA, 'GET', '/api/me/terminal')).json() as SessionTerminal).terminal, null);
    const checks = (await call(app, attendingA, 'GET', `/api/terminals/${t.id}/daily-checks`)).json() as DailyCheck[];
    assert.equal(checks.length, 1, 'the history of a retired terminal stays');
  });

  test('the test patterns are served pixel-exact, uncached, and through the session\'s calibration on request', async () => {
    const list = (await call(app, attendingA, 'GET', '/api/qc/patterns')).json() as QcPatternInfo[];
    assert.deepEqual(list.map((p) => [p.name, p.width, p.height]), patternNames.map((n) => [n, 1024, 1024]));
    assert.equal(list[0]!.regions.length, renderPattern('TG18-QC').regions.length);
    for (const name of patternNames) {
      const res = await call(app, attendingA, 'GET', `/api/qc/patterns/${name}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.rawPayload[25], 0, `${name}: PNG colour type 0, one-channel gray`);
      const { data } = await gray(res.rawPayload);
      assert.ok(data.equals(Buffer.from(renderPattern(name).pixels)), `${name} pixel for pixel`);
    }
    assert.equal((await call(app, attendingA, 'GET', '/api/qc/patterns/TG18-XX')).statusCode, 404);
    assert.equal((await call(app, undefined, 'GET', '/api/qc/patterns/SMPTE')).statusCode, 401);

    const t = await register({ facilityId: facilityA, name: 'A-pattern' });
    await call(app, techA, 'PUT', '/api/me/terminal', { terminalId: t.id });
    const res = await call(app, techA, 'GET', '/api/qc/patterns/SMPTE?calibrated=1');
    const lut = gsdfLut({ lmin: 0.8, lmax: 400, ambient: 0.2 });
    const { data } = await gray(res.rawPayload);
    assert.deepEqual([...data], [...renderPattern('SMPTE').pixels].map((p) => lut[p]));
    assert.match(decodeURIComponent(String(res.headers['x-enkaku-display-profile'])), /^GSDF/);
  });
});
