/**
 * The viewer's server side through HTTP: measurements on the stored pixel values of a
 * synthetic CT with known regions (exact HU mean and SD, lengths with anisotropic spacing),
 * key images scoped to the study's facility, and the audited viewing sessions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import type { KeyImage, MeasurementResult, ViewerSession } from '../../shared/api.ts';
import { newUid } from '../archive/dicom/synthetic.ts';
import { OP, PHANTOM, call, phantomCt, phantomHu, signedIn, stow, type TestUser } from './test-support.ts';

describe('measurements, key images and viewing sessions', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let facilityA: string;
  let radiologist: TestUser;
  let mgmt: TestUser;
  let attendingA: TestUser;
  let attendingB: TestUser;
  let auditor: TestUser;
  const ids = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-MEASURE' };
  let sop: string;

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    facilityA = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    const facilityB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    const ct = phantomCt(ids);
    sop = ct.sopInstanceUid;
    await stow(app, (await rt.tokens.create(OP, { facilityId: facilityA, name: 'pacs', scopes: ['dicomweb:write'] })).token, [ct.bytes]);
    radiologist = await signedIn(rt, 'rad', 'radiologist', null);
    mgmt = await signedIn(rt, 'boss', 'management-physician', null);
    attendingA = await signedIn(rt, 'attending-a', 'attending-physician', facilityA);
    attendingB = await signedIn(rt, 'attending-b', 'attending-physician', facilityB);
    auditor = await signedIn(rt, 'auditor', 'auditor', null);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const measure = (user: TestUser, body: Record<string, unknown>) =>
    call(app, user, 'POST', '/api/measurements', { studyUid: ids.studyUid, seriesUid: ids.seriesUid, sopInstanceUid: sop, ...body });

  test('a length uses Pixel Spacing: row spacing along y, column spacing along x', async () => {
    // 30 columns × 0.8 mm = 24 mm across, 14 rows × 0.5 mm = 7 mm down: 25 mm.
    const res = await measure(radiologist, { kind: 'length', points: [{ x: 10, y: 10 }, { x: 40, y: 24 }] });
    assert.equal(res.statusCode, 200, res.body);
    const m = res.json() as MeasurementResult;
    assert.ok(Math.abs(m.lengthMm! - 25) < 1e-9, String(m.lengthMm));
    assert.ok(Math.abs(m.lengthPixels! - Math.hypot(30, 14)) < 1e-9);
    assert.deepEqual(m.spacing, { row: 0.5, column: 0.8, source: 'PixelSpacing' });
    assert.equal(m.unit, 'mm');
  });

  test('an angle is measured in millimetres, not pixels', async () => {
    // From the vertex (20, 20): 10 columns right = 8 mm; 16 rows down = 8 mm. 90° and 45°.
    const right = await measure(radiologist, { kind: 'angle', points: [{ x: 30, y: 20 }, { x: 20, y: 20 }, { x: 20, y: 36 }] });
    assert.ok(Math.abs((right.json() as MeasurementResult).angleDegrees! - 90) < 1e-9);
    const diagonal = await measure(radiologist, { kind: 'angle', points: [{ x: 30, y: 20 }, { x: 20, y: 20 }, { x: 30, y: 36 }] });
    assert.ok(Math.abs((diagonal.json() as MeasurementResult).angleDegrees! - 45) < 1e-9);
  });

  test('an ROI gives the exact HU mean and SD of the stored values', async () => {
    const c = PHANTOM.checker;
    const rect = (await measure(radiologist, { kind: 'roi', shape: 'rectangle', points: [{ x: c.x0, y: c.y0 }, { x: c.x1, y: c.y1 }] })).json() as MeasurementResult;
    const n = (c.x1 - c.x0) * (c.y1 - c.y0);
    assert.equal(rect.roi!.pixels, n);
    // A checkerboard of 40 and 60 HU: mean 50, every deviation 10, sample SD 10·√(n/(n−1)).
    assert.equal(rect.roi!.mean, 50);
    assert.ok(Math.abs(rect.roi!.sd - 10 * Math.sqrt(n / (n - 1))) < 1e-12, String(rect.roi!.sd));
    assert.deepEqual([rect.roi!.min, rect.roi!.max], [40, 60]);
    assert.ok(Math.abs(rect.roi!.areaMm2! - n * 0.4) < 1e-9);
    assert.equal(rect.unit, 'HU');

    const u = PHANTOM.uniform;
    const ellipse = (await measure(radiologist, { kind: 'roi', shape: 'ellipse', points: [{ x: u.x0, y: u.y0 }, { x: u.x1, y: u.y1 }] })).json() as MeasurementResult;
    // The same pixels by brute force: centres inside the inscribed ellipse.
    let expected = 0;
    const [cx, cy, rx, ry] = [(u.x0 + u.x1) / 2, (u.y0 + u.y1) / 2, (u.x1 - u.x0) / 2, (u.y1 - u.y0) / 2];
    for (let y = 0; y < PHANTOM.rows; y++) for (let x = 0; x < PHANTOM.columns; x++) if (((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1) expected++;
    assert.deepEqual([ellipse.roi!.pixels, ellipse.roi!.mean, ellipse.roi!.sd, ellipse.roi!.min, ellipse.roi!.max], [expected, 100, 0, 100, 100]);

    const square = (await measure(radiologist, { kind: 'roi', shape: 'polygon', points: [{ x: u.x0, y: u.y0 }, { x: u.x0 + 10, y: u.y0 }, { x: u.x0 + 10, y: u.y0 + 10 }, { x: u.x0, y: u.y0 + 10 }] })).json() as MeasurementResult;
    assert.deepEqual([square.roi!.pixels, square.roi!.mean], [100, 100]);

    // Across the air and the padding corner: padding pixels are counted apart, not averaged.
    const corner = (await measure(radiologist, { kind: 'roi', shape: 'rectangle', points: [{ x: 0, y: 56 }, { x: 4, y: 64 }] })).json() as MeasurementResult;
    const p = PHANTOM.padding;
    assert.equal(corner.roi!.paddingPixels, (p.x1 - p.x0) * (p.y1 - p.y0));
    assert.equal(corner.roi!.pixels, 4 * 4);
    assert.equal(corner.roi!.mean, phantomHu(0, 56));
  });

  test('bad shapes and points are refused; readers of other facilities find nothing', async () => {
    assert.equal((await measure(radiologist, { kind: 'roi', shape: 'rectangle', points: [{ x: 0, y: 0 }, { x: 65, y: 10 }] })).statusCode, 400);
    assert.equal((await measure(radiologist, { kind: 'roi', shape: 'polygon', points: [{ x: 0, y: 0 }, { x: 5, y: 5 }] })).statusCode, 400);
    assert.equal((await measure(radiologist, { kind: 'length', points: [{ x: 0, y: 0 }] })).statusCode, 400);
    assert.equal((await measure(radiologist, { kind: 'length', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }], frame: 2 })).statusCode, 404, 'no frame 2');
    assert.equal((await measure(attendingB, { kind: 'length', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }] })).statusCode, 404);
    assert.equal((await measure(attendingA, { kind: 'length', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }] })).statusCode, 200);
    assert.equal((await measure(auditor, { kind: 'length', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }] })).statusCode, 403);
    const audited = await rt.audit.search(OP, { action: 'instance.measure', limit: 100 });
    assert.ok(audited.total >= 5, 'every measurement is audited');
  });

  test('a file altered on disk is not measured', async () => {
    const row = (await rt.intake.repo.instanceByUid(sop))!;
    rt.renderer.forget(row.blob_sha256);
    const file = rt.blobs.pathOf(row.blob_sha256);
    const original = fs.readFileSync(file);
    fs.chmodSync(file, 0o600);
    const altered = Buffer.from(original);
    altered[altered.length - 5] = altered[altered.length - 5]! ^ 0x01;
    fs.writeFileSync(file, altered);
    const res = await measure(radiologist, { kind: 'roi', shape: 'rectangle', points: [{ x: 36, y: 4 }, { x: 60, y: 60 }] });
    assert.equal(res.statusCode, 500);
    assert.match(res.json().message, /integrity check/);
    fs.writeFileSync(file, original);
  });

  test('key images belong to the study and are seen by its facility\'s readers only', async () => {
    const url = `/api/studies/${ids.studyUid}/key-images`;
    const body = { seriesUid: ids.seriesUid, sopInstanceUid: sop, note: 'nodule', window: { center: -600, width: 1500 } };
    const first = await call(app, radiologist, 'POST', url, body);
    assert.equal(first.statusCode, 201, first.body);
    const ki = first.json() as KeyImage;
    assert.deepEqual([ki.frame, ki.note, ki.window], [1, 'nodule', { center: -600, width: 1500, fn: 'linear' }]);
    const again = await call(app, radiologist, 'POST', url, body);
    assert.equal(again.statusCode, 200, 'marking the same frame again returns the key image');
    assert.equal((again.json() as KeyImage).id, ki.id);
    assert.equal((await call(app, radiologist, 'POST', url, { ...body, frame: 2 })).statusCode, 400);
    assert.equal((await call(app, radiologist, 'POST', url, { ...body, sopInstanceUid: '1.2.3.4' })).statusCode, 404);

    assert.deepEqual(((await call(app, attendingA, 'GET', url)).json() as KeyImage[]).map((k) => k.id), [ki.id]);
    assert.equal((await call(app, attendingB, 'GET', url)).statusCode, 404, 'another facility does not see the study');
    assert.equal((await call(app, attendingB, 'POST', url, body)).statusCode, 404);
    assert.equal((await call(app, attendingA, 'DELETE', `${url}/${ki.id}`)).statusCode, 403, 'only the author or a management physician removes it');
    assert.equal((await call(app, mgmt, 'DELETE', `${url}/${ki.id}`)).statusCode, 200);
    assert.deepEqual((await call(app, radiologist, 'GET', url)).json(), []);
    assert.equal((await call(app, radiologist, 'DELETE', `${url}/${ki.id}`)).statusCode, 404);
    const actions = (await rt.audit.search(OP, { action: 'key-image.*', limit: 100 })).records.map((e) => e.action).sort();
    assert.deepEqual([...new Set(actions)], ['key-image.add', 'key-image.list', 'key-image.remove']);
  });

  test('opening and closing a study in the viewer is audited with the terminal', async () => {
    // A facility's own staff read without the provider's contract condition.
    const opened = await call(app, attendingA, 'POST', '/api/viewer/sessions', { studyUid: ids.studyUid });
    assert.equal(opened.statusCode, 201, opened.body);
    const vs = opened.json() as ViewerSession;
    assert.equal(vs.terminalId, null);
    assert.equal(vs.reading.allowed, true);
    assert.match(vs.reading.warnings.join(' '), /no reading terminal/);
    assert.equal((await call(app, attendingB, 'POST', '/api/viewer/sessions', { studyUid: ids.studyUid })).statusCode, 404);
    assert.equal((await call(app, radiologist, 'POST', `/api/viewer/sessions/${vs.id}/end`)).statusCode, 404, 'only its own viewer ends a session');
    const ended = await call(app, attendingA, 'POST', `/api/viewer/sessions/${vs.id}/end`);
    assert.equal(ended.statusCode, 200);
    assert.ok((ended.json() as ViewerSession).endedAt);
    assert.equal((await call(app, attendingA, 'POST', `/api/viewer/sessions/${vs.id}/end`)).statusCode, 200, 'ending twice is harmless');

    const views = (await rt.audit.search(OP, { action: 'study.view', limit: 10 })).records.filter((e) => e.object.id === ids.studyUid && e.outcome === 'success');
    assert.equal(views.length, 1);
    assert.equal(views[0]!.details.viewerSession, vs.id);
    assert.equal(views[0]!.details.terminal, null);
    assert.equal(views[0]!.facilityId, facilityA);
    const ends = (await rt.audit.search(OP, { action: 'study.view-end', limit: 10 })).records;
    assert.equal(ends.length, 1, 'the second end adds nothing');
    assert.equal(typeof ends[0]!.details.seconds, 'number');
  });
});
