/**
 * X.509 helpers of report signing: PEM, what a certificate says (for display and storage),
 * and ordering a certificate chain from the signer up to its root (RFC 5280 §6 name
 * chaining, checked with the issuer's signature).
 */
import { createHash, X509Certificate as NodeCertificate } from 'node:crypto';
import { x509 } from './x509.ts';

/** What Enkaku shows and stores about a certificate. */
export interface CertificateSummary {
  /** Subject as an RFC 4514 string (UTF-8 kept), e.g. `CN=鈴木 一郎, 2.5.4.5=u-reader`. */
  subject: string;
  issuer: string;
  /** Serial number, upper-case hex without separators. */
  serial: string;
  /** SHA-256 of the DER certificate, lower-case hex. */
  fingerprint: string;
  notBefore: string;
  notAfter: string;
}

/** Short names for the attributes @peculiar/x509 prints as OIDs. */
const ATTRIBUTE_NAMES: Array<[string, string]> = [
  ['2.5.4.5=', 'serialNumber='],
  ['0.9.2342.19200300.100.1.1=', 'UID='],
];

function readableName(text: string): string {
  return ATTRIBUTE_NAMES.reduce((s, [oid, short]) => s.split(oid).join(short), text);
}

/** The summary of a DER certificate. */
export function summarise(der: Buffer): CertificateSummary {
  const cert = new x509.X509Certificate(der);
  return {
    subject: readableName(cert.subject),
    issuer: readableName(cert.issuer),
    serial: cert.serialNumber.toUpperCase(),
    fingerprint: createHash('sha256').update(der).digest('hex'),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  };
}

/** The Common Name of a certificate's subject ('' when it has none). */
export function commonName(der: Buffer): string {
  const cert = new x509.X509Certificate(der);
  return cert.subjectName.getField('CN')[0] ?? '';
}

/** DER as PEM with the given label. */
export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** The PEM blocks of a text, in order. */
export function pemBlocks(text: string): Array<{ label: string; der: Buffer }> {
  const out: Array<{ label: string; der: Buffer }> = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  }
  return out;
}

/** The SubjectPublicKeyInfo DER of a certificate. */
export function certificateSpki(der: Buffer): Buffer {
  return new NodeCertificate(der).publicKey.export({ format: 'der', type: 'spki' });
}

/** Whether `issuer` issued `cert`: names chain and the issuer's key verifies the signature. */
export function issuedBy(cert: Buffer, issuer: Buffer): boolean {
  const c = new NodeCertificate(cert);
  const i = new NodeCertificate(issuer);
  return c.checkIssued(i) && c.verify(i.publicKey);
}

/** Whether a certificate is self-signed (a root). */
export function selfSigned(der: Buffer): boolean {
  return issuedBy(der, der);
}

/**
 * The chain above a certificate, built from the given candidates: issuer of the leaf first,
 * up to a self-signed root or as far as the candidates go. Unrelated candidates are dropped.
 */
export function chainAbove(leaf: Buffer, candidates: Buffer[]): Buffer[] {
  const chain: Buffer[] = [];
  let current = leaf;
  const pool = candidates.filter((c) => !c.equals(leaf));
  while (!selfSigned(current)) {
    const next = pool.find((c) => !chain.some((x) => x.equals(c)) && issuedBy(current, c));
    if (!next) break;
    chain.push(next);
    current = next;
  }
  return chain;
}

/** Whether a certificate is valid at a time (notBefore ≤ time ≤ notAfter). */
export function validAt(der: Buffer, at: Date): boolean {
  const c = new NodeCertificate(der);
  return new Date(c.validFrom).getTime() <= at.getTime() && at.getTime() <= new Date(c.validTo).getTime();
}

/** The extended key usages of a certificate (OIDs), or undefined when it has no such extension. */
export function extendedKeyUsages(der: Buffer): string[] | undefined {
  const cert = new x509.X509Certificate(der);
  const ext = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return ext ? ext.usages.map(String) : undefined;
}
