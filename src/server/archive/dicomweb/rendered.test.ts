/**
 * WADO-RS rendered and thumbnail resources through HTTP: media types, window and viewport
 * parameters, facility scoping, integrity on read, and one audit entry per series viewed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { generateSeries, type SyntheticInstance } from '../dicom/synthetic.ts';
import { parseRenderedParams } from '../render/index.ts';

const OP = { kind: 'system', name: 'test' } as const;

describe('WADO-RS rendered and thumbnail', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let readA: string;
  let readB: string;
  let write: string;
  let series: SyntheticInstance[];

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    const a = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    const b = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    write = (await rt.tokens.create(OP, { facilityId: a, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    readA = (await rt.tokens.create(OP, { facilityId: a, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    readB = (await rt.tokens.create(OP, { facilityId: b, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    series = [...generateSeries({ modality: 'CT', count: 5, rows: 64, columns: 64, seed: 9 })];
    const boundary = 'xx';
    const body = Buffer.concat([...series.flatMap((i) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), i.bytes, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
    const res = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload: body });
    assert.equal(res.statusCode, 200, res.body);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const base = (i: SyntheticInstance) => `/dicomweb/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;
  const get = (u: string, accept?: string, token = readA) => app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) } });
  const gray = async (png: Buffer) => sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });

  test('a rendered PNG holds exactly the pixels the engine computes, at full size', async () => {
    const i = series[2]!;
    const res = await get(`${base(i)}/rendered`, 'image/png');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['cache-control'], 'no-store', 'rendered medical images are not cached by browsers');
    const { data, info } = await gray(res.rawPayload);
    assert.equal(info.width, 64);
    assert.equal(info.height, 64);
    const expected = await rt.renderer.renderPixels({ key: 'direct', bytes: i.bytes }, parseRenderedParams({}, 'image/png', 'rendered'));
    assert.equal(info.channels, expected.channels);
    assert.ok(Buffer.from(expected.data).equals(data), 'same pixels as rendering the original file');
  });

  test('window and viewport parameters change what is shown; JPEG on request', async () => {
    const i = series[2]!;
    const normal = await gray((await get(`${base(i)}/rendered`, 'image/png')).rawPayload);
    const bone = await gray((await get(`${base(i)}/rendered?window=500,2000,LINEAR`, 'image/png')).rawPayload);
    assert.ok(!normal.data.equals(bone.data), 'a wide bone window gives other gray values');
    const small = await gray((await get(`${base(i)}/frames/1/rendered?viewport=32,32`, 'image/png')).rawPayload);
    assert.deepEqual([small.info.width, small.info.height], [32, 32]);
    const jpeg = await get(`${base(i)}/rendered?quality=80`, 'image/jpeg');
    assert.equal(jpeg.headers['content-type'], 'image/jpeg');
    assert.equal(jpeg.rawPayload.readUInt16BE(0), 0xffd8);
    assert.equal((await get(`${base(i)}/rendered?window=abc`, 'image/png')).statusCode, 400);
    const annotated = await get(`${base(i)}/rendered?annotation=patient`, 'image/png');
    assert.equal(annotated.statusCode, 200);
    assert.match(String(annotated.headers.warning), /^299 .*annotation values are not supported: patient/);
    assert.equal((await get(`${base(i)}/rendered`, 'image/gif, image/jpeg;q=0, image/png;q=0')).statusCode, 406);
    assert.equal((await get(`${base(i)}/frames/2/rendered`, 'image/png')).statusCode, 404, 'a single-frame image has no frame 2');
  });

  test('thumbnails of an instance, a series and a study fit in 128 pixels', async () => {
    const i = series[0]!;
    for (const u of [`${base(i)}/thumbnail`, `/dicomweb/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/thumbnail`, `/dicomweb/studies/${i.studyInstanceUid}/thumbnail`]) {
      const res = await get(u, 'image/png');
      assert.equal(res.statusCode, 200, u);
      const { info } = await gray(res.rawPayload);
      assert.ok(info.width <= 128 && info.height <= 128, `${u}: ${info.width}x${info.height}`);
    }
  });

  test('another facility gets nothing; anonymous callers must sign in', async () => {
    assert.equal((await get(`${base(series[1]!)}/rendered`, 'image/png', readB)).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: `${base(series[1]!)}/rendered` })).statusCode, 401);
  });

  test('an instance already shown is still found only under its own study and series, and only by its facility', async () => {
    const i = series[3]!;
    assert.equal((await get(`${base(i)}/rendered`, 'image/png')).statusCode, 200);
    const otherUid = '2.25.1234567890';
    const wrongSeries = `/dicomweb/studies/${i.studyInstanceUid}/series/${otherUid}/instances/${i.sopInstanceUid}`;
    const wrongStudy = `/dicomweb/studies/${otherUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;
    const asks: Array<[string, string]> = [
      [`${wrongSeries}/rendered`, 'image/png'],
      [`${wrongStudy}/rendered`, 'image/png'],
      [`${wrongSeries}/frames/1`, 'application/octet-stream'],
      [`${wrongStudy}/metadata`, 'application/dicom+json'],
    ];
    for (const [u, accept] of asks) assert.equal((await get(u, accept)).statusCode, 404, u);
    assert.equal((await get(`${base(i)}/rendered`, 'image/png', readB)).statusCode, 404);
    assert.equal((await get(`${base(i)}/frames/1`, 'application/octet-stream', readB)).statusCode, 404);
    assert.equal((await get(`${base(i)}/frames/1`, 'application/octet-stream')).statusCode, 200);
  });

  test('the next slices are rendered ahead of a reader scrolling a series, and served to nobody else', async () => {
    const i0 = series[0]!;
    const window = '?window=41,399,linear';
    const before = rt.renderer.stats().encodes;
    const first = await get(`${base(i0)}/rendered${window}`, 'image/jpeg');
    assert.equal(first.statusCode, 200);
    const until = async (ok: () => boolean) => {
      for (let t = 0; t < 400 && !ok(); t++) await new Promise((r) => setTimeout(r, 5));
    };
    // The slice asked for, then the four after it.
    await until(() => rt.renderer.stats().encodes >= before + 5);
    const encodes = rt.renderer.stats().encodes;
    assert.equal(encodes, before + 5);
    for (const i of series.slice(1, 4)) {
      const res = await get(`${base(i)}/rendered${window}`, 'image/jpeg');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'image/jpeg');
      const expected = await rt.renderer.renderPixels({ key: `direct-${i.sopInstanceUid}`, bytes: i.bytes }, parseRenderedParams({ window: '41,399,linear' }, 'image/jpeg', 'rendered'));
      assert.equal((await gray(res.rawPayload)).info.width, expected.width);
    }
    assert.equal(rt.renderer.stats().encodes, encodes, 'slices 2 to 4 were ready before they were asked for');
    // What was rendered ahead for facility A is still refused to facility B, and a slice of
    // the series is still found only under its own study and series.
    assert.equal((await get(`${base(series[1]!)}/rendered${window}`, 'image/jpeg', readB)).statusCode, 404);
    assert.equal((await get(`${base(series[4]!)}/rendered${window}`, 'image/jpeg', readB)).statusCode, 404);
    const i4 = series[4]!;
    assert.equal((await get(`/dicomweb/studies/${i4.studyInstanceUid}/series/2.25.99/instances/${i4.sopInstanceUid}/rendered`, 'image/jpeg')).statusCode, 404);
    assert.equal((await get(`/dicomweb/studies/2.25.99/series/${i4.seriesInstanceUid}/instances/${i4.sopInstanceUid}/rendered`, 'image/jpeg')).statusCode, 404);
  });

  test('nothing is rendered ahead of a reader jumping around a series, until they scroll again', async () => {
    const long = [...generateSeries({ modality: 'CT', count: 24, rows: 32, columns: 32, seed: 21 })];
    const boundary = 'yy';
    const body = Buffer.concat([...long.flatMap((i) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), i.bytes, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
    const stored = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload: body });
    assert.equal(stored.statusCode, 200, stored.body);
    /** Images encoded for one request: itself, and what was rendered ahead after it. */
    const encodedFor = async (k: number): Promise<number> => {
      const before = rt.renderer.stats().encodes;
      assert.equal((await get(`${base(long[k]!)}/rendered?window=42,398,linear`, 'image/jpeg')).statusCode, 200);
      let seen = rt.renderer.stats().encodes;
      for (let quiet = 0; quiet < 10; ) {
        await new Promise((r) => setTimeout(r, 10));
        const now = rt.renderer.stats().encodes;
        quiet = now === seen ? quiet + 1 : 0;
        seen = now;
      }
      return seen - before;
    };
    assert.equal(await encodedFor(0), 5, 'opening the series renders the next four ahead');
    assert.equal(await encodedFor(20), 1, 'a jump renders nothing ahead');
    assert.equal(await encodedFor(16), 1, 'nor does the first short move after it');
    assert.equal(await encodedFor(15), 5, 'scrolling on renders the four before it, the way the reader moves');
  });

  test('viewing a series is audited once, not once per frame', async () => {
    const before = (await rt.audit.search(OP, { action: 'series.view', limit: 100 })).total;
    for (const i of series) await get(`${base(i)}/rendered`, 'image/png');
    const afterCount = (await rt.audit.search(OP, { action: 'series.view', limit: 100 })).total;
    assert.ok(before >= 1, 'the first view was recorded');
    assert.equal(afterCount, before, 'further frames of the same series within the window add no entries');
  });

  /** Changes an instance's stored file behind Enkaku's back (nothing of it cached in memory). */
  const alterOnDisk = async (target: SyntheticInstance, change: (bytes: Buffer) => Buffer): Promise<void> => {
    const row = (await rt.intake.repo.instanceByUid(target.sopInstanceUid))!;
    rt.renderer.forget(row.blob_sha256);
    const file = rt.blobs.pathOf(row.blob_sha256);
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file, change(fs.readFileSync(file)));
  };

  test('a file altered on disk is never rendered and raises an alert', async () => {
    const target = series[4]!;
    await alterOnDisk(target, (bytes) => {
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x40;
      return bytes;
    });
    const res = await get(`${base(target)}/rendered`, 'image/png');
    assert.equal(res.statusCode, 500);
    assert.match(res.json().message, /integrity check/);
    const alerts = await rt.alerts.list(OP);
    assert.ok(alerts.some((a) => a.kind === 'integrity'));
    const again = await get(`${base(target)}/rendered`, 'image/jpeg');
    assert.equal(again.statusCode, 500, 'nothing decoded from the altered file was kept and served later');
  });

  test('a file that grew on disk is refused too, not read short to its recorded size', async () => {
    const target = series[3]!;
    await alterOnDisk(target, (bytes) => Buffer.concat([bytes, Buffer.from([0, 0, 0, 0])]));
    const res = await get(`${base(target)}/rendered`, 'image/png');
    assert.equal(res.statusCode, 500);
    assert.match(res.json().message, /integrity check/);
  });
});
