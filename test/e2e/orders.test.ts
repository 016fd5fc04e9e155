/**
 * Browser test of the order pages (issue 5, item 8): real Chromium (Debian's package)
 * driven by playwright-core against a real `enkaku serve`. Orders, clinical items and an
 * unmatched study are seeded through the runtime as the operator before the server starts.
 *
 * A provider radiologist opens the order list and the order, sees the protocol warnings
 * (low eGFR, contrast allergy) and the JJ1017 code in words, posts a consultation message
 * and records protocol instructions; a facility administrator sees the contract with only
 * the contact ladder editable, saves the ladder, and links the unmatched study to its
 * order in the reconciliation queue. Screenshots go to `test-artifacts/orders/` (or
 * `$ENKAKU_E2E_SHOTS`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createRuntime } from '../../src/server/runtime.ts';
import { createLogger } from '../../src/server/platform/log.ts';
import { OPERATOR, storeStudy, studyId as studyIdOf } from '../../src/server/orders/test-fixtures.ts';
import type { PatientInput } from '../../src/server/orders/model.ts';
import { STRICT, childEnv, freePort, startServer, testConfig, type ServerProcess } from '../helpers.ts';
import { CHROMIUM, addUser, enkakuCli, firstLogin, launchChromium } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHOTS = path.join(process.env.ENKAKU_E2E_SHOTS ?? path.join(ROOT, 'test-artifacts'), 'orders');
const PW = 'Correct-Horse-9-Battery';
const FACILITY = 'さくら総合病院';
/** JJ1017 別表F: X線CT 頭部. */
const JJ1017_CT_HEAD = '60000001000002000000010000000000';
const days = (n: number) => new Date(Date.now() - n * 86400_000).toISOString();

const PATIENT: PatientInput = { patientId: 'SK-1001', issuer: '', name: { alphabetic: 'Yamada^Hanako', ideographic: '山田^花子', phonetic: 'やまだ^はなこ' }, sex: 'F', birthDate: '19500312' };
const OTHER: PatientInput = { patientId: 'SK-2002', issuer: '', name: { alphabetic: 'Suzuki^Ichiro', ideographic: '鈴木^一郎', phonetic: 'すずき^いちろう' }, sex: 'M', birthDate: '19620704' };

describe('order pages in Chromium', { concurrency: false, timeout: 120_000 }, () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let skipReason = '';
  let base = '';
  let env: NodeJS.ProcessEnv = {};
  let orderId = '';
  let waitingOrderId = '';
  let queuedStudyId = '';
  const contexts: BrowserContext[] = [];

  const newPage = async (): Promise<Page> => {
    const context = await browser!.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1400, height: 1100 } });
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
    env = childEnv(t.config);
    enkakuCli(env, ['facility', 'add', '--name', FACILITY, '--aet', 'SAKURA']);

    // Seed as the operator through the runtime, then hand the database to the server.
    const rt = await createRuntime(t.config, createLogger('silent'));
    try {
      const facilityId = (await rt.facilities.byName(FACILITY))!.id;
      await rt.contracts.set(OPERATOR, facilityId, {
        scope: { modalities: ['CT', 'MR'], bodyParts: [] },
        dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
        retentionDays: 365,
        contactLadder: [{ name: '依頼医', role: '依頼医', phone: '03-1234-1111', hours: '平日 8:30-17:15' }],
        delivery: { route: 'manual', transcriptionConfirmer: '医療情報室' },
        onwardSharing: false,
        monitorCheckRequired: true,
        optOutNotice: '当院は読影のため画像を外部の読影施設に保存します。',
      });
      const order = {
        facilityId,
        accessionNumber: 'ACC-7001',
        control: 'new' as const,
        modality: 'CT',
        bodyPart: '頭部',
        procedureText: '頭部造影CT',
        clinicalNotes: '2型糖尿病、慢性腎臓病',
        requester: { name: '依頼 太郎', department: '脳神経内科' },
        source: 'hl7' as const,
      };
      const created = await rt.orders.receive(OPERATOR, {
        ...order,
        patient: PATIENT,
        placerOrderNumber: 'ORD-7001',
        messageId: 'E2E-1',
        priority: 'stat',
        jj1017: JJ1017_CT_HEAD,
        reason: '右片麻痺。脳梗塞と腫瘍の鑑別',
        contrast: true,
        requestedAt: days(0),
      });
      orderId = created.orderId;
      const item = (kind: 'lab' | 'allergy' | 'diagnosis', x: { code?: string; text: string; value?: number; unit?: string; observedAt: string; sourceKey: string; status?: string }) => ({
        facilityId,
        patient: PATIENT,
        kind,
        code: x.code ?? '',
        codeSystem: x.code ? 'JLAC10' : '',
        text: x.text,
        ...(x.value !== undefined ? { value: x.value, unit: x.unit ?? '' } : {}),
        observedAt: x.observedAt,
        status: x.status ?? 'active',
        source: 'ssmix2' as const,
        sourceKey: x.sourceKey,
      });
      await rt.clinical.record(OPERATOR, [
        item('lab', { code: '8A065000002391901', text: 'eGFR', value: 41, unit: 'mL/min/1.73m2', observedAt: days(40), sourceKey: 'SK-1001/egfr/1' }),
        item('lab', { code: '8A065000002391901', text: 'eGFR', value: 24, unit: 'mL/min/1.73m2', observedAt: days(2), sourceKey: 'SK-1001/egfr/2' }),
        item('allergy', { text: 'ヨード造影剤（じんま疹）', observedAt: days(400), sourceKey: 'SK-1001/allergy/1' }),
        item('diagnosis', { code: 'N189', text: '慢性腎臓病', observedAt: days(300), sourceKey: 'SK-1001/dx/1' }),
      ]);
      // An order whose study arrives without an accession number on another day: it waits.
      waitingOrderId = (
        await rt.orders.receive(OPERATOR, { ...order, patient: OTHER, accessionNumber: '', placerOrderNumber: 'ORD-7002', messageId: 'E2E-2', priority: 'routine', reason: '頭痛', contrast: false, requestedAt: '2026-03-02T01:00:00Z' })
      ).orderId;
      const uid = await storeStudy(rt, facilityId, {
        patient: { id: OTHER.patientId, name: { alphabetic: OTHER.name.alphabetic, ideographic: OTHER.name.ideographic, phonetic: OTHER.name.phonetic }, sex: 'M', birthDate: OTHER.birthDate },
        accessionNumber: '',
        studyDate: '20250105',
      });
      queuedStudyId = await studyIdOf(rt, uid);
    } finally {
      await rt.close();
    }
    addUser(env, 'admin', '管理 太郎', ['system-admin']);
    server = await startServer(env, /Facilities:/);
    base = `http://127.0.0.1:${t.config.http.port}`;
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    await cleanup?.();
  });

  test('a radiologist reads the order: warnings, JJ1017 in words, consultation and protocol', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const initial = addUser(env, 'dr-sato', '佐藤 読影医', ['radiologist']);
    const page = await newPage();
    await firstLogin(page, base, 'dr-sato', initial, PW);
    await page.getByTestId('nav-orders').click();
    const row = page.locator(`[data-testid=order-row][data-order-id="${orderId}"]`);
    await row.waitFor();
    const text = await row.innerText();
    for (const s of ['山田 花子', 'やまだ はなこ', '頭部造影CT', FACILITY, '緊急']) assert.ok(text.includes(s), `${s} in ${text}`);
    assert.equal(await row.getAttribute('data-priority'), 'stat');
    await page.screenshot({ path: path.join(SHOTS, 'order-list.png'), fullPage: true });

    await page.getByTestId(`order-open-${orderId}`).click();
    await page.getByTestId('order-detail').waitFor();
    assert.ok(!page.url().includes('SK-1001') && !page.url().includes('山田'), 'no PHI in the URL');
    await page.getByTestId('order-warning-egfr-contraindicated').waitFor();
    await page.getByTestId('order-warning-contrast-allergy').waitFor();
    assert.equal(await page.getByTestId('order-warning-egfr-contraindicated').getAttribute('data-severity'), 'danger');
    assert.match(await page.getByTestId('order-jj1017-words').innerText(), /CT.*頭部/);
    assert.equal(await page.getByTestId('order-jj1017').getAttribute('data-valid'), 'true');
    assert.equal(await page.getByTestId('order-egfr').getAttribute('data-latest'), '24');
    assert.equal(await page.getByTestId('order-egfr-point').count(), 2);
    assert.match(await page.getByTestId('order-allergies').innerText(), /ヨード造影剤/);

    await page.getByTestId('consultation-input').fill('腎機能低下のため単純CTに変更を提案します。');
    await page.getByTestId('consultation-post').click();
    await page.getByTestId('consultation-message').filter({ hasText: '単純CTに変更' }).waitFor();

    await page.getByTestId('order-protocol-input').fill('造影なし。頭部単純CT 5mm + MRI拡散強調を推奨。');
    await page.getByTestId('order-protocol-save').click();
    await page.getByTestId('order-protocol-saved').waitFor();
    await page.getByTestId('order-protocol-text').filter({ hasText: '造影なし' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'order-detail.png'), fullPage: true });

    // English through the existing switch.
    await page.getByTestId('lang-switch').click();
    await page.locator('[data-testid=lang-switch][data-language=en]').waitFor();
    assert.match(await page.getByTestId('order-jj1017-words').innerText(), /head/i);
    assert.match(await page.getByTestId('order-warning-contrast-allergy').innerText(), /contrast allergy/i);
  });

  test('a facility administrator edits only the contact ladder and links a study in the reconciliation queue', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const out = enkakuCli(env, ['user', 'add', '--username', 'fa-kato', '--name', '加藤 施設管理', '--role', 'facility-admin', '--facility', FACILITY]);
    const initial = /initial password[^:]*: (\S+)/.exec(out)![1]!;
    const page = await newPage();
    await firstLogin(page, base, 'fa-kato', initial, PW);

    await page.getByTestId('nav-contracts').click();
    const form = page.getByTestId('contract-form');
    await form.waitFor();
    assert.equal(await form.getAttribute('data-right'), 'ladder');
    await page.getByTestId('contract-ladder-only').waitFor();
    for (const id of ['contract-due-stat', 'contract-retention', 'contract-modalities', 'contract-onward-sharing', 'contract-opt-out-notice', 'contract-delivery-route']) {
      assert.equal(await page.getByTestId(id).isDisabled(), true, `${id} is read-only`);
    }
    const version = Number(await form.getAttribute('data-version'));
    assert.equal(await page.getByTestId('contract-ladder-row').count(), 1);
    assert.equal(await page.getByTestId('contract-ladder-name-0').isEnabled(), true);
    await page.getByTestId('contract-ladder-name-0').fill('高橋 部長');
    await page.getByTestId('contract-ladder-role-0').fill('放射線科部長');
    await page.getByTestId('contract-ladder-phone-0').fill('03-1234-5678');
    await page.getByTestId('contract-ladder-hours-0').fill('平日 8:30-17:15');
    await page.getByTestId('contract-ladder-add').click();
    await page.getByTestId('contract-ladder-name-1').fill('当直医');
    await page.getByTestId('contract-ladder-role-1').fill('当直医');
    await page.getByTestId('contract-ladder-phone-1').fill('03-1234-0000');
    await page.getByTestId('contract-ladder-hours-1').fill('24時間');
    await page.getByTestId('contract-ladder-up-1').click();
    assert.equal(await page.getByTestId('contract-ladder-name-0').inputValue(), '当直医');
    await page.getByTestId('contract-save').click();
    const saved = await Promise.race([
      page.getByTestId('contract-saved').waitFor().then(() => ''),
      page.getByTestId('contract-error').waitFor().then(() => page.getByTestId('contract-error').innerText()),
    ]);
    assert.equal(saved, '', 'the contract is saved');
    await page.locator(`[data-testid=contract-form][data-version="${version + 1}"]`).waitFor();
    await page.locator('[data-testid=contract-history-row]').first().waitFor();
    assert.equal(await page.getByTestId('contract-ladder-name-0').inputValue(), '当直医');
    await page.screenshot({ path: path.join(SHOTS, 'contract-ladder.png'), fullPage: true });

    await page.getByTestId('nav-reconciliation').click();
    await page.locator(`[data-testid=recon-study-row][data-study-id="${queuedStudyId}"]`).waitFor();
    await page.locator(`[data-testid=recon-order-row][data-order-id="${waitingOrderId}"]`).waitFor();
    await page.getByTestId(`recon-study-${queuedStudyId}`).check();
    await page.getByTestId(`recon-order-${waitingOrderId}`).check();
    await page.screenshot({ path: path.join(SHOTS, 'reconciliation.png'), fullPage: true });
    await page.getByTestId('recon-link').click();
    await page.getByTestId('recon-confirm').click();
    await page.getByTestId('recon-linked').waitFor();
    await page.locator(`[data-testid=recon-study-row][data-study-id="${queuedStudyId}"]`).waitFor({ state: 'detached' });
    // The order has its study now, so it leaves the queue too.
    await page.locator(`[data-testid=recon-order-row][data-order-id="${waitingOrderId}"]`).waitFor({ state: 'detached' });
  });
});
