import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sampleReportDocument } from '../test-document.ts';
import { needOpenssl, needPdfsig, physician, run, scratch, signingRuntime } from './test-support.ts';

/**
 * An outside CA (standing in for an HPKI CA) and a physician's certificate from it, made with
 * openssl: RSA in a PKCS#12 file (OpenSSL 3 defaults: PBES2 AES-256, PBKDF2, HMAC-SHA-256)
 * and ECDSA P-256 in PEM with an encrypted PKCS#8 key.
 */
function outsideCredentials(dir: ReturnType<typeof scratch>): void {
  const ok = (args: string[]): void => {
    const r = run('openssl', args);
    assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.out}`);
  };
  const f = (n: string): string => dir.file(n);
  dir.file('leaf.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n');
  ok(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '3650', '-subj', '/C=JP/O=Test HPKI/CN=Test HPKI Root CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ok(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('rsa.key'), '-out', f('rsa.csr'), '-utf8', '-subj', '/C=JP/CN=田中 二郎']);
  ok(['x509', '-req', '-in', f('rsa.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', '4097', '-days', '365', '-extfile', f('leaf.ext'), '-out', f('rsa.pem')]);
  ok(['pkcs12', '-export', '-inkey', f('rsa.key'), '-in', f('rsa.pem'), '-certfile', f('ca.pem'), '-passout', 'pass:秘密のパスワード', '-out', f('rsa.p12')]);
  ok(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ec-plain.key'), '-out', f('ec.csr'), '-utf8', '-subj', '/C=JP/CN=高橋 三郎']);
  ok(['x509', '-req', '-in', f('ec.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', '4098', '-days', '365', '-extfile', f('leaf.ext'), '-out', f('ec.pem')]);
  ok(['pkcs8', '-topk8', '-in', f('ec-plain.key'), '-v2', 'aes-256-cbc', '-passout', 'pass:pem-pass', '-out', f('ec.key')]);
}

describe('importing a physician\'s own certificate (PKCS#12, PEM)', () => {
  const tmp = scratch();
  let env: Awaited<ReturnType<typeof signingRuntime>>;
  let tanaka: string;
  let takahashi: string;
  let ready = false;

  before(async () => {
    env = await signingRuntime();
    tanaka = await physician(env.rt, 'tanaka', '田中 二郎');
    takahashi = await physician(env.rt, 'takahashi', '高橋 三郎');
  });
  after(async () => {
    await env.rt.cleanup();
    tmp.cleanup();
  });

  it('imports a PKCS#12 file with its chain; it replaces the issued certificate and signs verifiably', async (t) => {
    if (!needOpenssl(t)) return;
    outsideCredentials(tmp);
    ready = true;
    const issued = await env.signing.ensureCertificate({ id: tanaka, displayName: '田中 二郎' });
    const p12 = fs.readFileSync(tmp.file('rsa.p12'));
    await assert.rejects(
      env.signing.importCertificate({ kind: 'system', name: 'test' }, tanaka, { format: 'pkcs12', data: p12, password: 'wrong' }),
      (e: Error & { code?: string }) => e.code === 'bad_request' && /password/.test(e.message),
    );
    const imported = await env.signing.importCertificate({ kind: 'system', name: 'test' }, tanaka, { format: 'pkcs12', data: p12, password: '秘密のパスワード' });
    assert.equal(imported.source, 'imported');
    assert.equal(imported.subject, 'C=JP, CN=田中 二郎');
    assert.equal(imported.serial, '1001');
    assert.deepEqual(imported.chain.map((c) => c.subject), ['C=JP, O=Test HPKI, CN=Test HPKI Root CA']);
    const all = await env.signing.certificates(tanaka);
    assert.deepEqual(all.map((c) => [c.fingerprint, c.active]), [[imported.fingerprint, true], [issued.fingerprint, false]]);
    // A valid imported certificate is kept.
    assert.equal((await env.signing.ensureCertificate({ id: tanaka, displayName: '田中 二郎' })).fingerprint, imported.fingerprint);
    const audit = await env.rt.db.kysely.selectFrom('audit_events').select('action').where('object_id', '=', tanaka).where('action', 'like', 'signing-certificate.%').execute();
    assert.deepEqual(audit.map((a) => a.action).sort(), ['signing-certificate.import', 'signing-certificate.issue']);

    const doc = sampleReportDocument({ reader: { userId: tanaka, displayName: '田中 二郎', licenceNumber: '234567', certifications: [] } });
    const signed = await env.signing.sign(doc, tanaka);
    assert.equal(signed.certificate.fingerprint, imported.fingerprint);
    const v = await env.signing.verify(signed.pdf);
    assert.equal(v.valid, true, v.problems.join('; '));
    assert.equal(v.trusted, true, 'the imported chain\'s root is a trust anchor');
    const cms = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', tmp.file('t.p7s', signed.cms), '-content', tmp.file('t.json', signed.canonical), '-CAfile', tmp.file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
    assert.equal(cms.status, 0, cms.out);
    if (needPdfsig(t)) {
      const r = run('pdfsig', [tmp.file('t.pdf', signed.pdf)]);
      assert.match(r.out, /Signature is Valid\./);
    }
  });

  it('imports PEM with an encrypted ECDSA key, and ECDSA signatures verify', async (t) => {
    if (!ready || !needOpenssl(t)) return;
    const certificates = fs.readFileSync(tmp.file('ec.pem'), 'utf8') + fs.readFileSync(tmp.file('ca.pem'), 'utf8');
    const privateKey = fs.readFileSync(tmp.file('ec.key'), 'utf8');
    await assert.rejects(
      env.signing.importCertificate({ kind: 'system', name: 'test' }, takahashi, { format: 'pem', certificates, privateKey, passphrase: 'nope' }),
      (e: Error & { code?: string }) => e.code === 'bad_request',
    );
    const rsaCert = fs.readFileSync(tmp.file('rsa.pem'), 'utf8');
    await assert.rejects(
      env.signing.importCertificate({ kind: 'system', name: 'test' }, takahashi, { format: 'pem', certificates: rsaCert, privateKey, passphrase: 'pem-pass' }),
      /none of the certificates belongs to the private key/,
    );
    const imported = await env.signing.importCertificate({ kind: 'system', name: 'test' }, takahashi, { format: 'pem', certificates, privateKey, passphrase: 'pem-pass' });
    assert.equal(imported.subject, 'C=JP, CN=高橋 三郎');
    const signed = await env.signing.sign(sampleReportDocument({ reader: { userId: takahashi, displayName: '高橋 三郎', licenceNumber: '345678', certifications: [] } }), takahashi);
    const cms = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', tmp.file('e.p7s', signed.cms), '-content', tmp.file('e.json', signed.canonical), '-CAfile', tmp.file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
    assert.equal(cms.status, 0, cms.out);
    const v = await env.signing.verify(signed.pdf);
    assert.equal(v.valid, true, v.problems.join('; '));
    if (needPdfsig(t)) assert.match(run('pdfsig', [tmp.file('e.pdf', signed.pdf)]).out, /Signature is Valid\./);
  });

  it('lets only administrators and the physician import', async (t) => {
    if (!ready || !needOpenssl(t)) return;
    const someone = { kind: 'user', userId: takahashi, username: 'takahashi', grants: [{ role: 'radiologist', facilityId: null }], address: '127.0.0.1', sessionId: 's' } as const;
    const p12 = fs.readFileSync(tmp.file('rsa.p12'));
    await assert.rejects(
      env.signing.importCertificate(someone, tanaka, { format: 'pkcs12', data: p12, password: '秘密のパスワード' }),
      (e: Error & { code?: string }) => e.code === 'forbidden',
    );
  });
});
