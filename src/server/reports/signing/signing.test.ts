import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalReport } from '../document.ts';
import { sampleReportDocument } from '../test-document.ts';
import { toPem } from './certificates.ts';
import { parseSignedData } from './cms.ts';
import type { SignedReport } from './service.ts';
import { flipByte, needOpenssl, needPdfsig, nssTrusting, physician, run, scratch, signingRuntime } from './test-support.ts';

describe('report signing', () => {
  let env: Awaited<ReturnType<typeof signingRuntime>>;
  let readerId: string;
  let signed: SignedReport;
  const tmp = scratch();

  before(async () => {
    env = await signingRuntime();
    readerId = await physician(env.rt, 'suzuki', '鈴木 一郎');
    await env.signing.ensureCertificate({ id: readerId, displayName: '鈴木 一郎' });
    const doc = sampleReportDocument({ reader: { userId: readerId, displayName: '鈴木 一郎', licenceNumber: '123456', certifications: ['放射線診断専門医'] } });
    signed = await env.signing.sign(doc, readerId);
    tmp.file('ca.pem', env.signing.caCertificatePem);
  });
  after(async () => {
    await env.rt.cleanup();
    tmp.cleanup();
  });

  it('issues a physician certificate from the installation CA, once, and audits it', async () => {
    const again = await env.signing.ensureCertificate({ id: readerId, displayName: '鈴木 一郎' });
    const all = await env.signing.certificates(readerId);
    assert.equal(all.length, 1);
    assert.equal(again.fingerprint, all[0]!.fingerprint);
    assert.equal(again.source, 'enkaku-ca');
    assert.match(again.subject, /^CN=鈴木 一郎, serialNumber=[0-9a-f-]+, UID=[0-9a-f-]+$/);
    assert.equal(signed.certificate.fingerprint, again.fingerprint);
    const audit = await env.rt.db.kysely.selectFrom('audit_events').selectAll().where('action', '=', 'signing-certificate.issue').execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.object_id, readerId);
  });

  it('issues certificates for document signing: UTF8String CN, key usages, extended key usages', (t) => {
    if (!needOpenssl(t)) return;
    const pem = toPem(parseSignedData(signed.cms).signerCertificate!);
    const cert = run('openssl', ['x509', '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus_space,show_type'], Buffer.from(pem));
    assert.equal(cert.status, 0, cert.out);
    assert.match(cert.out, /Subject: CN=UTF8STRING:鈴木 一郎, serialNumber=PRINTABLESTRING:/);
    assert.match(cert.out, /Key Usage: critical\s+Digital Signature, Non Repudiation/);
    assert.match(cert.out, /Extended Key Usage:\s+1\.3\.6\.1\.5\.5\.7\.3\.36, E-mail Protection/);
    assert.match(cert.out, /CA:FALSE/);
  });

  it('keeps private keys encrypted at rest', () => {
    const keyFile = path.join(env.rt.config.dataDir, 'keys', 'signing', 'ca', 'private-key.sealed');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const sealed = fs.readFileSync(keyFile, 'utf8');
    assert.match(sealed, /^v1\./);
    assert.doesNotMatch(sealed, /PRIVATE KEY|MII/);
  });

  it('signs the PDF so that pdfsig finds a valid signature over the whole document', (t) => {
    if (!needPdfsig(t)) return;
    const pdf = tmp.file('report.pdf', signed.pdf);
    const nss = nssTrusting(tmp.dir, env.signing.caCertificatePem);
    const r = run('pdfsig', [...(nss ? ['-nssdir', nss] : []), pdf]);
    assert.match(r.out, /Signature Type: ETSI\.CAdES\.detached/);
    assert.match(r.out, /Signer Certificate Common Name: 鈴木 一郎/);
    assert.match(r.out, /Total document signed/);
    assert.match(r.out, /Signature Validation: Signature is Valid\./);
    // With the Enkaku CA in an NSS database (certutil), the chain is checked too.
    if (nss) assert.match(r.out, /Certificate Validation: Certificate is Trusted\./, r.out);
    else t.diagnostic('certutil (libnss3-tools) missing: certificate trust not checked by pdfsig');
  });

  it('pdfsig rejects the PDF after one byte is changed', (t) => {
    if (!needPdfsig(t)) return;
    const [, contentsStart, contentsEnd, tail] = readRanges(signed.pdf);
    for (const at of [Math.floor(contentsStart / 2), contentsEnd + Math.floor(tail / 2)]) {
      const bad = tmp.file(`bad-${at}.pdf`, flipByte(signed.pdf, at));
      const r = run('pdfsig', [bad]);
      assert.doesNotMatch(r.out, /Signature is Valid\./, `byte ${at}: ${r.out}`);
    }
  });

  it('the detached CMS verifies with openssl against the canonical report, and fails after one byte changes', (t) => {
    if (!needOpenssl(t)) return;
    assert.deepEqual(signed.canonical, canonicalReport(sampleReportDocument({ reader: { userId: readerId, displayName: '鈴木 一郎', licenceNumber: '123456', certifications: ['放射線診断専門医'] } })));
    const cms = tmp.file('report.p7s', signed.cms);
    const good = tmp.file('canonical.json', signed.canonical);
    const ok = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cms, '-content', good, '-CAfile', tmp.file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Verification successful/);
    const bad = tmp.file('canonical-bad.json', flipByte(signed.canonical, 40));
    const ko = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cms, '-content', bad, '-CAfile', tmp.file('ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
    assert.notEqual(ko.status, 0, ko.out);
  });

  it('the signature time-stamp verifies with openssl ts over the signature value, and fails for other data', (t) => {
    if (!needOpenssl(t)) return;
    const signatureValue = parseSignedData(signed.cms).signature;
    const token = tmp.file('sig.tst', signed.timestamp.token);
    const ok = run('openssl', ['ts', '-verify', '-data', tmp.file('sig.bin', signatureValue), '-in', token, '-token_in', '-CAfile', tmp.file('ca.pem')]);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Verification: OK/);
    const ko = run('openssl', ['ts', '-verify', '-data', tmp.file('sig-bad.bin', flipByte(signatureValue, 7)), '-in', token, '-token_in', '-CAfile', tmp.file('ca.pem')]);
    assert.notEqual(ko.status, 0, ko.out);
    const text = run('openssl', ['ts', '-reply', '-in', token, '-token_in', '-token_out', '-text']);
    assert.match(text.out, /Policy OID: 2\.25\.339258100229830049426559507861592602349\.1\.1/);
    assert.match(text.out, /TSA: DirName:.*Enkaku built-in TSA \(local clock, not accredited\)/);
    assert.equal(signed.timestamp.local, true);
    assert.match(signed.timestamp.tsa, /^Enkaku built-in TSA \(local clock, not accredited\)/);
  });

  it('verifies for display, and reports the change of one byte', async () => {
    const pdf = await env.signing.verify(signed.pdf);
    assert.equal(pdf.valid, true, pdf.problems.join('; '));
    assert.equal(pdf.trusted, true);
    assert.equal(pdf.coversWholeDocument, true);
    assert.equal(pdf.signer?.fingerprint, signed.certificate.fingerprint);
    assert.equal(pdf.timestamp?.local, true);
    const cms = await env.signing.verify(signed.cms, signed.canonical);
    assert.equal(cms.valid, true, cms.problems.join('; '));
    assert.equal(cms.timestamp?.time, signed.timestamp.time);

    const [, contentsStart, contentsEnd, tail] = readRanges(signed.pdf);
    for (const at of [Math.floor(contentsStart / 2), contentsEnd + Math.floor(tail / 2), signed.pdf.length - 10]) {
      const v = await env.signing.verify(flipByte(signed.pdf, at));
      assert.equal(v.valid, false, `byte ${at}`);
    }
    const badCms = await env.signing.verify(signed.cms, flipByte(signed.canonical, 3));
    assert.equal(badCms.valid, false);
    assert.match(badCms.problems.join(';'), /message digest differs/);
    const appended = await env.signing.verify(Buffer.concat([signed.pdf, Buffer.from('\n% appended\n')]));
    assert.equal(appended.valid, false);
  });

  it('refuses to sign as anyone but the reader, and without a certificate', async () => {
    const other = await physician(env.rt, 'tanaka', '田中 二郎');
    const doc = sampleReportDocument({ reader: { userId: readerId, displayName: '鈴木 一郎', licenceNumber: '1', certifications: [] } });
    await assert.rejects(env.signing.sign(doc, other), (e: Error & { code?: string }) => e.code === 'forbidden');
    const own = sampleReportDocument({ reader: { userId: other, displayName: '田中 二郎', licenceNumber: '2', certifications: [] } });
    await assert.rejects(env.signing.sign(own, other), (e: Error & { code?: string }) => e.code === 'conflict');
  });
});

/** The byte range of a signed PDF. */
function readRanges(pdf: Buffer): [number, number, number, number] {
  const m = /\/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]/.exec(pdf.toString('latin1'));
  assert.ok(m);
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}
