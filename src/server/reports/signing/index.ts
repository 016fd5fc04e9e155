/**
 * Report signing (A4): the installation's own CA and built-in RFC 3161 TSA, physicians'
 * signing certificates (issued or imported, e.g. HPKI), PAdES-B-T signatures of report PDFs,
 * detached CAdES-T signatures of the canonical report, and their verification.
 *
 * ```ts
 * const signing = await SigningService.open({ db, dataDir, secrets, audit, tsaUrl: config.tsa.url });
 * await signing.ensureCertificate({ id: reader.userId, displayName: reader.displayName });
 * const signed = await signing.sign(doc, reader.userId); // { pdf, cms, canonical, timestamp, certificate }
 * await registerTsaRoutes(app, signing.localTsa);        // POST /tsa
 * ```
 */
export {
  SigningService,
  certificatesFromPem,
  certificatesPem,
  type CertificateImport,
  type SignedReport,
  type SigningCertificateInfo,
  type SigningServiceOptions,
} from './service.ts';
export { registerTsaRoutes } from './routes.ts';
export { LocalAuthority, type CertificateSubject, type Credential } from './authority.ts';
export { HttpTsaClient, LocalTsa, checkTimeStampToken, type HttpTsaOptions, type TimeStampToken, type TimeStamper, type TokenCheck } from './tsa.ts';
export { verifyDetached, verifyPdf, type SignatureVerification } from './verify.ts';
export { readPdfSignature, signPdf, type PdfSignature } from './pades.ts';
export { summarise, toPem, type CertificateSummary } from './certificates.ts';
export { OID, ENKAKU_ARC } from './oids.ts';
export { signingMigration, type SigningCertificateTable, type SigningDatabase } from './schema.ts';
