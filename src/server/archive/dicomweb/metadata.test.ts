/**
 * WADO-RS metadata and bulk data (PS3.18 §10.4.1.1.2, §10.4.1.1.5), and CORS for a
 * DICOMweb client in another origin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { generateSeries, SAMPLE_PATIENTS, type SyntheticInstance } from '../dicom/synthetic.ts';
import type { JsonDataset } from '../dicom/json.ts';

const OP = { kind: 'system', name: 'test' } as const;
const OHIF = 'https://viewer.example.jp';

describe('WADO-RS metadata, bulk data and CORS', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let readA: string;
  let readB: string;
  let write: string;
  let series: SyntheticInstance[];
  const study = '2.25.4001';
  const seriesUid = '2.25.40011';

  before(async () => {
    rt = await testRuntime({ dicomwebCorsOrigins: [OHIF], publicUrl: 'https://enkaku.example.jp' });
    app = await buildApp(rt);
    const a = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    const b = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    write = (await rt.tokens.create(OP, { facilityId: a, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    readA = (await rt.tokens.create(OP, { facilityId: a, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    readB = (await rt.tokens.create(OP, { facilityId: b, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    series = [...generateSeries({ modality: 'CT', count: 4, rows: 16, columns: 16, studyInstanceUid: study, seriesInstanceUid: seriesUid, seed: 5, patient: SAMPLE_PATIENTS[0]!, charset: '\\ISO 2022 IR 87' })];
    const boundary = 'xx';
    const body = Buffer.concat([...series.flatMap((i) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), i.bytes, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
    const res = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload: body });
    assert.equal(res.statusCode, 200);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const get = (url: string, token = readA, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, ...headers } });

  test('series metadata is a DICOM JSON array, one object per instance, Japanese names in all groups', async () => {
    const res = await get(`/dicomweb/studies/${study}/series/${seriesUid}/metadata`, readA, { accept: 'application/dicom+json' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/dicom\+json(; charset=utf-8)?$/);
    const body = res.json() as JsonDataset[];
    assert.equal(body.length, 4);
    assert.deepEqual(new Set(body.map((d) => d['00080018']!.Value![0])), new Set(series.map((i) => i.sopInstanceUid)));
    assert.deepEqual(body[0]!['00100010'], { vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }] });
    const one = body.find((d) => d['00080018']!.Value![0] === series[2]!.sopInstanceUid)!;
    assert.equal(one['7FE00010']!.BulkDataURI, `https://enkaku.example.jp/dicomweb/studies/${study}/series/${seriesUid}/instances/${series[2]!.sopInstanceUid}/bulkdata/7FE00010`);
    assert.equal(one['7FE00010']!.Value, undefined, 'no pixels in metadata');
    const again = await get(`/dicomweb/studies/${study}/series/${seriesUid}/metadata`);
    assert.deepEqual(again.json(), body, 'the same answer from the cache');
  });

  test('study and instance metadata; unknown resources 404; other media types 406', async () => {
    assert.equal(((await get(`/dicomweb/studies/${study}/metadata`)).json() as unknown[]).length, 4);
    const inst = await get(`/dicomweb/studies/${study}/series/${seriesUid}/instances/${series[0]!.sopInstanceUid}/metadata`);
    assert.equal((inst.json() as unknown[]).length, 1);
    assert.equal((await get(`/dicomweb/studies/2.25.999/metadata`)).statusCode, 404);
    assert.equal((await get(`/dicomweb/studies/${study}/metadata`, readA, { accept: 'multipart/related; type="application/dicom+xml"' })).statusCode, 406);
  });

  test('another facility sees no metadata; anonymous callers are refused; reads are audited', async () => {
    assert.equal((await get(`/dicomweb/studies/${study}/metadata`, readB)).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: `/dicomweb/studies/${study}/metadata` })).statusCode, 401);
    const audited = await rt.audit.search(OP, { action: 'instance.metadata', limit: 100 });
    assert.ok(audited.total >= 3);
  });

  test('bulk data of pixel data leads to the frames resource', async () => {
    const res = await get(`/dicomweb/studies/${study}/series/${seriesUid}/instances/${series[0]!.sopInstanceUid}/bulkdata/7FE00010`);
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /\/frames\/1$/);
    assert.equal((await get(`/dicomweb/studies/${study}/series/${seriesUid}/instances/${series[0]!.sopInstanceUid}/bulkdata/00100010`)).statusCode, 404);
    assert.equal((await get(`/dicomweb/studies/${study}/series/${seriesUid}/instances/${series[0]!.sopInstanceUid}/bulkdata/zz`)).statusCode, 400);
  });

  test('metadata of a file altered on disk is never served and raises an alert', async () => {
    const [inst] = generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16, studyInstanceUid: study, seriesInstanceUid: '2.25.40012', seed: 6, patient: SAMPLE_PATIENTS[0]! });
    const boundary = 'yy';
    const payload = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), inst!.bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    const stored = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload });
    assert.equal(stored.statusCode, 200);
    const row = (await rt.intake.repo.instanceByUid(inst!.sopInstanceUid))!;
    const file = rt.blobs.pathOf(row.blob_sha256);
    fs.chmodSync(file, 0o600);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const res = await get(`/dicomweb/studies/${study}/series/2.25.40012/metadata`);
    assert.equal(res.statusCode, 500);
    assert.match(res.json().message, /integrity check/);
    assert.ok((await rt.alerts.list(OP)).some((a) => a.kind === 'integrity'), 'an integrity alert is raised');
    assert.equal((await get(`/dicomweb/studies/${study}/series/2.25.40012/metadata`)).statusCode, 500, 'nothing read from the altered file was kept');
  });

  test('CORS: the configured viewer origin may call DICOMweb with a token; other origins and the API may not', async () => {
    const pre = await app.inject({ method: 'OPTIONS', url: `/dicomweb/studies`, headers: { origin: OHIF, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], OHIF);
    assert.match(String(pre.headers['access-control-allow-headers']), /Authorization/i);
    assert.equal(pre.headers['access-control-allow-credentials'], undefined, 'never with cookies');
    const res = await get(`/dicomweb/studies/${study}/metadata`, readA, { origin: OHIF });
    assert.equal(res.headers['access-control-allow-origin'], OHIF);
    const evil = await get(`/dicomweb/studies/${study}/metadata`, readA, { origin: 'https://evil.example' });
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    const api = await app.inject({ method: 'GET', url: '/api/session', headers: { origin: OHIF } });
    assert.equal(api.headers['access-control-allow-origin'], undefined, 'the session API is same-origin only');
  });
});
