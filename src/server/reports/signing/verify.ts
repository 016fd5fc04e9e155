/**
 * Verification of report signatures for display: a signed report PDF (PAdES) or a detached
 * CMS with the canonical report bytes. It checks what a verifier outside Enkaku checks
 * (pdfsig, openssl cms -verify, openssl ts -verify): the digest, the signature, the signing
 * certificate attribute, the signature time-stamp, and the certificate chain up to a trust
 * anchor (the installation's CA and the roots of imported certificates).
 */
import { verify as verifySignature, X509Certificate as NodeCertificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { chainAbove, issuedBy, selfSigned, summarise, validAt, type CertificateSummary } from './certificates.ts';
import { parseSignedData, sha256, signingCertificateMatches } from './cms.ts';
import { OID } from './oids.ts';
import { readPdfSignature } from './pades.ts';
import { checkTimeStampToken } from './tsa.ts';
import { x509 } from './x509.ts';

/** The outcome of verifying a report signature. */
export interface SignatureVerification {
  kind: 'pdf' | 'cms';
  /** The signature and its time-stamp verify over the given bytes (nothing was changed). */
  valid: boolean;
  /** The signer's certificate chains to a trust anchor and was valid at the signature time. */
  trusted: boolean;
  /** Everything that failed, in words. */
  problems: string[];
  signer: CertificateSummary | undefined;
  /** Certificates above the signer, issuer first. */
  chain: CertificateSummary[];
  /** The signature time-stamp. */
  timestamp: { time: string; tsa: string; local: boolean; valid: boolean } | undefined;
  /** PDF only: the byte range covers the whole file except the signature itself. */
  coversWholeDocument?: boolean;
}

function anchored(top: Buffer, anchors: Buffer[]): boolean {
  return anchors.some((a) => a.equals(top) || (selfSigned(a) && issuedBy(top, a)));
}

/** Verifies a detached CMS SignedData over `content`. */
function verifyCms(kind: 'pdf' | 'cms', cms: Buffer, content: Buffer, anchors: Buffer[]): SignatureVerification {
  const problems: string[] = [];
  const parsed = parseSignedData(cms);
  if (parsed.signedData.encapContentInfo.eContent) problems.push('the signature is not detached');
  if (parsed.signerInfo.digestAlgorithm.algorithmId !== OID.sha256) problems.push('the signature does not use SHA-256');
  const md = parsed.signedAttribute(OID.messageDigest)?.[0];
  if (!(md instanceof asn1js.OctetString) || !Buffer.from(md.valueBlock.valueHexView).equals(sha256(content))) {
    problems.push('the signed data was changed (message digest differs)');
  }
  const ct = parsed.signedAttribute(OID.contentType)?.[0];
  if (!(ct instanceof asn1js.ObjectIdentifier) || ct.valueBlock.toString() !== OID.data) problems.push('the content-type attribute is not id-data');
  const signerDer = parsed.signerCertificate;
  let signer: CertificateSummary | undefined;
  let chainDer: Buffer[] = [];
  if (!signerDer) {
    problems.push('the signer\'s certificate is not in the signature');
  } else {
    signer = summarise(signerDer);
    const publicKey = new NodeCertificate(signerDer).publicKey;
    if (!verifySignature('sha256', parsed.signedAttributes, publicKey, parsed.signature)) problems.push('the signature value does not verify');
    if (!signingCertificateMatches(parsed.signedAttribute(OID.signingCertificateV2), signerDer)) problems.push('the signing-certificate-v2 attribute is missing or names another certificate');
    const ku = new x509.X509Certificate(signerDer).getExtension(x509.KeyUsagesExtension);
    if (ku && !(ku.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation))) problems.push('the certificate is not for signatures (keyUsage)');
    chainDer = chainAbove(signerDer, [...parsed.certificates, ...anchors]);
  }

  let timestamp: SignatureVerification['timestamp'];
  let signedAt: Date | undefined;
  const tokenValue = parsed.unsignedAttribute(OID.signatureTimeStampToken)?.[0];
  if (!tokenValue) {
    problems.push('the signature has no time-stamp');
  } else {
    try {
      const check = checkTimeStampToken(Buffer.from(tokenValue.toBER(false)), sha256(parsed.signature), anchors);
      timestamp = { time: check.time, tsa: check.tsa, local: check.local, valid: check.valid };
      problems.push(...check.problems.map((p) => `time-stamp: ${p}`));
      if (check.valid) signedAt = new Date(check.time);
    } catch (err) {
      problems.push(`time-stamp: ${(err as Error).message}`);
    }
  }

  let trusted = false;
  if (signerDer) {
    const top = chainDer.at(-1) ?? signerDer;
    const at = signedAt ?? new Date();
    const chainValid = [signerDer, ...chainDer].every((c) => validAt(c, at));
    trusted = anchored(top, anchors) && chainValid;
    if (!anchored(top, anchors)) problems.push('the certificate does not chain to a trusted CA');
    else if (!chainValid) problems.push('a certificate of the chain was not valid at the signature time');
  }
  const valid = problems.every((p) => p === 'the certificate does not chain to a trusted CA' || p === 'a certificate of the chain was not valid at the signature time');
  return { kind, valid, trusted: trusted && valid, problems, signer, chain: chainDer.map(summarise), timestamp };
}

/**
 * Verifies a signed report PDF: its last signature, over its byte range.
 * @param anchors - trusted CA certificates (DER)
 */
export function verifyPdf(pdf: Buffer, anchors: Buffer[]): SignatureVerification {
  let sig: ReturnType<typeof readPdfSignature>;
  try {
    sig = readPdfSignature(pdf);
  } catch (err) {
    return { kind: 'pdf', valid: false, trusted: false, problems: [(err as Error).message], signer: undefined, chain: [], timestamp: undefined, coversWholeDocument: false };
  }
  let result: SignatureVerification;
  try {
    result = verifyCms('pdf', sig.cms, sig.signedBytes, anchors);
  } catch (err) {
    result = { kind: 'pdf', valid: false, trusted: false, problems: [(err as Error).message], signer: undefined, chain: [], timestamp: undefined };
  }
  if (!sig.coversWholeDocument) {
    result.problems.push('the signature does not cover the whole file (bytes were added after signing)');
    result.valid = false;
    result.trusted = false;
  }
  if (sig.subFilter !== 'ETSI.CAdES.detached' && sig.subFilter !== 'adbe.pkcs7.detached') result.problems.push(`unexpected signature SubFilter ${sig.subFilter || '(none)'}`);
  return { ...result, coversWholeDocument: sig.coversWholeDocument };
}

/**
 * Verifies a detached CMS signature over the canonical report bytes.
 * @param anchors - trusted CA certificates (DER)
 */
export function verifyDetached(cms: Buffer, content: Buffer, anchors: Buffer[]): SignatureVerification {
  try {
    return verifyCms('cms', cms, content, anchors);
  } catch (err) {
    return { kind: 'cms', valid: false, trusted: false, problems: [(err as Error).message], signer: undefined, chain: [], timestamp: undefined };
  }
}
