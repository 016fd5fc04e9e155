/**
 * WADO-RS and WADO-URI: the stored bytes exactly, in PS3.18 multipart framing, only to
 * facility systems of the owning facility, never when the file fails its digest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { generateSeries, type SyntheticInstance } from '../dicom/synthetic.ts';
import { parseMediaType, readMultipart } from './multipart.ts';

const OP = { kind: 'system', name: 'test' } as const;

async function parts(body: Buffer, contentType: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await readMultipart(
    (async function* () {
      yield body;
    })(),
    parseMediaType(contentType).params.boundary!,
    async (headers) => {
      assert.equal(headers['content-type'], 'application/dicom');
      const chunks: Buffer[] = [];
      return { write: async (c) => void chunks.push(Buffer.from(c)), end: async () => void out.push(Buffer.concat(chunks)) };
    },
  );
  return out;
}

describe('WADO-RS and WADO-URI', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let readA: string;
  let readB: string;
  let series: SyntheticInstance[];
  const study = '2.25.3001';
  const seriesUid = '2.25.30011';

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    const a = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    const b = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    const write = (await rt.tokens.create(OP, { facilityId: a, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    readA = (await rt.tokens.create(OP, { facilityId: a, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    readB = (await rt.tokens.create(OP, { facilityId: b, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    series = [...generateSeries({ modality: 'CT', count: 3, rows: 16, columns: 16, studyInstanceUid: study, seriesInstanceUid: seriesUid, seed: 4 })];
    const boundary = 'xx';
    const body = Buffer.concat([...series.flatMap((i) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), i.bytes, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
    const res = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload: body });
    assert.equal(res.statusCode, 200);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const get = (url: string, token = readA, accept?: string) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) } });

  test('an instance, a series and a study come back byte for byte as multipart/related application/dicom', async () => {
    const one = await get(`/dicomweb/studies/${study}/series/${seriesUid}/instances/${series[1]!.sopInstanceUid}`, readA, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    assert.equal(one.statusCode, 200);
    assert.match(String(one.headers['content-type']), /^multipart\/related; type="application\/dicom"; boundary=/);
    assert.equal(one.headers['cache-control'], 'no-store');
    assert.deepEqual(await parts(one.rawPayload, String(one.headers['content-type'])), [series[1]!.bytes]);
    const all = await get(`/dicomweb/studies/${study}/series/${seriesUid}`);
    const got = await parts(all.rawPayload, String(all.headers['content-type']));
    assert.equal(got.length, 3);
    assert.deepEqual(new Set(got.map((b) => b.toString('base64'))), new Set(series.map((i) => i.bytes.toString('base64'))));
    const whole = await get(`/dicomweb/studies/${study}`);
    assert.equal((await parts(whole.rawPayload, String(whole.headers['content-type']))).length, 3);
  });

  test('a transfer syntax Enkaku did not store is not acceptable (406)', async () => {
    const res = await get(`/dicomweb/studies/${study}`, readA, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50');
    assert.equal(res.statusCode, 406);
    assert.match(res.json().message, /1\.2\.840\.10008\.1\.2\.1/);
  });

  test('another facility and browser sessions get nothing', async () => {
    assert.equal((await get(`/dicomweb/studies/${study}`, readB)).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: `/dicomweb/studies/${study}` })).statusCode, 401);
  });

  test('WADO-URI serves application/dicom; every retrieval is audited', async () => {
    const i = series[0]!;
    const res = await get(`/wado?requestType=WADO&studyUID=${study}&seriesUID=${seriesUid}&objectUID=${i.sopInstanceUid}&contentType=application%2Fdicom`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/dicom');
    assert.ok(res.rawPayload.equals(i.bytes));
    assert.equal((await get(`/wado?requestType=WADO&studyUID=${study}&seriesUID=${seriesUid}&objectUID=${i.sopInstanceUid}&contentType=image%2Fjpeg`)).statusCode, 406);
    const audited = await rt.audit.search(OP, { action: 'instance.retrieve', limit: 100 });
    assert.ok(audited.total >= 4);
  });

  test('a file altered on disk is never served and raises an alert', async () => {
    const target = series[2]!;
    const row = (await rt.intake.repo.instanceByUid(target.sopInstanceUid))!;
    const file = rt.blobs.pathOf(row.blob_sha256);
    fs.chmodSync(file, 0o600);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const res = await get(`/dicomweb/studies/${study}/series/${seriesUid}/instances/${target.sopInstanceUid}`);
    assert.equal(res.statusCode, 500);
    assert.match(res.json().message, /integrity check/);
    assert.ok(!res.rawPayload.includes(Buffer.from('DICM')), 'no DICOM bytes in the error');
    const alerts = await rt.alerts.list(OP);
    assert.ok(alerts.some((a) => a.kind === 'integrity'), 'an integrity alert is raised');
  });
});
