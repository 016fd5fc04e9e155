/**
 * WADO-RS Retrieve Frames (PS3.18 §10.4.1.1.3): native frames as little-endian octets,
 * compressed frames as stored with their media type, 406 for syntaxes Enkaku does not hold.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { testRuntime } from '../../../../test/helpers.ts';
import type { Runtime } from '../../runtime.ts';
import { generateSeries, initSyntheticCodecs, type SyntheticInstance } from '../dicom/synthetic.ts';
import { BufferSource, readFileMeta, scanDataset } from '../dicom/parse.ts';
import { TS } from '../dicom/uids.ts';
import { parseMediaType, readMultipart } from './multipart.ts';

const OP = { kind: 'system', name: 'test' } as const;

async function parts(body: Buffer, contentType: string): Promise<Array<{ type: string; data: Buffer }>> {
  const out: Array<{ type: string; data: Buffer }> = [];
  await readMultipart(
    (async function* () {
      yield body;
    })(),
    parseMediaType(contentType).params.boundary!,
    async (headers) => {
      const chunks: Buffer[] = [];
      return { write: async (c) => void chunks.push(Buffer.from(c)), end: async () => void out.push({ type: headers['content-type'] ?? '', data: Buffer.concat(chunks) }) };
    },
  );
  return out;
}

/** The native Pixel Data bytes of a file. */
function pixelBytes(file: Buffer): Buffer {
  const src = new BufferSource(file);
  const meta = readFileMeta(src);
  const scan = scanDataset(src, meta.datasetOffset, meta.transferSyntaxUid, new Set());
  return file.subarray(scan.pixel!.offset, scan.pixel!.offset + scan.pixel!.length);
}

describe('WADO-RS frames', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let readA: string;
  let readB: string;
  const made: Record<string, SyntheticInstance> = {};

  before(async () => {
    await initSyntheticCodecs();
    rt = await testRuntime();
    app = await buildApp(rt);
    const a = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
    const b = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    const write = (await rt.tokens.create(OP, { facilityId: a, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    readA = (await rt.tokens.create(OP, { facilityId: a, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    readB = (await rt.tokens.create(OP, { facilityId: b, name: 'viewer', scopes: ['dicomweb:read'] })).token;
    for (const [name, ts] of [['le', TS.ExplicitVRLittleEndian], ['be', TS.ExplicitVRBigEndian], ['jls', TS.JpegLsLossless], ['rle', TS.RleLossless]] as const) {
      made[name] = [...generateSeries({ modality: 'CT', count: 1, rows: 32, columns: 32, transferSyntax: ts, seed: 77 })][0]!;
    }
    const boundary = 'xx';
    const body = Buffer.concat([...Object.values(made).flatMap((i) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), i.bytes, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
    const res = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload: body });
    assert.equal(res.statusCode, 200, res.body);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  const url = (i: SyntheticInstance, frames = '1') => `/dicomweb/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}/frames/${frames}`;
  const get = (u: string, accept?: string, token = readA) => app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) } });

  test('a native frame comes back as the stored little-endian pixel bytes', async () => {
    const res = await get(url(made.le!), 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1');
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^multipart\/related; type="application\/octet-stream"; boundary=/);
    const got = await parts(res.rawPayload, String(res.headers['content-type']));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.type, 'application/octet-stream');
    assert.ok(got[0]!.data.equals(pixelBytes(made.le!.bytes)));
    assert.equal(got[0]!.data.length, 32 * 32 * 2);
  });

  test('a big-endian file\'s frame is served in little-endian byte order', async () => {
    const res = await get(url(made.be!));
    const got = await parts(res.rawPayload, String(res.headers['content-type']));
    assert.ok(got[0]!.data.equals(pixelBytes(made.le!.bytes)), 'same pixel values as the little-endian original');
  });

  test('a compressed frame is served as stored, with its media type and transfer syntax', async () => {
    const res = await get(url(made.jls!), 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    assert.equal(res.statusCode, 200);
    const got = await parts(res.rawPayload, String(res.headers['content-type']));
    assert.equal(got[0]!.type, `application/octet-stream; transfer-syntax=${TS.JpegLsLossless}`);
    assert.equal(got[0]!.data.readUInt16BE(0), 0xffd8, 'a JPEG-LS codestream starts with SOI');
    const jls = await get(url(made.jls!), 'multipart/related; type="image/jls"');
    assert.equal(jls.statusCode, 200);
    assert.match(String(jls.headers['content-type']), /type="image\/jls"/);
    const r = await get(url(made.rle!));
    const rle = await parts(r.rawPayload, String(r.headers['content-type']));
    assert.equal(rle[0]!.type, `image/dicom-rle; transfer-syntax=${TS.RleLossless}`);
  });

  test('what Enkaku cannot give is refused: other syntaxes 406, missing frames 404, bad lists 400', async () => {
    assert.equal((await get(url(made.jls!), 'multipart/related; type="application/octet-stream"')).statusCode, 406, 'no transcoding to native');
    assert.equal((await get(url(made.le!), 'multipart/related; type="image/jpeg"')).statusCode, 406);
    assert.equal((await get(url(made.le!, '2'))).statusCode, 404);
    assert.equal((await get(url(made.le!, '0'))).statusCode, 400);
    assert.equal((await get(url(made.le!, '1,x'))).statusCode, 400);
    assert.equal((await get(url(made.le!, '1,1'))).statusCode, 200, 'a frame may be listed twice');
  });

  test('only the owning facility\'s token gets pixels; browsers never do', async () => {
    assert.equal((await get(url(made.le!), undefined, readB)).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: url(made.le!) })).statusCode, 401);
  });
});
