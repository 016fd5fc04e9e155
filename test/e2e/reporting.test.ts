/**
 * The reading workflow end to end in Chromium (issue 7): a study arrives with its order
 * (the order through the orders service, the images over STOW-RS with a facility token), appears on the
 * worklist with the order's priority, is claimed, read beside its prior, reported from a
 * template, finalised with TOTP re-authentication (PAdES PDF with an RFC 3161 timestamp),
 * delivered to the facility's HL7 receiver (ORU^R01 over MLLP) and FHIR server
 * (DiagnosticReport), and confirmed by the attending physician.
 * Screenshots go to `test-artifacts/reporting/` (or `$ENKAKU_E2E_SHOTS`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generate } from 'otplib';
import { SAMPLE_PATIENTS, writeSeries } from '../../src/server/archive/dicom/synthetic.ts';
import { createRuntime } from '../../src/server/runtime.ts';
import { createLogger } from '../../src/server/platform/log.ts';
import { FhirTestServer, MllpTestReceiver, eventually } from '../../src/server/reports/delivery/test-support.ts';
import type { StudyReportingView } from '../../src/shared/reports.ts';
import { STRICT, childEnv, freePort, startServer, testConfig, type ServerProcess } from '../helpers.ts';
import { CHROMIUM, addUser, dicomFiles, enkakuCli, firstLogin, launchChromium, stow } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHOTS = path.join(process.env.ENKAKU_E2E_SHOTS ?? path.join(ROOT, 'test-artifacts'), 'reporting');
const PW = 'Correct-Horse-9-Battery';
const FACILITY = '山田記念病院';
const ACCESSION = 'ACC-REP-001';
const OPERATOR = { kind: 'system', name: 'e2e' } as const;
const FINDINGS = '右上葉S2に径12mmの充実性結節を認める。縦隔リンパ節の腫大なし。';
const IMPRESSION = '右上葉結節。原発性肺癌を疑う。精査を推奨。';

describe('reading workflow in Chromium: worklist, viewer, report, signature, delivery, confirmation', { concurrency: false, timeout: 300_000 }, () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  let skipReason = '';
  let base = '';
  let studyUid = '';
  let priorUid = '';
  let readerSecret = '';
  let reader: Page;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-reporting-e2e-'));
  const mllp = new MllpTestReceiver();
  const fhir = new FhirTestServer();
  let readerInitial = '';
  let attendingInitial = '';

  const newPage = async (): Promise<Page> => {
    const context = await browser!.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1600, height: 1100 }, deviceScaleFactor: 1 });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    return page;
  };

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
    t.config.jobs.pollMs = 200;
    const env = childEnv(t.config);
    enkakuCli(env, ['facility', 'add', '--name', FACILITY, '--aet', 'YAMADA']);
    const token = enkakuCli(env, ['token', 'create', '--facility', FACILITY, '--scope', 'dicomweb:write']).trim().split('\n').pop()!.trim();
    readerInitial = addUser(env, 'dr-suzuki', '鈴木 一郎', ['radiologist']);
    const created = enkakuCli(env, ['user', 'add', '--username', 'dr-sato', '--name', '佐藤 花子', '--role', 'attending-physician', '--facility', FACILITY]);
    attendingInitial = /initial password[^:]*: (\S+)/.exec(created)![1]!;
    await mllp.start();
    const fhirBase = await fhir.start();
    enkakuCli(env, ['facility', 'add-endpoint', '--name', FACILITY, '--endpoint', '放射線RIS', '--kind', 'hl7', '--host', '127.0.0.1', '--port', String(mllp.port), '--receiving-application', 'RIS', '--receiving-facility', 'YAMADA']);
    enkakuCli(env, ['facility', 'add-endpoint', '--name', FACILITY, '--endpoint', '電子カルテFHIR', '--kind', 'fhir', '--url', fhirBase]);

    // Seed as the operator: the contract, the reader's licence and certification, and the order.
    const rt = await createRuntime(t.config, createLogger('silent'));
    try {
      const facilityId = (await rt.facilities.byName(FACILITY))!.id;
      await rt.contracts.set(OPERATOR, facilityId, {
        scope: { modalities: ['CT'], bodyParts: [] },
        dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
        retentionDays: 365,
        contactLadder: [{ name: '佐藤 花子', role: '依頼医', phone: '03-1234-1111', hours: '平日 8:30-17:15' }],
        delivery: { route: 'hl7', transcriptionConfirmer: '' },
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
        clinicalNotes: '喫煙歴あり',
        requester: { name: '佐藤 花子', department: '呼吸器内科' },
        source: 'hl7',
        patient: { patientId: p.id, issuer: p.issuer ?? '', name: { alphabetic: p.name.alphabetic, ideographic: p.name.ideographic ?? '', phonetic: p.name.phonetic ?? '' }, sex: p.sex, birthDate: p.birthDate },
        placerOrderNumber: 'ORD-REP-1',
        messageId: 'E2E-REP-1',
        priority: 'urgent',
        jj1017: '',
        reason: '咳嗽が3週間続く',
        contrast: false,
        requestedAt: new Date().toISOString(),
      });
    } finally {
      await rt.close();
    }

    const patient = SAMPLE_PATIENTS[0]!;
    const prior = await writeSeries(path.join(tmp, 'prior'), { modality: 'CT', count: 12, rows: 256, columns: 256, patient, seed: 21, studyDate: '20250110', studyDescription: '胸部CT', accessionNumber: 'ACC-REP-000' });
    const current = await writeSeries(path.join(tmp, 'current'), { modality: 'CT', count: 24, rows: 256, columns: 256, patient, seed: 22, studyDate: '20261120', studyDescription: '胸部CT', accessionNumber: ACCESSION });
    studyUid = current.studyInstanceUid;
    priorUid = prior.studyInstanceUid;
    server = await startServer(env, /Facilities:/);
    base = `http://127.0.0.1:${t.config.http.port}`;
    await stow(base, token, await dicomFiles(path.join(tmp, 'prior')));
    await stow(base, token, await dicomFiles(path.join(tmp, 'current')));
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    await mllp.stop();
    await fhir.stop();
    await cleanup?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the study arrives with its order and is claimed from the worklist', async (t) => {
    if (skipReason) return t.skip(skipReason);
    reader = await newPage();
    readerSecret = await firstLogin(reader, base, 'dr-suzuki', readerInitial, PW);
    assert.ok(readerSecret, 'a radiologist enrols TOTP at the first login');
    await reader.goto(`${base}/worklist`);
    await reader.getByTestId('worklist-filter-accession').fill(ACCESSION);
    await reader.getByTestId('worklist-apply').click();
    const row = reader.getByTestId('worklist-row').filter({ hasText: '山田' }).first();
    await row.waitFor();
    assert.equal(await row.getAttribute('data-priority'), 'urgent', 'the order set the priority');
    await row.getByTestId('worklist-claim').click();
    await row.getByTestId('worklist-release').waitFor();
    await reader.screenshot({ path: path.join(SHOTS, 'worklist-claimed.png') });
    await row.getByTestId('worklist-open').click();
    await reader.waitForURL(/\/viewer\/studies\//);
    assert.ok(decodeURIComponent(reader.url()).endsWith(studyUid));
  });

  test('the study is read beside its prior and reported from a template', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await reader.locator(`[data-testid=prior-0][data-study-uid="${priorUid}"]`).waitFor();
    await reader.getByTestId('prior-compare-0').click();
    await reader.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid=viewports]')?.getAttribute('data-layout') === '1x2');
    const panel = reader.getByTestId('report-panel');
    await panel.waitFor();
    await reader.getByTestId('report-template').click();
    await reader.getByRole('option', { name: /胸部CT/ }).click();
    await reader.getByTestId('report-start').click();
    const findings = reader.getByTestId('report-findings');
    await findings.waitFor();
    assert.match(await findings.inputValue(), /肺野/, 'the template filled the findings');
    assert.match(await reader.getByTestId('report-clinicalInformation').inputValue(), /咳嗽が3週間続く/, 'the order reason fills the clinical information');
    await findings.fill(FINDINGS);
    // A macro: ".lnn" then Tab.
    await findings.press('End');
    await findings.pressSequentially('\n.lnn');
    await findings.press('Tab');
    assert.match(await findings.inputValue(), /縦隔・肺門リンパ節の有意な腫大を認めない。$/);
    await reader.getByTestId('report-impression').fill(IMPRESSION);
    await reader.getByTestId('report-location').click();
    await reader.getByRole('option', { name: '自宅' }).click();
    await reader.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid=report-save-state]')?.getAttribute('data-state') === 'saved');
    await reader.screenshot({ path: path.join(SHOTS, 'report-draft-beside-prior.png') });
  });

  test('finalising asks for the TOTP code and signs the report', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await reader.getByTestId('report-finalise').click();
    const pin = reader.getByTestId('report-totp');
    await pin.waitFor();
    // The login used this time step; wait for the next one (a code is accepted once).
    const step = Math.floor(Date.now() / 30_000);
    await reader.waitForTimeout(Math.max(0, (step + 1) * 30_000 - Date.now() + 200));
    const code = await generate({ secret: readerSecret });
    await reader.locator('[data-testid=report-totp] input').first().click();
    await reader.keyboard.type(code);
    await reader.getByTestId('report-final').waitFor({ timeout: 30_000 });
    await reader.getByTestId('report-version').first().waitFor();
    await reader.screenshot({ path: path.join(SHOTS, 'report-final.png') });
    const view = (await (await reader.request.get(`${base}/api/studies/${encodeURIComponent(studyUid)}/report`)).json()) as StudyReportingView;
    assert.equal(view.report?.status, 'final');
    assert.equal(view.report?.versions[0]?.sections.impression, IMPRESSION);
    const pdf = await reader.request.get(`${base}/api/report-versions/${view.report!.versions[0]!.id}/pdf`);
    assert.equal(pdf.status(), 200);
    assert.equal(pdf.headers()['cache-control'], 'no-store');
  });

  test('the final report is delivered over MLLP (ORU^R01) and to the FHIR server (DiagnosticReport)', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const oru = await eventually(async () => mllp.received.find((m) => m.message.header.messageType.code === 'ORU'), 30_000, 'ORU^R01 at the receiver');
    const text = oru.message.segments.filter((s) => s.name === 'OBX').map((s) => s.get(5) ?? '').join('\n');
    assert.match(text, /右上葉S2に径12mmの充実性結節/, 'the findings arrive in Japanese');
    const bundle = await eventually(async () => fhir.requests.find((r) => (r.body as { resourceType?: string })?.resourceType === 'Bundle'), 30_000, 'the FHIR transaction');
    const report = ((bundle.body as { entry: Array<{ resource: { resourceType: string; conclusion?: string } }> }).entry).find((e) => e.resource.resourceType === 'DiagnosticReport');
    assert.equal(report?.resource.conclusion, IMPRESSION);
  });

  test('the attending physician confirms reading, and the reader sees it', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const attending = await newPage();
    await firstLogin(attending, base, 'dr-sato', attendingInitial, PW);
    await attending.goto(`${base}/reports`);
    const row = attending.getByTestId('unconfirmed-row').first();
    await row.waitFor();
    await attending.screenshot({ path: path.join(SHOTS, 'attending-unconfirmed.png') });
    await row.getByTestId('confirm-read').click();
    await attending.getByTestId('unconfirmed-row').waitFor({ state: 'detached' });
    await reader.reload();
    await reader.getByTestId('report-confirmation').first().waitFor();
    assert.equal(await reader.getByTestId('report-confirmation').first().textContent(), '既読確認済み');
    await reader.screenshot({ path: path.join(SHOTS, 'report-confirmed.png') });
  });
});
