/**
 * Signing of final report versions (A4): physicians' signing certificates (issued by the
 * installation's CA or imported, e.g. HPKI), and the signature of a {@link ReportDocument}
 * as a PAdES-B-T PDF plus a detached CAdES-T CMS over {@link canonicalReport}, both with an
 * RFC 3161 signature time-stamp.
 *
 * Who may sign what (L1/L2: `CredentialService.maySign`) is decided by the reports service
 * before it calls {@link SigningService.sign}; this service refuses only what no caller may
 * do: signing as someone other than the report's reader, or without a valid certificate.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { auditActorOf, type AuditService } from '../../audit/index.ts';
import { hasRole, type Actor } from '../../platform/context.ts';
import type { Database } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors.ts';
import type { SecretBox } from '../../platform/secrets.ts';
import { canonicalReport, type ReportDocument } from '../document.ts';
import { renderReportPdf } from '../pdf/index.ts';
import { versionLabel } from '../pdf/format.ts';
import { LocalAuthority } from './authority.ts';
import { pemBlocks, selfSigned, summarise, toPem, validAt, type CertificateSummary } from './certificates.ts';
import { createSignedData, sha256 } from './cms.ts';
import { assertSigningKey, generatePrivateKey, openKey, sealKey, spkiOf } from './keys.ts';
import { OID } from './oids.ts';
import { signPdf } from './pades.ts';
import { readPem, readPkcs12, type ImportedCredential } from './pkcs12.ts';
import { SigningRepository, type SigningCertificateRow } from './repository.ts';
import { HttpTsaClient, LocalTsa, type TimeStamper, type TimeStampToken } from './tsa.ts';
import { verifyDetached, verifyPdf, type SignatureVerification } from './verify.ts';
import { x509 } from './x509.ts';

/** What {@link SigningService.open} needs. */
export interface SigningServiceOptions {
  db: Kysely<Database>;
  /** The data folder (`ENKAKU_DATA_DIR`): holds the CA and TSA keys under `keys/signing`. */
  dataDir: string;
  /** The data folder's SecretBox: seals every private key at rest. */
  secrets: SecretBox;
  audit: AuditService<Database>;
  /** `ENKAKU_TSA_URL`: an outside RFC 3161 TSA; unset, the built-in TSA. */
  tsaUrl?: string | undefined;
  /** `/Location` of PDF signatures (default: `Enkaku`). */
  location?: string | undefined;
  now?: () => Date;
}

/** A physician's signing certificate as shown to users. */
export interface SigningCertificateInfo extends CertificateSummary {
  id: string;
  userId: string;
  /** `enkaku-ca` (issued by this installation) or `imported` (e.g. HPKI). */
  source: 'enkaku-ca' | 'imported';
  /** Certificates above it, issuer first. */
  chain: CertificateSummary[];
  active: boolean;
  createdAt: string;
}

/** A certificate and key to import for a physician. */
export type CertificateImport =
  | { format: 'pkcs12'; data: Buffer; password: string }
  | { format: 'pem'; certificates: string; privateKey: string; passphrase?: string };

/** A signed report version: everything to store and deliver. */
export interface SignedReport {
  /** The report PDF with its PAdES-B-T signature. */
  pdf: Buffer;
  /** Detached CMS SignedData (DER) over {@link canonical}, with its signature time-stamp. */
  cms: Buffer;
  /** `canonicalReport(doc)`: the bytes {@link cms} signs. */
  canonical: Buffer;
  /** The time-stamp of the CMS signature (over its signature value). */
  timestamp: { token: Buffer; time: string; tsa: string; local: boolean };
  /** The time-stamp inside the PDF signature. */
  pdfTimestamp: { token: Buffer; time: string; tsa: string; local: boolean };
  /** The signer's certificate. */
  certificate: { subject: string; serial: string; fingerprint: string; issuer: string };
}

/** Room for the CMS in the PDF: signature, attributes, certificates and a time-stamp token. */
function contentsBytes(certificates: Buffer[]): number {
  return 8192 + certificates.reduce((n, c) => n + c.length, 0) + 16384;
}

function decodeChain(json: string): Buffer[] {
  return (JSON.parse(json) as string[]).map((b) => Buffer.from(b, 'base64'));
}

/** Physicians' signing certificates and the signing of report versions. */
export class SigningService {
  private readonly repo: SigningRepository;
  /** In-flight issuance per user, so that concurrent calls issue one certificate. */
  private readonly issuing = new Map<string, Promise<SigningCertificateInfo>>();

  private constructor(
    private readonly options: SigningServiceOptions,
    /** The installation's CA and built-in TSA. */
    readonly authority: LocalAuthority,
    /** The built-in TSA (also served at `POST /tsa`). */
    readonly localTsa: LocalTsa,
    /** The TSA that time-stamps signatures: outside (`ENKAKU_TSA_URL`) or the built-in one. */
    readonly timestamper: TimeStamper,
  ) {
    this.repo = new SigningRepository(options.db);
  }

  /**
   * Opens the service: loads (or on first use creates) the CA and TSA of the data folder and
   * picks the TSA.
   */
  static async open(options: SigningServiceOptions): Promise<SigningService> {
    const now = options.now ?? (() => new Date());
    const authority = await LocalAuthority.open(options.dataDir, options.secrets, now);
    const localTsa = new LocalTsa(authority.tsa, [authority.ca.certificate], now);
    const timestamper = options.tsaUrl ? new HttpTsaClient(options.tsaUrl) : localTsa;
    return new SigningService(options, authority, localTsa, timestamper);
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** The installation's CA certificate (PEM): the trust anchor to give to verifiers. */
  get caCertificatePem(): string {
    return this.authority.caPem;
  }

  private info(row: SigningCertificateRow): SigningCertificateInfo {
    return {
      ...summarise(Buffer.from(row.certificate, 'base64')),
      id: row.id,
      userId: row.user_id,
      source: row.source === 'imported' ? 'imported' : 'enkaku-ca',
      chain: decodeChain(row.chain).map(summarise),
      active: row.retired_at === null,
      createdAt: row.created_at,
    };
  }

  /** Stores a certificate as the physician's active one, retiring the earlier, with its audit entry. */
  private async store(actor: Actor, userId: string, source: 'enkaku-ca' | 'imported', credential: ImportedCredential): Promise<SigningCertificateInfo> {
    const summary = summarise(credential.certificate);
    const at = this.now().toISOString();
    const row: SigningCertificateRow = {
      id: randomUUID(),
      user_id: userId,
      source,
      subject: summary.subject,
      issuer: summary.issuer,
      serial: summary.serial,
      fingerprint: summary.fingerprint,
      not_before: summary.notBefore,
      not_after: summary.notAfter,
      certificate: credential.certificate.toString('base64'),
      chain: JSON.stringify(credential.chain.map((c) => c.toString('base64'))),
      private_key: sealKey(this.options.secrets, credential.key),
      key_type: credential.key.asymmetricKeyType ?? 'unknown',
      created_at: at,
      created_by: auditActorOf(actor).id,
      retired_at: null,
    };
    await this.repo.transaction(async (trx) => {
      await this.repo.replaceActive(trx, row, at);
      await this.options.audit.append(trx, {
        actor,
        action: source === 'imported' ? 'signing-certificate.import' : 'signing-certificate.issue',
        object: { type: 'user', id: userId },
        details: { certificateId: row.id, serial: row.serial, fingerprint: row.fingerprint, issuer: row.issuer, notAfter: row.not_after },
      });
    });
    return this.info(row);
  }

  /**
   * The physician's active signing certificate; when there is none, or it has expired or
   * expires within a day, a new one is issued by the installation's CA (RSA 3072, 5 years).
   * An imported certificate that is still valid is kept.
   * @param user - the physician: Enkaku user id and display name (the certificate's CN)
   * @param actor - who asks (audited as the issuer); Enkaku itself by default
   */
  async ensureCertificate(user: { id: string; displayName: string }, actor: Actor = { kind: 'system', name: 'report-signing' }): Promise<SigningCertificateInfo> {
    const current = await this.repo.active(user.id);
    const soon = new Date(this.now().getTime() + 24 * 3600 * 1000);
    if (current && validAt(Buffer.from(current.certificate, 'base64'), soon)) return this.info(current);
    const pending = this.issuing.get(user.id);
    if (pending) return pending;
    const work = (async () => {
      if (!(await this.repo.userExists(user.id))) throw new AppError('not_found', 'no such user');
      const key = await generatePrivateKey();
      const certificate = await this.authority.issueSigningCertificate({ userId: user.id, displayName: user.displayName }, spkiOf(key), 5, this.now());
      return this.store(actor, user.id, 'enkaku-ca', { certificate, key, chain: [this.authority.ca.certificate] });
    })();
    this.issuing.set(user.id, work);
    try {
      return await work;
    } finally {
      this.issuing.delete(user.id);
    }
  }

  /**
   * Imports a physician's own certificate and private key (e.g. an HPKI signing certificate)
   * with its chain; it becomes the physician's active certificate. The certificate must be
   * valid now and allowed to sign (keyUsage digitalSignature or nonRepudiation), and the key
   * must be RSA ≥ 2048 or ECDSA. Only system administrators and the physician may import.
   */
  async importCertificate(actor: Actor, userId: string, input: CertificateImport): Promise<SigningCertificateInfo> {
    const allowed = actor.kind === 'system' || hasRole(actor, 'system-admin') || (actor.kind === 'user' && actor.userId === userId);
    if (!allowed) throw new AppError('forbidden', 'only system administrators and the physician may import a signing certificate');
    if (!(await this.repo.userExists(userId))) throw new AppError('not_found', 'no such user');
    let credential: ImportedCredential;
    try {
      credential = input.format === 'pkcs12' ? await readPkcs12(input.data, input.password) : readPem(input.certificates, input.privateKey, input.passphrase);
      assertSigningKey(credential.key);
    } catch (err) {
      throw new AppError('bad_request', (err as Error).message);
    }
    if (!validAt(credential.certificate, this.now())) throw new AppError('bad_request', 'the certificate is not valid now (expired or not yet valid)');
    const ku = new x509.X509Certificate(credential.certificate).getExtension(x509.KeyUsagesExtension);
    if (ku && !(ku.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation))) {
      throw new AppError('bad_request', 'the certificate is not for signatures (keyUsage has neither digitalSignature nor nonRepudiation)');
    }
    return this.store(actor, userId, 'imported', credential);
  }

  /** Every signing certificate of a physician, newest first (retired ones included). */
  async certificates(userId: string): Promise<SigningCertificateInfo[]> {
    return (await this.repo.history(userId)).map((r) => this.info(r));
  }

  /**
   * Signs a final report version as its reader.
   * @param doc - the report version (its `reader.userId` must be the signer)
   * @param signerUserId - the signing physician, who must have an active certificate
   *   ({@link ensureCertificate} or {@link importCertificate})
   */
  async sign(doc: ReportDocument, signerUserId: string): Promise<SignedReport> {
    if (doc.reader.userId !== signerUserId) throw new AppError('forbidden', 'a report is signed by its reader only');
    const row = await this.repo.active(signerUserId);
    if (!row) throw new AppError('conflict', 'the physician has no signing certificate');
    const certificate = Buffer.from(row.certificate, 'base64');
    const now = this.now();
    if (!validAt(certificate, now)) throw new AppError('conflict', 'the physician\'s signing certificate is not valid now');
    const chain = decodeChain(row.chain);
    const key = openKey(this.options.secrets, row.private_key);
    const summary = summarise(certificate);
    const stamps: TimeStampToken[] = [];
    const timestamp = async (signatureValue: Buffer): Promise<Buffer> => {
      let stamp: TimeStampToken;
      try {
        stamp = await this.timestamper.timestamp(sha256(signatureValue));
      } catch (err) {
        throw new AppError('unavailable', `time-stamping failed: ${(err as Error).message}`);
      }
      stamps.push(stamp);
      return stamp.token;
    };
    const signer = { key, certificate, chain, eContentType: OID.data, timestamp };

    const unsigned = await renderReportPdf(doc, {
      signature: {
        name: doc.reader.displayName,
        reason: `読影報告書の署名: ${versionLabel(doc.kind, doc.version)}`,
        location: this.options.location ?? 'Enkaku',
        signingTime: now,
        contentsBytes: contentsBytes([certificate, ...chain]),
        certificate: { subject: summary.subject, serial: summary.serial, issuer: summary.issuer },
      },
    });
    // PAdES baseline: no signing-time attribute in the CMS (the claimed time is /M).
    const pdf = await signPdf(unsigned, (digest) => createSignedData({ ...signer, contentDigest: digest }));
    const canonical = canonicalReport(doc);
    const cms = await createSignedData({ ...signer, contentDigest: sha256(canonical), signingTime: now });
    const [pdfStamp, cmsStamp] = stamps as [TimeStampToken, TimeStampToken];
    const view = (s: TimeStampToken): SignedReport['timestamp'] => ({ token: s.token, time: s.time, tsa: s.tsa, local: s.local });
    return {
      pdf,
      cms,
      canonical,
      timestamp: view(cmsStamp),
      pdfTimestamp: view(pdfStamp),
      certificate: { subject: summary.subject, serial: summary.serial, fingerprint: summary.fingerprint, issuer: summary.issuer },
    };
  }

  /** Trust anchors: the installation's CA and the roots of imported certificates' chains. */
  async trustAnchors(): Promise<Buffer[]> {
    const anchors = [this.authority.ca.certificate];
    for (const json of await this.repo.importedChains()) {
      const root = decodeChain(json).at(-1);
      if (root && selfSigned(root) && !anchors.some((a) => a.equals(root))) anchors.push(root);
    }
    return anchors;
  }

  /**
   * Verifies a signed report for display: a PDF (its PAdES signature), or a detached CMS
   * with the canonical report bytes it signs.
   */
  async verify(signed: Buffer, content?: Buffer): Promise<SignatureVerification> {
    const anchors = await this.trustAnchors();
    if (signed.subarray(0, 5).toString('latin1') === '%PDF-') return verifyPdf(signed, anchors);
    if (!content) throw new AppError('bad_request', 'a detached signature is verified with the signed content');
    return verifyDetached(signed, content, anchors);
  }
}

/** PEM of DER certificates, concatenated (for `-CAfile` / `-certfile`). */
export function certificatesPem(certificates: Buffer[]): string {
  return certificates.map((c) => toPem(c)).join('');
}

/** DER certificates of a PEM text. */
export function certificatesFromPem(pem: string): Buffer[] {
  return pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
}
