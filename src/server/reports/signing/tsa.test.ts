import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { which } from '../../../../test/helpers.ts';
import { loadConfig } from '../../config.ts';
import { SecretBox } from '../../platform/secrets.ts';
import { LocalAuthority } from './authority.ts';
import { der, sha256 } from './cms.ts';
import { OID } from './oids.ts';
import { registerTsaRoutes } from './routes.ts';
import { flipByte, needOpenssl, run, runAsync, scratch } from './test-support.ts';
import { checkTimeStampToken, HttpTsaClient, LocalTsa } from './tsa.ts';

/** The status and failInfo bits of a TimeStampResp. */
function statusOf(reply: Buffer): { status: number; failBits: string } {
  const resp = new pkijs.TimeStampResp({ schema: asn1js.fromBER(new Uint8Array(reply)).result });
  const fail = resp.status.failInfo ? Buffer.from(resp.status.failInfo.valueBlock.valueHexView).toString('hex') : '';
  return { status: resp.status.status, failBits: fail };
}

function query(hashOid: string, digest: Buffer, extra: { reqPolicy?: string } = {}): Buffer {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({ hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: hashOid }), hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(digest) }) }),
    certReq: true,
    ...extra,
  });
  return der(req.toSchema());
}

describe('built-in TSA over HTTP (POST /tsa) and the HTTP TSA client', () => {
  const tmp = scratch();
  let authority: LocalAuthority;
  let tsa: LocalTsa;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    authority = await LocalAuthority.open(tmp.dir, SecretBox.open(tmp.dir));
    tsa = new LocalTsa(authority.tsa, [authority.ca.certificate]);
    app = Fastify();
    await registerTsaRoutes(app, tsa);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/tsa`;
    tmp.file('ca.pem', authority.caPem);
  });
  after(async () => {
    await app.close();
    tmp.cleanup();
  });

  it('answers openssl ts -query with a reply that openssl ts -verify accepts, naming the local TSA and policy', async (t) => {
    if (!needOpenssl(t)) return;
    const data = tmp.file('data.txt', '読影報告書 第1版\n');
    const q = run('openssl', ['ts', '-query', '-data', data, '-sha256', '-cert', '-out', tmp.file('q.tsq')]);
    assert.equal(q.status, 0, q.out);
    let reply: Buffer;
    if (which('curl')) {
      const c = await runAsync('curl', ['-s', '-f', '-H', 'Content-Type: application/timestamp-query', '--data-binary', `@${tmp.file('q.tsq')}`, url, '-o', tmp.file('r.tsr'), '-w', '%{content_type}']);
      assert.equal(c.status, 0, c.out);
      assert.equal(c.out, 'application/timestamp-reply');
      reply = fs.readFileSync(tmp.file('r.tsr'));
    } else {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: fs.readFileSync(tmp.file('q.tsq')) });
      assert.equal(res.headers.get('content-type'), 'application/timestamp-reply');
      reply = Buffer.from(await res.arrayBuffer());
      tmp.file('r.tsr', reply);
    }
    const text = run('openssl', ['ts', '-reply', '-in', tmp.file('r.tsr'), '-text']);
    assert.match(text.out, /Status: Granted\./);
    assert.match(text.out, new RegExp(`Policy OID: ${OID.localTsaPolicy.replace(/\./g, '\\.')}`));
    assert.match(text.out, /Nonce: 0x/);
    assert.match(text.out, /TSA: DirName:.*local clock, not accredited/);
    const ok = run('openssl', ['ts', '-verify', '-queryfile', tmp.file('q.tsq'), '-in', tmp.file('r.tsr'), '-CAfile', tmp.file('ca.pem')]);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Verification: OK/);
    const okData = run('openssl', ['ts', '-verify', '-data', data, '-in', tmp.file('r.tsr'), '-CAfile', tmp.file('ca.pem')]);
    assert.equal(okData.status, 0, okData.out);
    const other = tmp.file('other.txt', flipByte(fs.readFileSync(data), 2));
    const ko = run('openssl', ['ts', '-verify', '-data', other, '-in', tmp.file('r.tsr'), '-CAfile', tmp.file('ca.pem')]);
    assert.notEqual(ko.status, 0, ko.out);
    assert.equal(statusOf(reply).status, 0);
  });

  it('rejects what it does not do: SHA-1, other policies, malformed requests, other content types', async () => {
    const post = async (body: Buffer, type = 'application/timestamp-query'): Promise<{ status: number; body: Buffer }> => {
      const res = await app.inject({ method: 'POST', url: '/tsa', headers: { 'content-type': type }, payload: body });
      return { status: res.statusCode, body: res.rawPayload };
    };
    const sha1 = await post(query('1.3.14.3.2.26', Buffer.alloc(20, 1)));
    assert.equal(sha1.status, 200);
    assert.deepEqual(statusOf(sha1.body), { status: 2, failBits: '80' }); // badAlg
    const policy = await post(query(OID.sha256, Buffer.alloc(32, 1), { reqPolicy: '1.2.3.4' }));
    assert.equal(statusOf(policy.body).status, 2);
    assert.equal(statusOf(policy.body).failBits, '0001'); // unacceptedPolicy (bit 15)
    const ours = await post(query(OID.sha256, Buffer.alloc(32, 1), { reqPolicy: OID.localTsaPolicy }));
    assert.equal(statusOf(ours.body).status, 0);
    const junk = await post(Buffer.from('not a request'));
    assert.equal(statusOf(junk.body).status, 2);
    const json = await post(Buffer.from('{}'), 'application/json');
    assert.equal(json.status, 415);
  });

  it('the HTTP client gets a verified token with its nonce', async () => {
    const client = new HttpTsaClient(url);
    const digest = sha256(Buffer.from('signature value'));
    const stamp = await client.timestamp(digest);
    assert.equal(stamp.local, true);
    assert.equal(stamp.policy, OID.localTsaPolicy);
    assert.match(stamp.tsa, /^Enkaku built-in TSA/);
    const check = checkTimeStampToken(stamp.token, digest);
    assert.equal(check.valid, true, check.problems.join('; '));
    assert.ok(check.nonce);
    assert.equal(checkTimeStampToken(stamp.token, sha256(Buffer.from('other'))).valid, false);
    await assert.rejects(new HttpTsaClient(url.replace('/tsa', '/nowhere')).timestamp(digest), /HTTP 404/);
  });

  it('is chosen by ENKAKU_TSA_URL; unset means the built-in TSA', () => {
    assert.equal(loadConfig({}).tsa.url, undefined);
    assert.equal(loadConfig({ ENKAKU_TSA_URL: 'https://tsa.example.jp/tsa' }).tsa.url, 'https://tsa.example.jp/tsa');
    assert.throws(() => loadConfig({ ENKAKU_TSA_URL: 'ftp://tsa.example.jp/' }), /ENKAKU_TSA_URL/);
  });
});
