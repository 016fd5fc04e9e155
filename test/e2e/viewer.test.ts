/**
 * Browser tests of the viewer and monitor QC (issue 6): real Chromium (Debian's package)
 * driven by playwright-core against a real `enkaku serve`, with a synthetic CT study and
 * its prior sent over STOW-RS with a facility token.
 *
 * A reader (radiologist and management physician at the reading provider) registers on the
 * QC page a terminal that requires the daily check, edits it, registers and retires a spare
 * one, records constancy tests whose verdict the server gives (one failing grade 1A, one
 * passing), chooses the terminal, is refused the viewer until the check is recorded, and sees
 * TG18-QC and SMPTE pixel for pixel at 1:1; then opens the study, scrolls, changes the
 * window, shows it at 1:1 (the pixels on screen are the server's rendered pixels), measures
 * the liver in HU on the server, compares with the prior scrolling in step, plays a
 * multi-frame object in cine at a chosen rate and stops it, and the browser is shown to keep
 * no DICOM and no image (Cache Storage, IndexedDB, service workers, response headers).
 * Screenshots go to `test-artifacts/viewer/` (or `$ENKAKU_E2E_SHOTS`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { buildFileMeta } from '../../src/server/archive/dicom/filemeta.ts';
import { newUid, SAMPLE_PATIENTS, writeSeries } from '../../src/server/archive/dicom/synthetic.ts';
import { writeElements, type FixtureElement } from '../../src/server/archive/render/test-fixtures.ts';
import { jndOfLuminance, luminanceOfJnd } from '../../src/server/quality/gsdf.ts';
import { STRICT, childEnv, freePort, startServer, testConfig, type ServerProcess } from '../helpers.ts';
import { CHROMIUM, addUser, dicomFiles, enkakuCli, firstLogin, launchChromium, stow } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHOTS = path.join(process.env.ENKAKU_E2E_SHOTS ?? path.join(ROOT, 'test-artifacts'), 'viewer');
const PW = 'Correct-Horse-9-Battery';
/** The current study: 41 slices 2.5 mm apart (positions 50 … −50 mm); the prior: 20 slices 5 mm apart (47.5 … −47.5 mm). */
const CURRENT_SLICES = 41;
const PRIOR_SLICES = 20;
/** Slice 25 of the current study (t = 0.625) shows the phantom's liver (62 HU) at its largest. */
const LIVER_SLICE = 25;
/** The multi-frame object played in cine: its frames and its own Frame Time (0018,1063). */
const CINE_FRAMES = 24;
const CINE_FRAME_TIME_MS = 50;
/** The cine rate chosen in the toolbar (the object's own would be 20 per second). */
const CINE_FPS = 10;

/**
 * A multi-frame grayscale byte secondary capture (PS3.3 A.8.3) of `frames` 128×128 frames,
 * each with a bright square at a place of its own, and a Frame Time so that the object has a
 * cine rate of its own. Written with the rendering tests' element writer (explicit VR little
 * endian); VRs the writer's type does not list (PN, DA, TM, SH) are written as text like LO.
 */
function multiFrameFile(studyUid: string, frames: number, frameTimeMs: number): Buffer {
  const sopClass = '1.2.840.10008.5.1.4.1.1.7.2';
  const sop = newUid();
  const size = 128;
  const pixels = new Uint8Array(frames * size * size);
  for (let f = 0; f < frames; f++) {
    const x0 = 8 + ((f * 4) % 96);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inSquare = x >= x0 && x < x0 + 24 && y >= 52 && y < 76;
        pixels[f * size * size + y * size + x] = inSquare ? 230 : 20 + ((x + y) & 31);
      }
    }
  }
  const text = (tag: number, vr: string, value: string): FixtureElement => [tag, vr as 'LO', value];
  const patient = SAMPLE_PATIENTS[3]!;
  const elements: FixtureElement[] = [
    [0x00080016, 'UI', sopClass],
    [0x00080018, 'UI', sop],
    text(0x00080020, 'DA', '20250201'),
    text(0x00080030, 'TM', '101500'),
    text(0x00080050, 'SH', 'CINE0001'),
    [0x00080060, 'CS', 'XA'],
    [0x00081030, 'LO', 'Cine'],
    text(0x00100010, 'PN', patient.name.alphabetic),
    [0x00100020, 'LO', patient.id],
    text(0x00100030, 'DA', patient.birthDate),
    [0x00100040, 'CS', patient.sex],
    [0x00181063, 'DS', String(frameTimeMs)],
    [0x0020000d, 'UI', studyUid],
    [0x0020000e, 'UI', newUid()],
    text(0x00200010, 'SH', '1'),
    [0x00200011, 'IS', '1'],
    [0x00200013, 'IS', '1'],
    [0x00280002, 'US', [1]],
    [0x00280004, 'CS', 'MONOCHROME2'],
    [0x00280008, 'IS', String(frames)],
    [0x00280010, 'US', [size]],
    [0x00280011, 'US', [size]],
    [0x00280100, 'US', [8]],
    [0x00280101, 'US', [8]],
    [0x00280102, 'US', [7]],
    [0x00280103, 'US', [0]],
    [0x7fe00010, 'OB', pixels],
  ];
  return Buffer.concat([buildFileMeta(sopClass, sop, '1.2.840.10008.1.2.1'), writeElements(elements)]);
}

/**
 * Photometer readings of a display that follows the GSDF exactly between Lmin and Lmax with
 * ambient light Lamb (PS3.14 §7: J linear in the driving level), at the TG18-LN levels.
 */
function gsdfReadings(lmin: number, lmax: number, lamb: number, levels: number[]): number[] {
  const jLo = jndOfLuminance(lmin + lamb);
  const jHi = jndOfLuminance(lmax + lamb);
  return levels.map((d) => luminanceOfJnd(jLo + (d / 255) * (jHi - jLo)) - lamb);
}

interface Seen {
  url: string;
  status: number;
  contentType: string;
  cacheControl: string;
  accept: string;
}

/** Grey values (one channel) of a decoded PNG or screenshot. */
async function pixels(png: Buffer): Promise<{ width: number; height: number; channels: number; data: Buffer }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

describe('viewer and monitor QC in Chromium', { concurrency: false, timeout: 240_000 }, () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let base = '';
  let cleanup: (() => Promise<void>) | undefined;
  let skipReason = '';
  let studyUid = '';
  let priorUid = '';
  const cineStudyUid = newUid();
  const seen: Seen[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-viewer-e2e-'));

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
    const env = childEnv(t.config);
    enkakuCli(env, ['facility', 'add', '--name', '札幌中央病院', '--aet', 'SAPCT']);
    const token = enkakuCli(env, ['token', 'create', '--facility', '札幌中央病院', '--scope', 'dicomweb:write']).trim().split('\n').pop()!.trim();
    addUser(env, 'admin', '管理 太郎', ['system-admin']);
    const initial = addUser(env, 'dr-ito', '伊藤 医師', ['radiologist', 'management-physician']);
    const patient = SAMPLE_PATIENTS[0]!;
    const current = await writeSeries(path.join(tmp, 'current'), { modality: 'CT', count: CURRENT_SLICES, patient, seed: 11, studyDate: '20250110', studyDescription: '胸腹部CT' });
    const prior = await writeSeries(path.join(tmp, 'prior'), { modality: 'CT', count: PRIOR_SLICES, patient, seed: 12, studyDate: '20240105', studyDescription: '胸腹部CT' });
    studyUid = current.studyInstanceUid;
    priorUid = prior.studyInstanceUid;
    server = await startServer(env, /Facilities:/);
    base = `http://127.0.0.1:${t.config.http.port}`;
    await stow(base, token, await dicomFiles(path.join(tmp, 'current')));
    await stow(base, token, await dicomFiles(path.join(tmp, 'prior')));
    const cineFile = path.join(tmp, 'cine.dcm');
    fs.writeFileSync(cineFile, multiFrameFile(cineStudyUid, CINE_FRAMES, CINE_FRAME_TIME_MS));
    await stow(base, token, [cineFile]);

    browser = await launchChromium();
    // Device scale factor 1: one CSS pixel is one device pixel, so screenshots hold device pixels.
    context = await browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1400, height: 1200 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('response', (r) => {
      if (!r.url().startsWith('http')) return; // blob: URLs are the page's own memory
      seen.push({
        url: r.url(),
        status: r.status(),
        contentType: r.headers()['content-type'] ?? '',
        cacheControl: r.headers()['cache-control'] ?? '',
        accept: r.request().headers()['accept'] ?? '',
      });
    });
    await firstLogin(page, base, 'dr-ito', initial, PW);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await cleanup?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** `fetch` from the page's session (cookies), for comparing with what the viewer shows. */
  const get = async (url: string): Promise<Buffer> => {
    const r = await page.request.get(`${base}${url}`);
    assert.equal(r.status(), 200, url);
    return r.body();
  };

  const attr = (testId: string, name: string) => page.getByTestId(testId).getAttribute(name);
  /**
   * Waits until an attribute of the first element with the test id is set, is a value, or
   * is above or below a number. (A function, not a string: the page's CSP forbids eval.)
   */
  const until = (testId: string, name: string, op: 'set' | 'is' | 'above' | 'below', value: string | number = '') =>
    page.waitForFunction(
      ([id, attrName, o, expected]) => {
        const v = (globalThis as any).document.querySelector(`[data-testid=${id}]`)?.getAttribute(attrName);
        if (o === 'set') return !!v;
        if (o === 'is') return v === expected;
        return o === 'above' ? Number(v) > Number(expected) : Number(v) < Number(expected);
      },
      [testId, name, op, String(value)] as const,
    );

  /** Fills the terminal form (register or edit) with the given fields. */
  const fillTerminal = async (f: Partial<Record<'name' | 'location' | 'model' | 'serial' | 'lmax' | 'lmin' | 'lamb' | 'accepted', string>> & { grade?: string }) => {
    for (const [k, v] of Object.entries(f)) {
      if (k === 'grade') await page.getByTestId('qc-form-grade').selectOption(v);
      else await page.getByTestId(`qc-form-${k}`).fill(v);
    }
  };
  const terminalRow = (name: string) => page.locator(`[data-testid=qc-admin-row][data-name="${name}"]`);

  test('monitor QC: terminals are registered, edited and retired on the page', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.getByTestId('nav-qc').click();
    await page.getByTestId('qc-no-terminals').waitFor();
    // The management physician registers the reading room's terminal: grade 1A, acceptance values, the provider's.
    await page.getByTestId('qc-admin-register').click();
    await page.getByTestId('qc-terminal-form').waitFor();
    // Lmax below Lmin is caught on the page before anything is sent.
    await fillTerminal({ name: '読影室1', location: '読影室（仮）', model: 'EIZO RX360', serial: 'E2E-1', grade: '1A', lmax: '0.5', lmin: '0.6', lamb: '0.2', accepted: '2025-01-06' });
    await page.getByTestId('qc-form-submit').click();
    await page.getByText('Lmax は Lmin より大きくしてください').waitFor();
    await fillTerminal({ lmax: '420' });
    assert.equal(await page.getByTestId('qc-form-owner').inputValue(), '', 'the reading provider by default');
    assert.equal(await page.getByTestId('qc-form-profile').inputValue(), 'gsdf');
    await page.getByTestId('qc-form-require-daily').check();
    await page.getByTestId('qc-form-submit').click();
    await page.getByTestId('qc-terminal-form').waitFor({ state: 'detached' });
    const row = terminalRow('読影室1');
    await row.waitFor();
    const rowText = await row.innerText();
    for (const part of ['EIZO RX360', 'E2E-1', '1A', 'Lmax 420 / Lmin 0.6 cd/m²（環境光 0.2）', '2025-01-06', '読影施設（受託側）', 'GSDF', '日常点検が読影の条件', '使用中']) {
      assert.ok(rowText.includes(part), `${part} in ${rowText}`);
    }
    // Edited: the location.
    await row.getByTestId('qc-admin-edit').click();
    assert.equal(await page.getByTestId('qc-form-lmax').inputValue(), '420');
    await fillTerminal({ location: '読影室' });
    await page.getByTestId('qc-form-submit').click();
    await page.getByTestId('qc-terminal-form').waitFor({ state: 'detached' });
    await page.waitForFunction(() => !(globalThis as any).document.querySelector('[data-testid=qc-admin-row][data-name="読影室1"]')?.textContent.includes('（仮）'));
    // A spare terminal is registered and retired: it stays listed, and cannot be chosen for reading.
    await page.getByTestId('qc-admin-register').click();
    await fillTerminal({ name: '予備端末', model: 'JVC CL-S500', serial: 'E2E-2', grade: '2', lmax: '250', lmin: '1', lamb: '0.5', accepted: '2024-04-01' });
    await page.getByTestId('qc-form-submit').click();
    await page.getByTestId('qc-terminal-form').waitFor({ state: 'detached' });
    await terminalRow('予備端末').getByTestId('qc-admin-retire').click();
    await page.getByTestId('qc-retire-confirm').click();
    await page.locator('[data-testid=qc-admin-row][data-name="予備端末"][data-active=false]').waitFor();
    const choices = await page.getByTestId('qc-terminal-select').locator('option').allInnerTexts();
    assert.ok(choices.some((c) => c.startsWith('読影室1 — 読影室 (EIZO RX360, 1A)')), choices.join(' | '));
    assert.ok(!choices.some((c) => c.includes('予備端末')), 'a retired terminal is not offered');
    await page.screenshot({ path: path.join(SHOTS, 'qc-terminals.png'), fullPage: true });
  });

  test('monitor QC: a constancy test is recorded with its numbers and judged against grade 1A', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const levels = Array.from({ length: 18 }, (_, i) => i * 15);
    const record = async (readings: number[], lmax = '') => {
      for (let i = 0; i < readings.length; i++) await page.getByTestId(`qc-constancy-lum-${i}`).fill(readings[i]!.toPrecision(5));
      await page.getByTestId('qc-constancy-lmax').fill(lmax);
      await page.getByTestId('qc-constancy-submit').click();
    };
    await terminalRow('読影室1').getByTestId('qc-admin-constancy').click();
    await page.getByTestId('qc-constancy-form').waitFor();
    for (let i = 0; i < 18; i++) assert.equal(await page.getByTestId(`qc-constancy-ddl-${i}`).inputValue(), String(levels[i]), 'the TG18-LN levels');
    assert.equal(await page.getByTestId('qc-constancy-lamb').inputValue(), '0.2', "the terminal's ambient luminance");
    // The display has dimmed to 300 cd/m²: below the grade 1A minimum of 350 and 29 % under the acceptance value.
    await record(gsdfReadings(0.43, 300, 0.2, levels));
    const result = page.getByTestId('qc-constancy-result');
    await page.locator('[data-testid=qc-constancy-result][data-passed=false]').waitFor();
    const item = (name: string) => result.locator(`[data-testid=qc-constancy-item][data-item="${name}"]`);
    assert.equal(await item('lmax').getAttribute('data-pass'), 'false');
    assert.match(await item('lmax').innerText(), /最大輝度 Lmax\s+300 cd\/m²（基準 350 cd\/m² 以上）\s+不合格/);
    assert.equal(await item('lmax-change').getAttribute('data-pass'), 'false');
    assert.match(await item('lmax-change').innerText(), /-29%（基準 ±10% 以内）/);
    assert.match(await result.innerText(), /不合格: グレード 1A の基準を満たしていない項目があります。/);
    await page.screenshot({ path: path.join(SHOTS, 'qc-constancy-failed.png'), fullPage: true });
    // After recalibration it follows the GSDF from 0.6 to 420 cd/m² again: every item passes.
    // Lmax is left empty: the reading at the highest level is used.
    await record(gsdfReadings(0.6, 420, 0.2, levels));
    await page.locator('[data-testid=qc-constancy-result][data-passed=true]').waitFor();
    for (const name of ['lmax', 'luminance-ratio', 'contrast-response', 'lmax-change']) assert.equal(await item(name).getAttribute('data-pass'), 'true', name);
    assert.match(await item('lmax').innerText(), /420 cd\/m²（基準 350 cd\/m² 以上）/);
    assert.match(await item('luminance-ratio').innerText(), /525（基準 250 以上）/);
    assert.match(await item('contrast-response').innerText(), /^コントラスト応答 κδ\s+0(\.\d+)?%（基準 ±10% 以内）/);
    assert.match(await result.innerText(), /合格: グレード 1A の基準を満たしています。/);
    assert.match(await page.getByTestId('qc-constancy-next-due').innerText(), /次回の試験期限: \d{4}-\d{2}-\d{2}/);
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('[data-testid=qc-constancy-history-row]').length === 2);
    assert.deepEqual(await page.locator('[data-testid=qc-constancy-history-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-passed'))), ['true', 'false']);
    await page.screenshot({ path: path.join(SHOTS, 'qc-constancy-passed.png'), fullPage: true });
    await page.getByTestId('qc-constancy-close').click();
    await page.getByTestId('qc-constancy-form').waitFor({ state: 'detached' });
  });

  test('monitor QC: the session terminal, the daily check, and TG18-QC and SMPTE pixel for pixel at 1:1', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.getByTestId('nav-qc').click();
    const select = page.getByTestId('qc-terminal-select');
    await select.selectOption({ label: '読影室1 — 読影室 (EIZO RX360, 1A)' });
    await page.getByTestId('qc-terminal-bind').click();
    await page.getByTestId('qc-status').waitFor();
    assert.match((await attr('qc-session-profile', 'data-profile')) ?? '', /GSDF/);
    assert.equal(await attr('qc-daily-state', 'data-overdue'), 'true');

    // The terminal requires the daily check: without today's, reading is blocked and no image is shown.
    await page.goto(`${base}/viewer/studies/${encodeURIComponent(studyUid)}`);
    await page.getByTestId('viewer-blocked').waitFor();
    assert.equal(await page.getByTestId('viewport-canvas-0').count(), 0);
    await page.getByTestId('nav-qc').click();
    await page.getByTestId('qc-status').waitFor();

    for (const name of ['TG18-QC', 'SMPTE']) {
      await page.getByTestId(`qc-pattern-${name}`).click();
      const image = page.getByTestId('qc-pattern-image');
      await image.waitFor();
      await page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid=qc-pattern-image]')?.complete === true);
      const width = Number(await image.getAttribute('data-width'));
      const height = Number(await image.getAttribute('data-height'));
      const box = (await image.boundingBox())!;
      assert.equal(box.width, width, 'CSS width = image width / devicePixelRatio (1)');
      assert.equal(box.x, Math.round(box.x), 'placed on a whole device pixel');
      const shot = await page.screenshot({ clip: { x: box.x, y: box.y, width, height }, path: path.join(SHOTS, `qc-${name}.png`) });
      const screen = await pixels(shot);
      const served = await pixels(await get(`/api/qc/patterns/${name}?calibrated=1`));
      assert.deepEqual([screen.width, screen.height], [served.width, served.height]);
      let differing = 0;
      for (let i = 0; i < served.width * served.height; i++) {
        const v = served.data[i * served.channels]!;
        const o = i * screen.channels;
        if (screen.data[o] !== v || screen.data[o + 1] !== v || screen.data[o + 2] !== v) differing++;
      }
      assert.equal(differing, 0, `${name}: every screen pixel equals the pattern's pixel`);
      await page.getByTestId('qc-pattern-close').click();
    }

    for (const item of ['patch-5pct', 'patch-95pct', 'grey-steps', 'low-contrast', 'line-pairs', 'ramps', 'no-artefacts', 'uniformity']) {
      await page.getByTestId(`qc-item-${item}`).check();
    }
    await page.getByTestId('qc-check-submit').click();
    assert.equal(await page.getByTestId('qc-check-result').getAttribute('data-passed'), 'true');
    await until('qc-daily-state', 'data-overdue', 'is', 'false');
    await page.screenshot({ path: path.join(SHOTS, 'qc-page.png'), fullPage: true });
  });

  test('the study list shows the patient in all name groups and opens the study; the display profile is shown', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.getByTestId('nav-viewer').click();
    const row = page.locator(`[data-testid=study-row][data-study-uid="${studyUid}"]`);
    await row.waitFor();
    const text = await row.innerText();
    for (const group of ['山田 太郎', 'やまだ たろう', 'Yamada Tarou', '2025/01/10', 'CT']) assert.ok(text.includes(group), `${group} in ${text}`);
    // The patient's other studies (priors) by patient ID.
    await row.getByRole('button', { name: '他の検査' }).click();
    await page.locator(`[data-testid=prior-row][data-study-uid="${priorUid}"]`).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'study-list.png') });
    await row.getByRole('link', { name: '開く' }).click();
    await until('viewport-sop-0', 'data-sop', 'set');
    assert.match((await attr('display-profile', 'data-profile')) ?? '', /GSDF/);
  });

  test('scrolling by keys, wheel and drag changes the SOP instance on screen; the lossless frame follows', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const sop = () => attr('viewport-sop-0', 'data-sop');
    const shownIndex = async () => Number(await attr('viewport-sop-0', 'data-shown-index'));
    const first = await sop();
    assert.equal(await shownIndex(), 0);
    assert.equal(await attr('viewport-slice-0', 'data-count'), String(CURRENT_SLICES));
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowDown');
    await until('viewport-sop-0', 'data-shown-index', 'is', '5');
    assert.notEqual(await sop(), first, 'another SOP instance is on screen');
    const box = (await page.getByTestId('viewport-0').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    await until('viewport-slice-0', 'data-index', 'above', 5);
    // A drag with the stacking tool: 8 CSS pixels per slice, from where the drag starts.
    const beforeDrag = Number(await attr('viewport-slice-0', 'data-index'));
    const at = (await page.getByTestId('viewport-0').boundingBox())!;
    await page.mouse.move(at.x + at.width / 2, at.y + at.height / 2);
    await page.mouse.down();
    await page.mouse.move(at.x + at.width / 2, at.y + at.height / 2 + 40, { steps: 5 });
    await page.mouse.up();
    await until('viewport-slice-0', 'data-index', 'is', String(beforeDrag + 5));
    const afterDrag = Number(await attr('viewport-slice-0', 'data-index'));
    await page.keyboard.press('PageUp');
    await until('viewport-slice-0', 'data-index', 'below', afterDrag);
    // When scrolling stops, the slice asked for is shown, and its lossless frame replaces the fast one.
    await page.waitForFunction(() => {
      const d = (globalThis as any).document;
      const shown = d.querySelector('[data-testid=viewport-sop-0]')?.getAttribute('data-shown-index');
      const wanted = d.querySelector('[data-testid=viewport-slice-0]')?.getAttribute('data-index');
      return shown !== undefined && shown === wanted && d.querySelector('[data-testid=frame-quality-0]')?.getAttribute('data-quality') === 'lossless';
    });
    assert.equal(await attr('viewport-sop-0', 'data-shown-index'), await attr('viewport-slice-0', 'data-index'));
  });

  /** Grey values of a block of the viewport canvas (device pixels). */
  const canvasBlock = (x: number, y: number, w: number, h: number) =>
    page.evaluate(
      `(() => { const c = document.querySelector('[data-testid=viewport-canvas-0]'); const d = c.getContext('2d').getImageData(${x}, ${y}, ${w}, ${h}).data; return Array.from(d.filter((_, i) => i % 4 === 0)); })()`,
    ) as Promise<number[]>;
  const matrix = async () => ((await attr('viewport-canvas-0', 'data-matrix')) ?? '').split(',').map(Number) as [number, number, number, number, number, number];
  const waitLossless = (windowValue: string) =>
    page.waitForFunction((w) => {
      const c = (globalThis as any).document.querySelector('[data-testid=viewport-canvas-0]');
      return c?.getAttribute('data-window') === w && c.getAttribute('data-quality') === 'lossless';
    }, windowValue);

  test('window presets and right-drag change the pixels', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.keyboard.press('Home');
    for (let i = 0; i < LIVER_SLICE; i++) await page.keyboard.press('ArrowDown');
    await until('viewport-sop-0', 'data-shown-index', 'is', LIVER_SLICE);
    await page.keyboard.press('5'); // abdomen 40/400
    await waitLossless('40,400');
    const m = await matrix();
    const block = async () => canvasBlock(Math.round(m[4] + 140 * m[0]), Math.round(m[5] + 220 * m[3]), 32, 32);
    const abdomen = await block();
    await page.keyboard.press('3'); // lung -600/1500
    await waitLossless('-600,1500');
    const lung = await block();
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    // Liver (62 HU) is mid-grey in the abdomen window and bright in the lung window.
    assert.ok(mean(lung) > mean(abdomen) + 40, `lung window ${mean(lung)} vs abdomen ${mean(abdomen)}`);
    assert.match(await page.getByTestId('viewport-window-0').innerText(), /WL -600 \/ WW 1500/);
    await page.screenshot({ path: path.join(SHOTS, 'viewer-lung-window.png') });
    // Right-drag: wider window, so the liver gets darker again.
    const box = (await page.getByTestId('viewport-0').boundingBox())!;
    await page.mouse.move(box.x + 100, box.y + 100);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(box.x + 60, box.y + 160, { steps: 6 });
    await page.mouse.up({ button: 'right' });
    const dragged = (await attr('viewport-canvas-0', 'data-window')) ?? '';
    await until('frame-quality-0', 'data-quality', 'is', 'lossless');
    const w = (await attr('viewport-window-0', 'data-window'))!;
    assert.notEqual(w, '-600,1500', `window after the drag: ${w} (${dragged})`);
    await page.keyboard.press('5');
    await waitLossless('40,400');
  });

  test('below 1:1 a warning says pixels are dropped; Z shows 1:1 and the screen holds the server\u2019s rendered pixels', async (t) => {
    if (skipReason) return t.skip(skipReason);
    for (let i = 0; i < 4; i++) await page.keyboard.press('-');
    await page.getByTestId('zoom-warning-0').waitFor();
    assert.equal(await page.getByTestId('zoom-warning-0').innerText(), '縮小表示中: 画素が間引かれています');
    assert.equal(await attr('zoom-ratio-0', 'data-fidelity'), 'reduced');
    await page.screenshot({ path: path.join(SHOTS, 'viewer-reduced.png') });
    await page.keyboard.press('z');
    await until('zoom-ratio-0', 'data-fidelity', 'is', 'exact');
    assert.match(await page.getByTestId('zoom-ratio-0').innerText(), /1:1（100%）/);
    assert.equal(await page.getByTestId('zoom-warning-0').count(), 0);
    assert.equal(await attr('interpolation-0', 'data-interpolation'), 'none');
    await waitLossless('40,400');
    const m = await matrix();
    assert.deepEqual(m.slice(0, 4), [1, 0, 0, 1], 'one image pixel per device pixel');
    const sop = (await attr('viewport-sop-0', 'data-sop'))!;
    const series = (await page.evaluate(`document.querySelector('[data-testid=series-0]').getAttribute('data-series-uid')`)) as string;
    const served = await pixels(await get(`/dicomweb/studies/${studyUid}/series/${series}/instances/${sop}/rendered?accept=image%2Fpng&window=40%2C400%2Clinear`));
    assert.deepEqual([served.width, served.height], [512, 512]);
    // The canvas holds the rendered pixels exactly...
    const [x0, y0, size] = [192, 192, 128];
    const canvas = await canvasBlock(m[4] + x0, m[5] + y0, size, size);
    let differing = 0;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (canvas[y * size + x] !== served.data[((y0 + y) * 512 + x0 + x) * served.channels]) differing++;
    assert.equal(differing, 0, 'canvas pixels equal the rendered PNG');
    // ...and so does the screen.
    const canvasBox = (await page.getByTestId('viewport-canvas-0').boundingBox())!;
    const shot = await pixels(await page.screenshot({ clip: { x: canvasBox.x + m[4] + x0, y: canvasBox.y + m[5] + y0, width: size, height: size } }));
    differing = 0;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (shot.data[(y * size + x) * shot.channels] !== served.data[((y0 + y) * 512 + x0 + x) * served.channels]) differing++;
    assert.equal(differing, 0, 'screen pixels equal the rendered PNG');
    await page.screenshot({ path: path.join(SHOTS, 'viewer-1to1.png') });
    // Magnified: the interpolation is named and can be chosen.
    await page.keyboard.press('+');
    await until('zoom-ratio-0', 'data-fidelity', 'is', 'magnified');
    assert.equal(await attr('interpolation-0', 'data-interpolation'), 'nearest');
    await page.keyboard.press('n');
    await until('interpolation-0', 'data-interpolation', 'is', 'smooth');
    await page.keyboard.press('n');
    await page.keyboard.press('z');
  });

  test('an ROI over the liver is measured on the server: about 62 HU', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.getByTestId('tool-roi').click();
    const m = await matrix();
    const canvasBox = (await page.getByTestId('viewport-canvas-0').boundingBox())!;
    // The liver is centred at (0.36, 0.52) of the image; an ellipse of 40 pixels inside it.
    const at = (x: number, y: number) => ({ x: canvasBox.x + m[4] + x, y: canvasBox.y + m[5] + y });
    const a = at(149, 226);
    const b = at(189, 266);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 4 });
    await page.mouse.up();
    await until('measurement', 'data-state', 'is', 'done');
    const label = page.getByTestId('measurement-label').first();
    const mean = Number(await label.getAttribute('data-mean'));
    const sd = Number(await label.getAttribute('data-sd'));
    assert.ok(Math.abs(mean - 62) < 3, `mean ${mean} HU`);
    assert.ok(sd > 4 && sd < 12, `SD ${sd} HU`);
    assert.match(await label.textContent() ?? '', /HU/);
    await page.screenshot({ path: path.join(SHOTS, 'viewer-roi.png') });
    // A length of 100 pixels along a row: 100 × 350/512 mm.
    await page.getByTestId('tool-length').click();
    const c = at(100, 400);
    const d = at(200, 400);
    await page.mouse.move(c.x, c.y);
    await page.mouse.down();
    await page.mouse.move(d.x, d.y, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid=measurement][data-kind=length]')?.getAttribute('data-state') === 'done');
    const length = Number(await page.locator('[data-testid=measurement][data-kind=length] [data-testid=measurement-label]').getAttribute('data-length-mm'));
    assert.ok(Math.abs(length - (100 * 350) / 512) < 0.1, `length ${length} mm`);
    await page.getByTestId('tool-scroll').click();
  });

  test('key image, DICOM attributes and the help overlay', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.keyboard.press('k');
    await page.getByTestId('key-image-mark-0').waitFor();
    await page.getByTestId('attributes-open').click();
    await page.locator('[data-testid=attribute-row][data-tag="00100010"]').waitFor();
    assert.match(await page.locator('[data-testid=attribute-row][data-tag="00100010"]').innerText(), /山田\^太郎/);
    assert.equal(await page.locator('[data-testid=attribute-row][data-tag="7FE00010"]').count(), 1);
    assert.doesNotMatch(await page.locator('[data-testid=attribute-row][data-tag="7FE00010"]').innerText(), /[A-Za-z0-9+/]{100}/, 'no pixel data');
    await page.keyboard.press('Escape');
    await page.getByTestId('attributes-panel').waitFor({ state: 'hidden' });
    await page.keyboard.press('?');
    await page.getByTestId('viewer-help').waitFor();
    assert.ok((await page.getByTestId('shortcut-row').count()) >= 15);
    await page.screenshot({ path: path.join(SHOTS, 'viewer-help.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('viewer-help').waitFor({ state: 'hidden' });
  });

  test('the prior beside the current study scrolls to the same slice position', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.locator(`[data-testid=prior-0][data-study-uid="${priorUid}"]`).waitFor();
    await page.getByTestId('prior-compare-0').click();
    await until('viewport-sop-1', 'data-sop', 'set');
    assert.equal(await attr('viewports', 'data-layout'), '1x2');
    assert.equal(await attr('sync', 'aria-pressed'), 'true');
    // The prior joins the current slice (−12.5 mm): its 13th slice (47.5 − 12 × 5).
    await until('viewport-slice-1', 'data-index', 'is', '12');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp'); // −7.5 mm: the prior's nearest is −7.5 mm
    await until('viewport-slice-1', 'data-index', 'is', '11');
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowUp'); // 17.5 mm
    await until('viewport-slice-1', 'data-index', 'is', '6');
    await until('viewport-sop-1', 'data-shown-index', 'is', '6');
    const slices = [await page.getByTestId('viewport-slice-0').innerText(), await page.getByTestId('viewport-slice-1').innerText()];
    assert.match(slices[0]!, /位置 17\.5 mm/);
    assert.match(slices[1]!, /位置 17\.5 mm/);
    await page.screenshot({ path: path.join(SHOTS, 'viewer-prior-side-by-side.png') });
  });

  test('cine plays a multi-frame object at the chosen rate, frame after frame on screen, and stops', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await page.goto(`${base}/viewer/studies/${encodeURIComponent(cineStudyUid)}`);
    await until('viewport-sop-0', 'data-frame', 'is', '1');
    assert.equal(await attr('viewport-slice-0', 'data-count'), String(CINE_FRAMES), 'one stack item per frame');
    // The object's own rate (Frame Time 50 ms) until the reader chooses another.
    const rate = page.getByTestId('cine-rate');
    assert.equal(await rate.getAttribute('data-fps'), String(1000 / CINE_FRAME_TIME_MS));
    await rate.selectOption(String(CINE_FPS));
    await until('cine-rate', 'data-fps', 'is', CINE_FPS);
    // Every change of the frame asked for (data-index) and of the frame on screen (data-frame), timed in the page.
    await page.evaluate(() => {
      const doc = (globalThis as any).document;
      const w = globalThis as any;
      w.__cine = [];
      const slice = doc.querySelector('[data-testid=viewport-slice-0]');
      const sop = doc.querySelector('[data-testid=viewport-sop-0]');
      w.__cineObserver = new w.MutationObserver(() => {
        w.__cine.push({ t: w.performance.now(), index: Number(slice.getAttribute('data-index')), frame: Number(sop.getAttribute('data-frame')) });
      });
      w.__cineObserver.observe(slice, { attributes: true, attributeFilter: ['data-index'] });
      w.__cineObserver.observe(sop, { attributes: true, attributeFilter: ['data-frame'] });
    });
    type Sample = { t: number; index: number; frame: number };
    const samples = () => page.evaluate(() => (globalThis as any).__cine as Array<{ t: number; index: number; frame: number }>);
    const now = () => page.evaluate(() => (globalThis as any).performance.now() as number);
    const started = await now();
    await page.getByTestId('cine').click();
    await page.getByTestId('cine-state-0').waitFor();
    assert.equal(await attr('cine-state-0', 'data-fps'), String(CINE_FPS));
    assert.equal(await page.getByTestId('cine-state-0').innerText(), `シネ再生中 ${CINE_FPS} fps`);
    await page.waitForTimeout(3500);
    await page.screenshot({ path: path.join(SHOTS, 'viewer-cine.png') });
    await page.getByTestId('cine').click();
    const stopped = await now();
    await page.getByTestId('cine-state-0').waitFor({ state: 'detached' });
    const playing: Sample[] = (await samples()).filter((x) => x.t >= started && x.t <= stopped);
    // The rate: index steps over the span between the first and the last step, after the first second.
    const steps: Sample[] = [];
    for (const x of playing) if (steps.length === 0 || steps[steps.length - 1]!.index !== x.index) steps.push(x);
    const settled = steps.filter((x) => x.t >= steps[0]!.t + 1000);
    assert.ok(settled.length >= 10, `${settled.length} frame steps after the first second`);
    const fps = ((settled.length - 1) * 1000) / (settled[settled.length - 1]!.t - settled[0]!.t);
    assert.ok(Math.abs(fps - CINE_FPS) <= CINE_FPS * 0.25, `cine ran at ${fps.toFixed(1)} frames per second, ${CINE_FPS} chosen`);
    t.diagnostic(`cine: ${fps.toFixed(2)} frames per second with ${CINE_FPS} chosen`);
    // One frame forward at a time, in a loop. The page shows the frame asked for once per
    // animation frame, so a page too busy to draw for k frame intervals shows k steps at once;
    // that is the only time a frame may be passed over, and never more than the time allows.
    const interval = 1000 / CINE_FPS;
    for (let i = 1; i < steps.length; i++) {
      const forward = (steps[i]!.index - steps[i - 1]!.index + CINE_FRAMES) % CINE_FRAMES;
      const gap = steps[i]!.t - steps[i - 1]!.t;
      assert.ok(forward === 1 || (forward > 1 && gap >= (forward - 0.5) * interval), `one frame forward at a time, in a loop: ${steps[i - 1]!.index} then ${steps[i]!.index} after ${gap.toFixed(0)} ms`);
    }
    // The screen follows: the frame shown changes with the steps, forward only (modulo the loop).
    const shown: number[] = [];
    for (const x of playing) if (x.frame && shown[shown.length - 1] !== x.frame) shown.push(x.frame);
    assert.ok(shown.length >= 0.7 * steps.length, `${shown.length} frames shown for ${steps.length} steps`);
    t.diagnostic(`cine: ${shown.length} frames shown on screen for ${steps.length} steps`);
    for (let i = 1; i < shown.length; i++) {
      const forward = (shown[i]! - shown[i - 1]! + CINE_FRAMES) % CINE_FRAMES;
      assert.ok(forward >= 1 && forward <= 3, `frame ${shown[i - 1]} then ${shown[i]}`);
    }
    assert.ok(new Set(shown).size >= 0.7 * CINE_FRAMES, `${new Set(shown).size} of ${CINE_FRAMES} frames shown: the loop went round`);
    // Stopped: the frame asked for stays put, and the screen settles on it.
    const stopIndex = Number(await attr('viewport-slice-0', 'data-index'));
    await page.waitForTimeout(1000);
    assert.equal(Number(await attr('viewport-slice-0', 'data-index')), stopIndex, 'no step after the stop');
    const late = (await samples()).filter((x) => x.t > stopped + 300 && x.index !== stopIndex);
    assert.deepEqual(late, [], 'no frame change after the stop');
    await until('viewport-sop-0', 'data-frame', 'is', stopIndex + 1);
    await until('frame-quality-0', 'data-quality', 'is', 'lossless');
    assert.equal(await page.getByTestId('cine').innerText(), 'シネ');
    await page.evaluate(() => (globalThis as any).__cineObserver.disconnect());
  });

  test('nothing is stored by the browser and no DICOM reaches it', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const stored = (await page.evaluate(`(async () => ({
      caches: await caches.keys(),
      databases: (await indexedDB.databases()).map((d) => d.name),
      workers: (await navigator.serviceWorker.getRegistrations()).length,
      local: Object.keys(localStorage),
      session: Object.keys(sessionStorage),
    }))()`)) as { caches: string[]; databases: string[]; workers: number; local: string[]; session: string[] };
    assert.deepEqual(stored.caches, [], 'Cache Storage is empty');
    assert.deepEqual(stored.databases, [], 'no IndexedDB database');
    assert.equal(stored.workers, 0, 'no service worker');
    assert.deepEqual(stored.session, []);
    assert.ok(stored.local.every((k) => k === 'enkaku.language'), `localStorage: ${stored.local.join(', ')}`);
    const cdp = await context!.newCDPSession(page);
    const usage = (await cdp.send('Storage.getUsageAndQuota', { origin: base })) as { usageBreakdown: Array<{ storageType: string; usage: number }> };
    for (const u of usage.usageBreakdown) {
      if (['indexeddb', 'cache_storage', 'service_workers', 'file_systems', 'websql'].includes(u.storageType)) assert.equal(u.usage, 0, `${u.storageType} usage`);
    }

    const images = seen.filter((s) => s.contentType.startsWith('image/'));
    assert.ok(images.length > 20, `${images.length} images seen`);
    for (const s of images) assert.match(s.cacheControl, /no-store/, `${s.url} has Cache-Control: ${s.cacheControl}`);
    for (const s of seen.filter((x) => x.url.includes('/dicomweb/'))) assert.match(s.cacheControl, /no-store/, s.url);
    assert.deepEqual(seen.filter((s) => /application\/dicom(?!\+json)/.test(s.contentType) || /application\/dicom(?!\+json)/.test(s.accept) || s.contentType.startsWith('multipart/related')).map((s) => s.url), [], 'no DICOM asked for or received');
    assert.deepEqual(seen.filter((s) => s.url.includes('/dicomweb/') && /\/(instances\/[^/?]+|frames\/[^/?]+|bulkdata\/[^/?]+)(\?|$)/.test(s.url)).map((s) => s.url), [], 'no retrieve of instances, frames or bulk data');
    assert.ok(images.every((s) => /\/(rendered|thumbnail)\?|\/api\/qc\/patterns\//.test(s.url)), 'images are rendered images, thumbnails or test patterns');
  });
});
