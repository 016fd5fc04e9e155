/**
 * STOW-RS through the HTTP app: authentication, per-instance results, duplicates,
 * conflicts, malformed and oversize input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { testRuntime, listFiles } from '../../../../test/helpers.ts';
import { generateSeries, newUid, type SyntheticInstance } from '../dicom/synthetic.ts';
import type { Runtime } from '../../runtime.ts';

const OP = { kind: 'system', name: 'test' } as const;
const BOUNDARY = 'enkaku-test-boundary';

function body(parts: Buffer[], type = 'application/dicom'): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) out.push(Buffer.from(`--${BOUNDARY}\r\nContent-Type: ${type}\r\n\r\n`), p, Buffer.from('\r\n'));
  out.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(out);
}

function series(n: number, extra: Partial<Parameters<typeof generateSeries>[0]> = {}): SyntheticInstance[] {
  return [...generateSeries({ modality: 'CT', count: n, rows: 32, columns: 32, ...extra })];
}

type Json = Record<string, { vr: string; Value?: any[] }>;

describe('STOW-RS', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let token: string;
  let readOnly: string;
  let otherFacility: string;

  before(async () => {
    rt = await testRuntime({ maxUploadBytes: 2_000_000, dicom: { ...(await import('../../config.ts')).loadConfig({}).dicom, maxInstanceBytes: 200_000 } });
    const a = await rt.facilities.add(OP, { name: 'Hospital A', aets: ['MODA'] });
    const b = await rt.facilities.add(OP, { name: 'Hospital B', aets: ['MODB'] });
    token = (await rt.tokens.create(OP, { facilityId: a.id, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    readOnly = (await rt.tokens.create(OP, { facilityId: a.id, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    otherFacility = (await rt.tokens.create(OP, { facilityId: b.id, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    app = await buildApp(rt);
  });

  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const post = (payload: Buffer, opts: { token?: string; url?: string; contentType?: string } = {}) =>
    app.inject({
      method: 'POST',
      url: opts.url ?? '/dicomweb/studies',
      headers: {
        ...(opts.token === '' ? {} : { authorization: `Bearer ${opts.token ?? token}` }),
        'content-type': opts.contentType ?? `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`,
      },
      payload,
    });

  test('stores every instance, answers 200 with Retrieve URLs, and indexes them', async () => {
    const s = series(3);
    const res = await post(body(s.map((i) => i.bytes)));
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /application\/dicom\+json/);
    const json = res.json() as Json;
    assert.equal(json['00081199']?.Value?.length, 3);
    assert.equal(json['00081198'], undefined);
    assert.match(String(json['00081190']?.Value?.[0]), new RegExp(`/dicomweb/studies/${s[0]!.studyInstanceUid}$`));
    const study = await rt.intake.repo.studyByUid(s[0]!.studyInstanceUid);
    assert.equal(study?.num_instances, 3);
    // The stored file is byte-identical to what was sent.
    const row = await rt.intake.repo.instanceByUid(s[1]!.sopInstanceUid);
    assert.ok((await rt.blobs.read(row!.blob_sha256)).equals(s[1]!.bytes));
  });

  test('refuses requests without a token, with an unknown token, or without the write scope', async () => {
    const b = body(series(1).map((i) => i.bytes));
    const none = await post(b, { token: '' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await post(b, { token: 'enk_aaaaaaaaaaaa_' + 'x'.repeat(43) })).statusCode, 401);
    const ro = await post(b, { token: readOnly });
    assert.equal(ro.statusCode, 403);
    assert.match(ro.json().message, /dicomweb:write/);
  });

  test('an identical re-send succeeds; different bytes under the same UID fail with 0111 and keep the first', async () => {
    const [inst] = series(1);
    assert.equal((await post(body([inst!.bytes]))).statusCode, 200);
    const blobs = listFiles(rt.blobs.root).length;
    assert.equal((await post(body([inst!.bytes]))).statusCode, 200);
    assert.equal(listFiles(rt.blobs.root).length, blobs, 'no second copy');

    const altered = Buffer.from(inst!.bytes);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 0xff; // one pixel byte changed
    const res = await post(body([altered]));
    assert.equal(res.statusCode, 409);
    const failed = (res.json() as Json)['00081198']!.Value![0];
    assert.equal(failed['00081197'].Value[0], 0x0111);
    assert.equal(failed['00081155'].Value[0], inst!.sopInstanceUid);
    const row = await rt.intake.repo.instanceByUid(inst!.sopInstanceUid);
    assert.ok((await rt.blobs.read(row!.blob_sha256)).equals(inst!.bytes), 'first version kept');
  });

  test('a mix of good and bad parts answers 202 with a reason for each failure and stores the good ones', async () => {
    const good = series(2);
    const truncated = series(1)[0]!.bytes.subarray(0, 900);
    const notDicom = Buffer.from('this is not a DICOM file at all, just some text that is long enough to look like data'.repeat(3));
    // Renaming (0020,000D) to the unused (0020,000C) removes the Study Instance UID and keeps the order valid.
    const noStudy = Buffer.from(series(1)[0]!.bytes);
    const at = noStudy.indexOf(Buffer.from([0x20, 0x00, 0x0d, 0x00, 0x55, 0x49]));
    noStudy[at + 2] = 0x0c;
    const res = await post(body([good[0]!.bytes, truncated, notDicom, noStudy, good[1]!.bytes]));
    assert.equal(res.statusCode, 202, res.body);
    const json = res.json() as Json;
    assert.equal(json['00081199']!.Value!.length, 2);
    const reasons = json['00081198']!.Value!.map((f) => f['00081197'].Value[0]);
    assert.deepEqual(reasons, [0xc000, 0xc000, 0xc001]);
    const comments = json['00081198']!.Value!.map((f) => String(f['00000902'].Value[0]));
    assert.match(comments[0]!, /truncated|end of data/i);
    assert.match(comments[1]!, /DICM|not a DICOM/i);
    assert.match(comments[2]!, /Study Instance UID/);
    assert.equal(fsTmpCount(rt), 0, 'no half-written files remain');
  });

  test('instances of another study than the URL names fail with A900', async () => {
    const s = series(1);
    const res = await post(body([s[0]!.bytes]), { url: `/dicomweb/studies/${newUid()}` });
    assert.equal(res.statusCode, 409);
    assert.equal((res.json() as Json)['00081198']!.Value![0]['00081197'].Value[0], 0xa900);
  });

  test('a study belongs to its facility: another facility cannot add to it (0124)', async () => {
    const studyInstanceUid = newUid();
    assert.equal((await post(body(series(1, { studyInstanceUid }).map((i) => i.bytes)))).statusCode, 200);
    const res = await post(body(series(1, { studyInstanceUid }).map((i) => i.bytes)), { token: otherFacility });
    assert.equal(res.statusCode, 409);
    assert.equal((res.json() as Json)['00081198']!.Value![0]['00081197'].Value[0], 0x0124);
  });

  test('oversize instances fail with A700 and oversize requests get 413; nothing partial remains', async () => {
    const big = series(1, { rows: 512, columns: 512 })[0]!; // ~0.5 MB > 200 kB instance limit
    const res = await post(body([big.bytes]));
    assert.equal(res.statusCode, 409);
    assert.equal((res.json() as Json)['00081198']!.Value![0]['00081197'].Value[0], 0xa700);
    const tooMuch = await post(body([big.bytes, big.bytes, big.bytes, big.bytes, big.bytes]));
    assert.equal(tooMuch.statusCode, 413);
    assert.equal(await rt.intake.repo.instanceByUid(big.sopInstanceUid), undefined);
    assert.equal(fsTmpCount(rt), 0);
  });

  test('malformed multipart bodies and unsupported media types are refused with a reason', async () => {
    const cut = body(series(1).map((i) => i.bytes));
    const r1 = await post(cut.subarray(0, cut.length - 20));
    assert.equal(r1.statusCode, 400);
    assert.match(r1.json().message, /closing boundary/);
    const r2 = await post(Buffer.from('{}'), { contentType: 'application/json' });
    assert.equal(r2.statusCode, 415);
    const r3 = await post(cut, { contentType: `multipart/related; type="application/dicom+xml"; boundary=${BOUNDARY}` });
    assert.equal(r3.statusCode, 415);
    const r4 = await post(Buffer.from(`--${BOUNDARY}--\r\n`));
    assert.equal(r4.statusCode, 400);
  });
});

function fsTmpCount(rt: Runtime): number {
  return listFiles(rt.blobs.tempDir).length;
}
