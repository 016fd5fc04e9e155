/**
 * Browser tests of the viewer and monitor QC (issue 6): real Chromium (Debian's package)
 * driven by playwright-core against a real `enkaku serve`, with a synthetic CT study and
 * its prior sent over STOW-RS with a facility token.
 *
 * A reader (radiologist and management physician at the reading provider) registers a
 * terminal that requires the daily check, chooses it, is refused the viewer until the
 * check is recorded, and sees TG18-QC and SMPTE pixel for pixel at 1:1; then opens the study, scrolls, changes the window, shows it at 1:1 (the
 * pixels on screen are the server's rendered pixels), measures the liver in HU on the
 * server, compares with the prior scrolling in step, and the browser is shown to keep no
 * DICOM and no image (Cache Storage, IndexedDB, service workers, response headers).
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
import { SAMPLE_PATIENTS, writeSeries } from '../../src/server/archive/dicom/synthetic.ts';
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

  test('monitor QC: the session terminal, the daily check, and TG18-QC and SMPTE pixel for pixel at 1:1', async (t) => {
    if (skipReason) return t.skip(skipReason);
    // The management physician registers the terminal (there is no page for it yet).
    const session = (await (await page.request.get(`${base}/api/session`)).json()) as { csrfToken: string };
    const registered = await page.request.post(`${base}/api/terminals`, {
      headers: { 'x-csrf-token': session.csrfToken },
      data: { name: '読影室1', location: '読影室', displayModel: 'EIZO RX360', displaySerial: 'E2E-1', grade: '1A', lmax: 420, lmin: 0.6, lamb: 0.2, acceptanceTestedOn: '2025-01-06', facilityId: null, profile: 'gsdf', requireDailyCheck: true },
    });
    assert.equal(registered.status(), 201, await registered.text());

    await page.getByTestId('nav-qc').click();
    const select = page.getByTestId('qc-terminal-select');
    await select.selectOption({ index: 1 });
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
    // A drag with the stacking tool: 8 CSS pixels per slice.
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + 40, { steps: 5 });
    await page.mouse.up();
    const afterDrag = Number(await attr('viewport-slice-0', 'data-index'));
    assert.ok(afterDrag >= 10, `index ${afterDrag}`);
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
