/**
 * Critical findings end to end in Chromium (issue 8, C1/C2): a reader raises a critical
 * finding from the report editor beside the viewer; the attending physician, logged in on
 * another page in another browser, sees the alert arrive (colour, sound, facility, deadline
 * countdown); nobody acknowledges, so at its deadline the notice escalates to the next
 * contact of the facility's ladder (the duty physician's screen gets the escalated alert and
 * the attending's alert shows the escalation); the reader logs a telephone call with its
 * read-back; the attending acknowledges from the alert; the study's findings under the report
 * show the whole record, and the management physician sees the figures and charts.
 *
 * Deadlines: the acknowledgement minutes per ladder step come from the findings settings
 * (server-wide ENKAKU_FINDINGS_CRITICAL_MINUTES, or a facility's own value through
 * `PUT /api/findings/settings/:facilityId`); both take whole minutes, so the shortest is 1.
 * Screenshots go to `test-artifacts/findings/` (or `$ENKAKU_E2E_SHOTS`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SAMPLE_PATIENTS, writeSeries } from '../../src/server/archive/dicom/synthetic.ts';
import { createRuntime } from '../../src/server/runtime.ts';
import { createLogger } from '../../src/server/platform/log.ts';
import type { FindingView } from '../../src/shared/findings.ts';
import { STRICT, childEnv, freePort, startServer, testConfig, type ServerProcess } from '../helpers.ts';
import { CHROMIUM, addUser, dicomFiles, enkakuCli, firstLogin, launchChromium, stow } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHOTS = path.join(process.env.ENKAKU_E2E_SHOTS ?? path.join(ROOT, 'test-artifacts'), 'findings');
const PW = 'Correct-Horse-9-Battery';
const FACILITY = '山田記念病院';
const ACCESSION = 'ACC-FND-001';
const OPERATOR = { kind: 'system', name: 'e2e' } as const;
const MESSAGE = '右緊張性気胸。直ちに胸腔ドレナージを検討してください。';
const ATTENDING = '佐藤 花子';
const DUTY = '田中 次郎';
const DUTY_PHONE = '03-1234-2222';
/** The shortest deadline the settings take: one minute per ladder step. */
const CRITICAL_MINUTES = 1;

describe('critical finding in Chromium: raise, alert, escalation, telephone, acknowledgement, record', { concurrency: false, timeout: 420_000 }, () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  let skipReason = '';
  let base = '';
  let studyUid = '';
  let findingId = '';
  let raisedAt = 0;
  let reader: Page;
  let attending: Page;
  let duty: Page;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-findings-e2e-'));
  const initial: Record<string, string> = {};

  const newPage = async (): Promise<Page> => {
    const context = await browser!.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    return page;
  };
  const alertOf = (page: Page) => page.locator(`[data-testid=finding-alert][data-finding-id="${findingId}"]`);

  before(async () => {
    if (!CHROMIUM) {
      if (STRICT) throw new Error('strict mode: chromium not installed (apt-get install chromium)');
      skipReason = 'chromium not installed (apt-get install chromium)';
      return;
    }
    fs.mkdirSync(SHOTS, { recursive: true });
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
    assert.equal(built.status, 0, 'web build');
    const t = testConfig();
    cleanup = t.cleanup;
    t.config.http.port = await freePort();
    t.config.dicom.port = await freePort();
    t.config.hl7.port = await freePort();
    const env = childEnv(t.config, { ENKAKU_JOBS_POLL_MS: '200', ENKAKU_FINDINGS_CRITICAL_MINUTES: String(CRITICAL_MINUTES) });
    enkakuCli(env, ['facility', 'add', '--name', FACILITY, '--aet', 'YAMADA']);
    const token = enkakuCli(env, ['token', 'create', '--facility', FACILITY, '--scope', 'dicomweb:write']).trim().split('\n').pop()!.trim();
    initial.reader = addUser(env, 'dr-suzuki', '鈴木 一郎', ['radiologist']);
    initial.manager = addUser(env, 'dr-kanri', '管理 太郎', ['management-physician']);
    const attendingOut = enkakuCli(env, ['user', 'add', '--username', 'dr-sato', '--name', ATTENDING, '--role', 'attending-physician', '--facility', FACILITY]);
    initial.attending = /initial password[^:]*: (\S+)/.exec(attendingOut)![1]!;
    // The facility's duty physician: an Enkaku user of the facility whose name is on the contract's ladder.
    const dutyOut = enkakuCli(env, ['user', 'add', '--username', 'dr-tanaka', '--name', DUTY, '--role', 'radiologist', '--facility', FACILITY]);
    initial.duty = /initial password[^:]*: (\S+)/.exec(dutyOut)![1]!;

    const rt = await createRuntime(t.config, createLogger('silent'));
    try {
      const facilityId = (await rt.facilities.byName(FACILITY))!.id;
      await rt.contracts.set(OPERATOR, facilityId, {
        scope: { modalities: ['CT'], bodyParts: [] },
        dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
        retentionDays: 365,
        contactLadder: [{ name: DUTY, role: '当直医', phone: DUTY_PHONE, hours: '24時間' }],
        delivery: { route: 'manual', transcriptionConfirmer: '医療情報室 山本' },
        onwardSharing: false,
        monitorCheckRequired: false,
        optOutNotice: '当院は読影のため画像を外部の読影施設に保存します。',
      });
      const readerId = (await rt.accounts.repo.byUsername('dr-suzuki'))!.id;
      await rt.credentials.recordLicence(OPERATOR, readerId, { kind: 'jp-medical', number: '345678', country: 'JP', evidence: '医籍登録 確認済み' });
      await rt.credentials.recordCertification(OPERATOR, readerId, { kind: 'diagnostic-radiology-specialist', number: 'R-1001', issuedOn: '2020-04-01', expiresOn: '2099-03-31', evidence: '専門医証' });
      const p = SAMPLE_PATIENTS[0]!;
      await rt.orders.receive(OPERATOR, {
        facilityId,
        accessionNumber: ACCESSION,
        control: 'new',
        modality: 'CT',
        bodyPart: '胸部',
        procedureText: '胸部単純CT',
        clinicalNotes: '',
        requester: { name: ATTENDING, department: '救急科' },
        source: 'hl7',
        patient: { patientId: p.id, issuer: p.issuer ?? '', name: { alphabetic: p.name.alphabetic, ideographic: p.name.ideographic ?? '', phonetic: p.name.phonetic ?? '' }, sex: p.sex, birthDate: p.birthDate },
        placerOrderNumber: 'ORD-FND-1',
        messageId: 'E2E-FND-1',
        priority: 'stat',
        jj1017: '',
        reason: '呼吸困難',
        contrast: false,
        requestedAt: new Date().toISOString(),
      });
    } finally {
      await rt.close();
    }

    const current = await writeSeries(path.join(tmp, 'current'), { modality: 'CT', count: 12, rows: 256, columns: 256, patient: SAMPLE_PATIENTS[0]!, seed: 31, studyDate: '20261120', studyDescription: '胸部CT', accessionNumber: ACCESSION });
    studyUid = current.studyInstanceUid;
    server = await startServer(env, /Facilities:/);
    base = `http://127.0.0.1:${t.config.http.port}`;
    await stow(base, token, await dicomFiles(path.join(tmp, 'current')));
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    await cleanup?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the recipients are logged in on other pages; the reader opens the study and starts the report', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const login = await newPage();
    await firstLogin(login, base, 'dr-sato', initial.attending!, PW);
    // Another tab of the same session, never clicked: the browser blocks sound until a gesture.
    attending = await login.context().newPage();
    attending.setDefaultTimeout(20_000);
    await login.close();
    await attending.bringToFront();
    await attending.goto(`${base}/reports`);
    // Playwright's own evaluations count as user gestures: let the screen mount before any.
    await attending.waitForTimeout(2000);
    await attending.locator('[data-testid=finding-alerts][data-live=live]').waitFor({ state: 'attached' });

    duty = await newPage();
    await firstLogin(duty, base, 'dr-tanaka', initial.duty!, PW);
    await duty.goto(`${base}/findings`);
    await duty.locator('[data-testid=finding-alerts][data-live=live]').waitFor({ state: 'attached' });

    reader = await newPage();
    await firstLogin(reader, base, 'dr-suzuki', initial.reader!, PW);
    await reader.goto(`${base}/worklist`);
    await reader.getByTestId('worklist-filter-accession').fill(ACCESSION);
    await reader.getByTestId('worklist-apply').click();
    const row = reader.getByTestId('worklist-row').first();
    await row.getByTestId('worklist-claim').click();
    await row.getByTestId('worklist-release').waitFor();
    await row.getByTestId('worklist-open').click();
    await reader.waitForURL(/\/viewer\/studies\//);
    await reader.getByTestId('report-panel').waitFor();
    await reader.getByTestId('report-start').click();
    await reader.getByTestId('report-findings').waitFor();
    await reader.getByTestId('study-findings-empty').waitFor();
  });

  test('the reader raises a critical finding from the report editor, and the attending physician sees the alert arrive', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await reader.getByTestId('finding-raise-open').click();
    await reader.getByTestId('finding-raise-category').selectOption('critical');
    await reader.getByTestId('finding-raise-message').fill(MESSAGE);
    await reader.screenshot({ path: path.join(SHOTS, '01-reader-raise-form.png') });
    raisedAt = Date.now();
    await reader.getByTestId('finding-raise-submit').click();
    await reader.getByTestId('finding-raise-done').waitFor();
    const item = reader.locator('[data-testid=study-finding][data-category=critical][data-status=open]');
    await item.waitFor();
    findingId = (await item.getAttribute('data-finding-id'))!;
    assert.ok(findingId);

    // The attending physician's screen, on another page in another browser context.
    const alert = alertOf(attending);
    await alert.waitFor({ timeout: 10_000 });
    const arrivedMs = Date.now() - raisedAt;
    t.diagnostic(`alert on the attending's screen ${arrivedMs} ms after the raise was clicked`);
    assert.equal(await alert.getAttribute('data-category'), 'critical');
    assert.equal(await alert.getAttribute('data-type'), 'raised');
    assert.match((await alert.getByTestId('finding-alert-facility').textContent()) ?? '', /山田記念病院/);
    const deadline = alert.getByTestId('finding-alert-deadline');
    assert.match((await deadline.textContent()) ?? '', /残り/);
    assert.equal(await deadline.getAttribute('data-overdue'), 'false');
    // No patient data in the alert, and not the reader's message either (the event carries neither).
    const text = (await alert.textContent()) ?? '';
    const patient = SAMPLE_PATIENTS[0]!;
    for (const phi of [patient.name.alphabetic, patient.name.ideographic ?? '', patient.id, MESSAGE].filter(Boolean)) assert.ok(!text.includes(phi), `the alert shows no ${phi}`);

    // Sound: the tab had no gesture since it was opened, so the alert offers to enable it
    // (Chromium may still count an earlier click on the site: then the tone has played).
    // Once the finding is fetched the alert also names the contacts (its layout is settled).
    await attending.locator(`[data-testid=finding-alert][data-finding-id="${findingId}"][data-step="0"]`).waitFor();
    assert.match((await alert.getByTestId('finding-alert-contacts').textContent()) ?? '', new RegExp(ATTENDING));
    const sound = await alert.getAttribute('data-sound');
    assert.ok(sound === 'blocked' || sound === 'played', `data-sound ${sound}`);
    if (sound === 'blocked') {
      await alert.getByTestId('finding-alert-sound-blocked').waitFor();
      await attending.screenshot({ path: path.join(SHOTS, '02-attending-alert-sound-blocked.png') });
      await alert.getByTestId('finding-alert-enable-sound').click();
    }
    else t.diagnostic('the browser let the page play sound without a new gesture');
    await attending.locator(`[data-testid=finding-alert][data-finding-id="${findingId}"][data-sound=played]`).waitFor();
    assert.equal(await attending.getByTestId('finding-alerts').getAttribute('data-audio'), 'ready');
    // Critical is red (checked after the sound: Playwright's evaluate counts as a user gesture).
    const bg = await alert.evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor as string);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    assert.ok(r! > 150 && g! < 100 && b! < 100, `critical alert is red, got ${bg}`);
    await attending.screenshot({ path: path.join(SHOTS, '03-attending-alert.png') });

    // The next contact is not told yet, and the reader gets no alert for what they sent.
    assert.equal(await alertOf(duty).count(), 0, 'the duty physician is step 2: not yet notified');
    await reader.waitForTimeout(500);
    assert.equal(await alertOf(reader).count(), 0, 'no alert on the raising reader\'s own screen');
  });

  test('nobody acknowledges: at the deadline the notice escalates to the next contact', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const escalated = duty.locator(`[data-testid=finding-alert][data-finding-id="${findingId}"][data-type=escalated]`);
    const escalatedLoaded = duty.locator(`[data-testid=finding-alert][data-finding-id="${findingId}"][data-type=escalated][data-step="1"]`);
    await escalated.waitFor({ timeout: CRITICAL_MINUTES * 60_000 + 30_000 });
    const after = (Date.now() - raisedAt) / 1000;
    t.diagnostic(`escalated ${after.toFixed(1)} s after the raise (deadline ${CRITICAL_MINUTES * 60} s)`);
    assert.ok(after >= CRITICAL_MINUTES * 60 - 2, 'not before the deadline');
    await escalatedLoaded.waitFor();
    assert.match((await escalated.getByTestId('finding-alert-escalation').textContent()) ?? '', new RegExp(`第2段階.*${DUTY}`));
    assert.equal(await escalated.getByTestId('finding-alert-ack').count(), 1, 'the next contact may acknowledge');
    await duty.screenshot({ path: path.join(SHOTS, '04-duty-escalated-alert.png') });

    // The attending physician's alert shows the escalation to the next contact too.
    const attendingAlert = attending.locator(`[data-testid=finding-alert][data-finding-id="${findingId}"][data-escalations="1"]`);
    await attendingAlert.waitFor({ timeout: 20_000 });
    assert.equal(await attendingAlert.getAttribute('data-type'), 'escalated');
    assert.match((await attendingAlert.getByTestId('finding-alert-escalation').textContent()) ?? '', new RegExp(`第2段階.*${DUTY}`));
    await attending.screenshot({ path: path.join(SHOTS, '05-attending-alert-escalated.png') });

    // The reader who raised it is told of the escalation (time to telephone), without an acknowledge button.
    const readerAlert = alertOf(reader);
    await readerAlert.waitFor();
    await readerAlert.getByTestId('finding-alert-own').waitFor();
    assert.equal(await readerAlert.getByTestId('finding-alert-ack').count(), 0);
    await reader.screenshot({ path: path.join(SHOTS, '06-reader-escalation-alert.png') });
  });

  test('the reader telephones the duty physician and logs the call with its read-back', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const viewerUrl = reader.url();
    await alertOf(reader).getByTestId('finding-alert-open').click();
    await reader.waitForURL(/\/findings\/[^/]+$/);
    const card = reader.locator(`[data-testid=finding-card][data-finding-id="${findingId}"]`).first();
    await card.waitFor();
    assert.equal(await card.getAttribute('data-step'), '1');
    await card.getByTestId('finding-phone-toggle').click();
    assert.equal(await card.getByTestId('finding-phone-name').inputValue(), DUTY, 'the current step\'s contact is proposed');
    await card.getByTestId('finding-phone-number').fill(DUTY_PHONE);
    await card.getByTestId('finding-phone-outcome').selectOption('reached');
    await card.getByTestId('finding-phone-readback').fill('右緊張性気胸、胸腔ドレナージを検討。復唱しました。');
    await card.getByTestId('finding-phone-submit').click();
    await card.getByTestId('finding-phone-row').waitFor();
    await reader.screenshot({ path: path.join(SHOTS, '07-reader-phone-log.png'), fullPage: true });
    await reader.goto(viewerUrl);
    await reader.getByTestId('report-panel').waitFor();
  });

  test('the attending physician acknowledges from the alert; the alerts go from every screen', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const alert = alertOf(attending);
    await alert.getByTestId('finding-alert-ack').click();
    await alert.waitFor({ state: 'detached' });
    await alertOf(duty).waitFor({ state: 'detached', timeout: 10_000 });
    await alertOf(reader).waitFor({ state: 'detached', timeout: 10_000 });
    await attending.screenshot({ path: path.join(SHOTS, '08-attending-acknowledged.png') });
  });

  test('the report editor shows the whole record of the finding', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const item = reader.locator(`[data-testid=study-finding][data-finding-id="${findingId}"]`);
    await reader.locator(`[data-testid=study-finding][data-finding-id="${findingId}"][data-status=acknowledged]`).waitFor();
    assert.match((await item.getByTestId('study-finding-acknowledged').textContent()) ?? '', new RegExp(ATTENDING));
    await item.getByTestId('study-finding-history-toggle').click();
    await item.getByTestId('finding-history').waitFor();
    const kinds = await item.getByTestId('finding-event').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    for (const k of ['raised', 'notified', 'escalated', 'phone', 'acknowledged']) assert.ok(kinds.includes(k), `history has ${k}: ${kinds.join(', ')}`);
    assert.ok(kinds.indexOf('raised') < kinds.indexOf('escalated') && kinds.indexOf('escalated') < kinds.indexOf('acknowledged'), `in order: ${kinds.join(', ')}`);
    await item.scrollIntoViewIfNeeded();
    await reader.screenshot({ path: path.join(SHOTS, '09-report-finding-record.png') });

    const view = (await (await reader.request.get(`${base}/api/findings/${findingId}`)).json()) as FindingView;
    assert.equal(view.studyUid, studyUid);
    assert.equal(view.status, 'acknowledged');
    assert.equal(view.acknowledgedBy?.name, ATTENDING);
    assert.equal(view.escalations, 1);
    assert.equal(view.phoneContacts.length, 1);
    assert.equal(view.phoneContacts[0]!.calledName, DUTY);
    assert.ok(view.reportId, 'the finding belongs to the report');
    assert.deepEqual(view.recipients.filter((r) => r.notifiedAt).map((r) => r.step).sort(), [0, 1]);
  });

  test('the management physician sees the figures and charts', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const manager = await newPage();
    await firstLogin(manager, base, 'dr-kanri', initial.manager!, PW);
    await manager.goto(`${base}/findings/manage`);
    await manager.getByTestId('findings-stats').waitFor();
    assert.equal(await manager.getByTestId('findings-stats-open').textContent(), '0');
    await manager.locator('[data-testid=chart-ack-facility] svg[role=img]').waitFor();
    assert.equal(await manager.getByTestId('chart-ack-facility').getAttribute('data-rows'), '1');
    assert.equal(await manager.getByTestId('chart-ack-reader').getAttribute('data-rows'), '1');
    await manager.screenshot({ path: path.join(SHOTS, '10-management-view.png'), fullPage: true });
  });
});
