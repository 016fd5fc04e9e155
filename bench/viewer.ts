/**
 * Viewer benchmark (`npm run bench:viewer`): the real web viewer in headless Chromium
 * (Debian's package, driven by playwright-core) on a 300-slice 512×512 CT, first against
 * Enkaku's rendered images and then, with the very same client, against Orthanc's
 * `/instances/{id}/rendered` (REQUIREMENTS Q5, issue 6).
 *
 * One run:
 *  1. writes the CT series and loads it into a fresh Enkaku (STOW-RS) and a fresh Orthanc
 *     (REST `POST /instances`);
 *  2. creates a reader, logs in (TOTP), registers and chooses a GSDF reading terminal and
 *     records its daily check (images are then rendered through the terminal's LUT, and a
 *     contract that requires the check does not block reading);
 *  3. starts a small proxy that serves the same web application and `/api` from Enkaku but
 *     answers `/dicomweb/*` from Orthanc (QIDO-RS and metadata from its DICOMweb plugin,
 *     rendered frames from `/instances/{id}/rendered`), so the Orthanc figures come from
 *     the same viewer code;
 *  4. for each server: time to first image on loopback (open from the study list, and a
 *     cold page load), then over an emulated 20 Mbit/s, 40 ms link (Chromium's
 *     `Network.emulateNetworkConditions`): time to first image, sustained scrolling at fixed
 *     rates (keys pressed 30 and 60 times a second through 150 slices: frames shown per
 *     second, slices never shown, how late frames were), and the time from the last step
 *     until the lossless frame is on screen;
 *  5. prints both and the targets, writes `.bench/viewer-<timestamp>.json`, and stops
 *     everything it started.
 *
 * See bench/README.md ("Viewer benchmark").
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { SAMPLE_PATIENTS, writeSeries } from '../src/server/archive/dicom/synthetic.ts';
import { addUser, CHROMIUM, dicomFiles, firstLogin, launchChromium, stow } from '../test/e2e/browser.ts';
import {
  BENCH_DIR,
  BenchError,
  ROOT,
  ensureTools,
  fmt,
  freePort,
  initRun,
  launchEnkaku,
  launchOrthanc,
  pad,
  runMain,
  say,
  setupEnkaku,
  setupOrthanc,
  stamp,
  type EnkakuServer,
  type OrthancServer,
} from './lib.ts';

const USAGE = `Usage: npm run bench:viewer -- [options]

  --count N         slices of the CT series (default 300)
  --size N          rows and columns (default 512)
  --rates A,B       slices per second while scrolling, one run each (default 30,60;
                    the first is the one judged against the 25 frames/s target)
  --steps N         slices scrolled in one run (default 150)
  --repeat N        repetitions of the time-to-first-image measurements (default 5)
  --mbit N          emulated link throughput, Mbit/s (default 20)
  --rtt N           emulated latency, ms (default 40)
  --no-orthanc      measure Enkaku only
  --keep            keep the temp folder under .bench/
  -h, --help        this text`;

const { values: v } = parseArgs({
  args: process.argv.slice(2),
  allowNegative: true,
  options: {
    count: { type: 'string', default: '300' },
    size: { type: 'string', default: '512' },
    rates: { type: 'string', default: '30,60' },
    steps: { type: 'string', default: '150' },
    repeat: { type: 'string', default: '5' },
    mbit: { type: 'string', default: '20' },
    rtt: { type: 'string', default: '40' },
    orthanc: { type: 'boolean', default: true },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (v.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const int = (name: string, text: string, min: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
};
const O = {
  count: int('count', v.count!, 20),
  size: int('size', v.size!, 64),
  rates: v.rates!.split(',').map((r) => int('rates', r.trim(), 1)),
  steps: int('steps', v.steps!, 10),
  repeat: int('repeat', v.repeat!, 1),
  mbit: Number(v.mbit),
  rtt: Number(v.rtt),
  orthanc: v.orthanc!,
  keep: v.keep!,
};

const TARGET = { firstImageMs: 500, fps: 25, losslessMs: 300 };
const PASSWORD = 'Correct-Horse-9-Battery';
const RUN_DIR = path.join(BENCH_DIR, `viewer-${stamp()}-${process.pid}`);

// ---------------------------------------------------------------------------------------
// The proxy: the web application and /api from Enkaku, /dicomweb from Orthanc

/**
 * Answers `/dicomweb/*` the way the viewer asks Enkaku, from Orthanc: QIDO-RS and metadata
 * through Orthanc's DICOMweb plugin, rendered frames through `/instances/{id}/rendered`
 * (window → window-center/width, viewport → max-width/height, quality, Accept). Thumbnails
 * are not mapped (404: the navigator shows none). Everything else goes to Enkaku unchanged.
 */
function startProxy(port: number, enkaku: EnkakuServer, orthanc: OrthancServer, ids: Map<string, string>): Promise<http.Server> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, target: string, headers: http.OutgoingHttpHeaders, noStore: boolean): void => {
    const up = http.request(target, { method: req.method, headers, agent }, (answer) => {
      const h = { ...answer.headers };
      if (noStore) h['cache-control'] = 'no-store';
      res.writeHead(answer.statusCode ?? 502, h);
      answer.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
    req.pipe(up);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (!url.pathname.startsWith('/dicomweb/')) {
      forward(req, res, `${enkaku.baseUrl}${req.url}`, req.headers, false);
      return;
    }
    const rendered = /^\/dicomweb\/studies\/[^/]+\/series\/[^/]+\/instances\/([^/]+)(?:\/frames\/(\d+))?\/rendered$/.exec(url.pathname);
    if (rendered) {
      const id = ids.get(decodeURIComponent(rendered[1]!));
      if (!id) {
        res.writeHead(404).end();
        return;
      }
      const q = new URLSearchParams();
      const win = url.searchParams.get('window');
      if (win) {
        const [c, w] = win.split(',');
        q.set('window-center', c!);
        q.set('window-width', w!);
      }
      const quality = url.searchParams.get('quality');
      if (quality) q.set('quality', quality);
      const viewport = url.searchParams.get('viewport');
      if (viewport) {
        const [w, h] = viewport.split(',');
        q.set('max-width', w!);
        q.set('max-height', h!);
        q.set('smooth', '1');
      }
      const accept = url.searchParams.get('accept') ?? 'image/jpeg';
      const frame = rendered[2] ? `/frames/${Number(rendered[2]) - 1}` : '';
      forward(req, res, `${orthanc.baseUrl}/instances/${id}${frame}/rendered?${q.toString()}`, { accept }, true);
      return;
    }
    if (url.pathname.endsWith('/thumbnail')) {
      res.writeHead(404, { 'cache-control': 'no-store' }).end();
      return;
    }
    forward(req, res, `${orthanc.baseUrl}/dicom-web/${url.pathname.slice('/dicomweb/'.length)}${url.search}`, { accept: 'application/dicom+json' }, true);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

// ---------------------------------------------------------------------------------------
// Loading and preparing

async function loadOrthanc(orthanc: OrthancServer, files: string[]): Promise<Map<string, string>> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++]!;
      const r = await fetch(`${orthanc.baseUrl}/instances`, { method: 'POST', body: await fsp.readFile(f), headers: { 'content-type': 'application/dicom' } });
      if (r.status !== 200) throw new BenchError(`Orthanc POST /instances answered ${r.status}`);
      await r.arrayBuffer();
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const r = await fetch(`${orthanc.baseUrl}/tools/find`, { method: 'POST', body: JSON.stringify({ Level: 'Instance', Query: {}, Expand: true }) });
  const list = (await r.json()) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID?: string } }>;
  return new Map(list.map((x) => [x.MainDicomTags.SOPInstanceUID ?? '', x.ID]));
}

/** Registers a terminal, chooses it for the session and records a passed daily check. */
async function prepareTerminal(page: Page, base: string): Promise<void> {
  const session = (await (await page.request.get(`${base}/api/session`)).json()) as { csrfToken: string };
  const headers = { 'x-csrf-token': session.csrfToken };
  const t = await page.request.post(`${base}/api/terminals`, {
    headers,
    data: { name: 'bench', location: 'bench', displayModel: 'bench', displaySerial: 'bench', grade: '1A', lmax: 400, lmin: 0.5, lamb: 0.2, acceptanceTestedOn: new Date().toISOString().slice(0, 10), facilityId: null, profile: 'gsdf' },
  });
  if (t.status() !== 201) throw new BenchError(`POST /api/terminals answered ${t.status()}: ${await t.text()}`);
  const id = ((await t.json()) as { id: string }).id;
  const bind = await page.request.put(`${base}/api/me/terminal`, { headers, data: { terminalId: id } });
  if (bind.status() !== 200) throw new BenchError(`PUT /api/me/terminal answered ${bind.status()}`);
  const items = Object.fromEntries(['patch-5pct', 'patch-95pct', 'grey-steps', 'low-contrast', 'line-pairs', 'ramps', 'no-artefacts', 'uniformity'].map((k) => [k, true]));
  const check = await page.request.post(`${base}/api/terminals/${id}/daily-checks`, { headers, data: { pattern: 'TG18-QC', items } });
  if (check.status() !== 201) throw new BenchError(`POST daily-checks answered ${check.status()}: ${await check.text()}`);
}

// ---------------------------------------------------------------------------------------
// Measurements in the page

/** Whether an image is on the first viewport's canvas (runs in the page). */
const imageOnCanvas = (): boolean => !!(globalThis as any).document.querySelector('[data-testid=viewport-canvas-0]')?.getAttribute('data-sop');

const median = (xs: number[]): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

/** Where the time to the first image went: the requests on its path (ms, start to last byte). */
interface FirstImagePath {
  study: number;
  series: number;
  instances: number;
  rendered: number;
}

/** Opens the study from the study list; ms from the click until an image is on the canvas. */
async function openFromList(page: Page, origin: string, studyUid: string, path?: FirstImagePath[]): Promise<number> {
  await page.goto(`${origin}/viewer`);
  const row = page.locator(`[data-testid=study-row][data-study-uid="${studyUid}"]`);
  await row.waitFor({ timeout: 60_000 });
  await page.evaluate(`performance.clearResourceTimings(); document.addEventListener('click', () => { window.__benchT0 = performance.now(); }, { capture: true, once: true })`);
  await row.getByTestId(/^study-open-/).click();
  await page.waitForFunction(imageOnCanvas, undefined, { polling: 'raf', timeout: 60_000 });
  const ms = (await page.evaluate(`performance.now() - window.__benchT0`)) as number;
  if (path) {
    const entries = (await page.evaluate(`performance.getEntriesByType('resource').map((e) => [e.name, e.startTime, e.responseEnd])`)) as Array<[string, number, number]>;
    const took = (re: RegExp): number => {
      const e = entries.find(([name]) => re.test(name));
      return e ? e[2] - e[1] : Number.NaN;
    };
    path.push({ study: took(/\/studies\?StudyInstanceUID=/), series: took(/\/studies\/[^/]+\/series\?/), instances: took(/\/series\/[^/]+\/instances\?/), rendered: took(/\/rendered\?/) });
  }
  return ms;
}

/** A cold page load of the viewer URL; ms from navigation start until an image is on the canvas. */
async function coldLoad(page: Page, origin: string, studyUid: string): Promise<number> {
  await page.goto('about:blank');
  await page.goto(`${origin}/viewer/studies/${encodeURIComponent(studyUid)}`, { waitUntil: 'commit' });
  await page.waitForFunction(imageOnCanvas, undefined, { polling: 'raf', timeout: 60_000 });
  return (await page.evaluate(`performance.now()`)) as number;
}

interface ScrollResult {
  steps: number;
  seconds: number;
  /** Distinct slices drawn during the scroll, per second. */
  fps: number;
  /** Slices stepped over that were never on screen. */
  skipped: number;
  /** Median and 95th percentile of the delay from a step to its slice on screen (ms). */
  lagMedianMs: number;
  lagP95Ms: number;
  /** From the last step to its lossless frame on screen (ms). */
  losslessMs: number;
  /** Bytes received during the scroll and the lossless wait. */
  bytes: number;
}

/**
 * Scrolls `steps` slices at `rate` per second by keys dispatched inside the page (so the
 * timing does not depend on the DevTools round trip), recording when each slice is drawn.
 */
async function scroll(page: Page, from: number, steps: number, rate: number): Promise<ScrollResult> {
  await page.evaluate(`(() => { for (const key of ['Home', ...Array(${from}).fill('ArrowDown')]) window.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true })); })()`);
  await page.waitForFunction(
    (at) => {
      const c = (globalThis as any).document.querySelector('[data-testid=viewport-canvas-0]');
      return c?.getAttribute('data-index') === at && c.getAttribute('data-quality') === 'lossless';
    },
    String(from),
    { timeout: 60_000 },
  );
  await page.waitForTimeout(800); // let the idle prefetch settle, as a reader pauses before scrolling
  const out = (await page.evaluate(`(async () => {
    const steps = ${steps}, interval = 1000 / ${rate};
    const canvas = document.querySelector('[data-testid=viewport-canvas-0]');
    const shown = [];
    const observer = new MutationObserver(() => shown.push([performance.now(), Number(canvas.getAttribute('data-index')), canvas.getAttribute('data-quality')]));
    observer.observe(canvas, { attributes: true, attributeFilter: ['data-index', 'data-quality'] });
    performance.clearResourceTimings();
    const stepAt = [];
    const t0 = performance.now();
    for (let i = 1; i <= steps; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      stepAt[i] = performance.now();
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    }
    const last = performance.now();
    const deadline = last + 10000;
    while (performance.now() < deadline) {
      if (canvas.getAttribute('data-index') === String(${from} + steps) && canvas.getAttribute('data-quality') === 'lossless') break;
      await new Promise((r) => requestAnimationFrame(r));
    }
    observer.disconnect();
    const bytes = performance.getEntriesByType('resource').reduce((s, e) => s + (e.encodedBodySize || 0), 0);
    return { t0, last, stepAt, shown, bytes };
  })()`)) as { t0: number; last: number; stepAt: number[]; shown: Array<[number, number, string]>; bytes: number };
  const firstShown = new Map<number, number>();
  const losslessAt = out.shown.find(([, i, q]) => i === from + steps && q === 'lossless')?.[0];
  for (const [t, i] of out.shown) if (!firstShown.has(i) && t <= out.last + 1000 / rate) firstShown.set(i, t);
  const lags: number[] = [];
  let skipped = 0;
  for (let i = 1; i <= steps; i++) {
    const t = firstShown.get(from + i);
    if (t === undefined) skipped++;
    else lags.push(t - out.stepAt[i]!);
  }
  const seconds = (out.last - out.t0) / 1000;
  const sortedLags = [...lags].sort((a, b) => a - b);
  return {
    steps,
    seconds,
    fps: (steps - skipped) / seconds,
    skipped,
    lagMedianMs: median(lags),
    lagP95Ms: sortedLags[Math.floor(sortedLags.length * 0.95)] ?? Number.NaN,
    losslessMs: losslessAt !== undefined ? losslessAt - out.last : Number.NaN,
    bytes: out.bytes,
  };
}

/** The fast-frame JPEG quality and size on screen right now (for the report). */
async function lossyInUse(page: Page): Promise<string> {
  const q = await page.getByTestId('frame-quality-0').getAttribute('data-lossy-quality');
  const s = await page.getByTestId('frame-quality-0').getAttribute('data-lossy-scale');
  return q ? `q${q}${s && Number(s) < 1 ? ` ×${s}` : ''}` : '';
}

interface ServerFigures {
  name: string;
  firstFromList: number[];
  firstPath: FirstImagePath[];
  coldLoad: number[];
  emulatedFirst: number[];
  /** One scroll per rate (`--rates`). */
  scrolls: Array<{ rate: number; result: ScrollResult }>;
  lossyAfterScroll: string;
  error?: string;
}

async function measure(context: BrowserContext, name: string, origin: string, studyUid: string): Promise<ServerFigures> {
  const f: ServerFigures = { name, firstFromList: [], firstPath: [], coldLoad: [], emulatedFirst: [], scrolls: [], lossyAfterScroll: '' };
  const page = await context.newPage();
  let cdp: CDPSession | undefined;
  try {
    say(`  ${name}: time to first image on loopback (${O.repeat}× from the list, ${O.repeat}× cold page load)`);
    await openFromList(page, origin, studyUid); // warm-up (JIT, caches of the page itself)
    for (let i = 0; i < O.repeat; i++) f.firstFromList.push(await openFromList(page, origin, studyUid, f.firstPath));
    for (let i = 0; i < O.repeat; i++) f.coldLoad.push(await coldLoad(page, origin, studyUid));
    cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: O.rtt, downloadThroughput: (O.mbit * 1e6) / 8, uploadThroughput: (O.mbit * 1e6) / 8 });
    say(`  ${name}: over ${O.mbit} Mbit/s, ${O.rtt} ms: first image (${Math.min(3, O.repeat)}×), then ${O.steps} slices at ${O.rates.join(' and ')} per second`);
    for (let i = 0; i < Math.min(3, O.repeat); i++) f.emulatedFirst.push(await openFromList(page, origin, studyUid));
    // Each scroll goes on where the last one stopped, through slices not seen yet.
    let from = 0;
    for (const rate of O.rates) {
      const steps = Math.min(O.steps, O.count - 1 - from);
      if (steps < 10) break;
      f.scrolls.push({ rate, result: await scroll(page, from, steps, rate) });
      from += steps;
    }
    f.lossyAfterScroll = await lossyInUse(page).catch(() => '');
    // The fast frame of the last scroll: scroll once more and read it while scrolling.
    await page.keyboard.press('Home');
    await page.waitForTimeout(500);
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('ArrowDown');
      await page.waitForTimeout(1000 / O.rates[0]!);
    }
    f.lossyAfterScroll = (await lossyInUse(page).catch(() => '')) || f.lossyAfterScroll;
  } catch (err) {
    f.error = (err as Error).message.split('\n')[0];
    await page.screenshot({ path: path.join(RUN_DIR, `${name}-error.png`) }).catch(() => undefined);
  } finally {
    if (cdp) await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }).catch(() => undefined);
    await page.close();
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// Report

function report(all: ServerFigures[]): void {
  const cols = all.map((f) => f.name);
  const w = 34;
  const row = (label: string, cells: string[]): void => say(`  ${pad(label, w)}${cells.map((c) => pad(c, 20, true)).join('')}`);
  const ms = (x: number): string => (Number.isFinite(x) ? `${fmt(x, 0)} ms` : 'n/a');
  const path = (f: ServerFigures, k: keyof FirstImagePath): number => median(f.firstPath.map((p) => p[k]).filter(Number.isFinite));
  say('');
  say(`Viewer benchmark: ${O.count} slices of ${O.size}×${O.size} CT; emulated link ${O.mbit} Mbit/s, ${O.rtt} ms; ${O.steps} slices per scroll`);
  row('', cols);
  row('first image, loopback (from list)', all.map((f) => ms(median(f.firstFromList))));
  row('  best / worst', all.map((f) => (f.firstFromList.length ? `${fmt(Math.min(...f.firstFromList), 0)} / ${fmt(Math.max(...f.firstFromList), 0)} ms` : 'n/a')));
  row('  QIDO study / series / instances', all.map((f) => `${fmt(path(f, 'study'), 0)} / ${fmt(path(f, 'series'), 0)} / ${fmt(path(f, 'instances'), 0)}`));
  row('  first rendered frame request', all.map((f) => ms(path(f, 'rendered'))));
  row('first image, cold page load', all.map((f) => ms(median(f.coldLoad))));
  row('first image, emulated link', all.map((f) => ms(median(f.emulatedFirst))));
  for (const rate of O.rates) {
    const r = (f: ServerFigures): ScrollResult | undefined => f.scrolls.find((x) => x.rate === rate)?.result;
    row(`scrolling at ${rate}/s: frames shown/s`, all.map((f) => (r(f) ? `${fmt(r(f)!.fps, 1)} /s` : 'n/a')));
    row('  slices never shown', all.map((f) => (r(f) ? `${r(f)!.skipped} of ${r(f)!.steps}` : 'n/a')));
    row('  step → on screen (median/p95)', all.map((f) => (r(f) ? `${fmt(r(f)!.lagMedianMs, 0)} / ${fmt(r(f)!.lagP95Ms, 0)} ms` : 'n/a')));
    row('  received', all.map((f) => (r(f) ? `${fmt(r(f)!.bytes / 1e6, 1)} MB` : 'n/a')));
    row('  lossless after the stop', all.map((f) => (r(f) ? ms(r(f)!.losslessMs) : 'n/a')));
  }
  row('fast frames while scrolling', all.map((f) => f.lossyAfterScroll || 'n/a'));
  for (const f of all) if (f.error) say(`  ! ${f.name}: ${f.error}`);
  const e = all[0]!;
  const judged = e.scrolls[0]?.result;
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  say('');
  say('Targets (Enkaku):');
  say(`  first image on loopback < ${TARGET.firstImageMs} ms: ${ms(median(e.firstFromList))} — ${verdict(median(e.firstFromList) < TARGET.firstImageMs)}`);
  if (judged) {
    say(`  scrolling at ${e.scrolls[0]!.rate}/s shows ≥ ${TARGET.fps} frames/s: ${fmt(judged.fps, 1)} — ${verdict(judged.fps >= TARGET.fps)}`);
    say(`  lossless ≤ ${TARGET.losslessMs} ms after the stop: ${ms(judged.losslessMs)} — ${verdict(judged.losslessMs <= TARGET.losslessMs)}`);
  }
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (!CHROMIUM) throw new BenchError('chromium is not installed (apt-get install chromium)');
  await fsp.mkdir(RUN_DIR, { recursive: true });
  initRun({ dir: RUN_DIR, keep: O.keep, dcmtkEnv: { ...process.env, TCP_NODELAY: '1' } });
  const tools = ensureTools();
  const load = os.loadavg();
  say(`Host: ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
  if ((load[0] ?? 0) > os.cpus().length / 2) say('  warning: the machine is busy; the timings will be noisy (compare runs made on a quiet machine)');
  // Builds dist/web when it is missing or older than its sources.
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) throw new BenchError('the web build failed');

  say(`Writing ${O.count} slices of ${O.size}×${O.size} CT...`);
  const seriesDir = path.join(RUN_DIR, 'series');
  const written = await writeSeries(seriesDir, { modality: 'CT', count: O.count, rows: O.size, columns: O.size, patient: SAMPLE_PATIENTS[0]!, seed: 300, studyDescription: 'bench viewer' });
  const files = await dicomFiles(seriesDir);

  const setup = await setupEnkaku({ label: 'viewer', scopes: ['dicomweb:write'] });
  addUser(setup.env, 'admin', 'Bench Admin', ['system-admin']);
  const initial = addUser(setup.env, 'bench-reader', 'Bench Reader', ['radiologist', 'management-physician']);
  const enkaku = await launchEnkaku(setup);
  say('Loading the series into Enkaku (STOW-RS)...');
  await stow(enkaku.baseUrl, enkaku.token, files);

  let orthanc: OrthancServer | undefined;
  let proxyBase = '';
  if (O.orthanc) {
    orthanc = await launchOrthanc(tools, await setupOrthanc(tools, 'viewer', { KeepAlive: true, TcpNoDelay: true, HttpThreadsCount: 50 }));
    say('Loading the series into Orthanc (REST)...');
    const ids = await loadOrthanc(orthanc, files);
    if (ids.size < files.length) throw new BenchError(`Orthanc holds ${ids.size} of ${files.length} instances`);
    const port = await freePort();
    await startProxy(port, enkaku, orthanc, ids);
    proxyBase = `http://127.0.0.1:${port}`;
  }

  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const login = await context.newPage();
    await firstLogin(login, enkaku.baseUrl, 'bench-reader', initial, PASSWORD);
    await prepareTerminal(login, enkaku.baseUrl);
    await login.close();

    const all: ServerFigures[] = [await measure(context, 'Enkaku', enkaku.baseUrl, written.studyInstanceUid)];
    if (proxyBase) all.push(await measure(context, 'Orthanc', proxyBase, written.studyInstanceUid));
    report(all);
    const out = path.join(BENCH_DIR, `viewer-${stamp()}.json`);
    say(`Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    await fsp.writeFile(
      out,
      JSON.stringify(
        { options: O, chromium: browser.version(), orthanc: tools.orthancVersion, host: { loadAverageAtStart: load, loadAverageAtEnd: os.loadavg(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), node: process.version }, results: all },
        null,
        2,
      ),
    );
    say(`\nResults written to ${path.relative(ROOT, out)}`);
    return all.some((f) => f.error) ? 1 : 0;
  } finally {
    await browser?.close();
  }
}

void runMain(main);
