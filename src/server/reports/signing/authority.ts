/**
 * Enkaku's own certification authority and time-stamping authority (A4).
 *
 * On first use an installation creates a CA (self-signed, RSA 3072, 25 years, pathLen 0) and,
 * from it, the certificate of its built-in TSA (extendedKeyUsage timeStamping only, critical,
 * as RFC 3161 §2.3 requires). Both live in the data folder under `keys/signing/<ca|tsa>/`:
 * `certificate.pem` (public: hand it to whoever verifies reports) and `private-key.sealed`
 * (PKCS#8 sealed with the data folder's SecretBox key, file mode 0600).
 *
 * Why sealed and not only 0600: the CA key is the root of every report signature of the
 * installation. Sealing it with the same key that protects TOTP seeds and physicians'
 * signing keys means a copy of `keys/signing` alone (a partial backup, a support bundle)
 * reveals nothing; only the data folder's `keys/secrets.key` (0600, never in the database)
 * opens it, so custody of one file covers every secret at rest.
 *
 * Names say what these are: the CA is "Enkaku Report Signing CA (local)", the TSA "Enkaku
 * built-in TSA (local clock, not accredited)", and the TSA's policy OID is Enkaku's
 * local-TSA policy ({@link OID.localTsaPolicy}).
 */
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { x509 } from './x509.ts';
import type { SecretBox } from '../../platform/secrets.ts';
import { pemBlocks, toPem } from './certificates.ts';
import { generatePrivateKey, openKey, sealKey, spkiOf, webCryptoSigningKey } from './keys.ts';
import { OID } from './oids.ts';

/** A certificate with its private key. */
export interface Credential {
  /** DER certificate. */
  certificate: Buffer;
  key: KeyObject;
}

/** Who a physician's signing certificate is issued to. */
export interface CertificateSubject {
  /** Enkaku user id: goes into serialNumber (when printable) and uid. */
  userId: string;
  /** Display name: the Common Name, as UTF8String. */
  displayName: string;
}

/** The same instant some whole years later (calendar years, UTC). */
function yearsAfter(from: Date, years: number): Date {
  const d = new Date(from.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}
const SIGNATURE_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

/** A positive random serial number of 128 bits (RFC 5280 §4.1.2.2: unique, at most 20 octets). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** Names: UTF8String for text (RFC 5280 §4.1.2.6), PrintableString where X.520 asks for it. */
function name(rdns: Array<[string, { utf8String: string } | { printableString: string }]>): x509.Name {
  return new x509.Name(rdns.map(([oid, value]) => ({ [oid]: [value] })));
}

/** Whether text fits ASN.1 PrintableString (X.680 §41.4). */
function printable(text: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]+$/.test(text);
}

async function publicCryptoKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('spki', spkiOf(key), SIGNATURE_ALGORITHM, true, ['verify']);
}

async function createCa(label: string, now: Date): Promise<Credential> {
  const key = await generatePrivateKey();
  const publicKey = await publicCryptoKey(key);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: name([
      ['2.5.4.3', { utf8String: `Enkaku Report Signing CA (local) ${label}` }],
      ['2.5.4.10', { utf8String: 'Enkaku installation (local CA, not a public or HPKI CA)' }],
    ]),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: yearsAfter(now, 25),
    signingAlgorithm: SIGNATURE_ALGORITHM,
    keys: { privateKey: await webCryptoSigningKey(key), publicKey },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { certificate: Buffer.from(cert.rawData), key };
}

async function issue(
  ca: Credential,
  subject: x509.Name,
  subjectKey: Buffer,
  validity: { from: Date; to: Date },
  extensions: x509.Extension[],
): Promise<Buffer> {
  const caCert = new x509.X509Certificate(ca.certificate);
  const publicKey = await webcrypto.subtle.importKey('spki', subjectKey, SIGNATURE_ALGORITHM, true, ['verify']).catch(() => null);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: caCert.subjectName,
    notBefore: validity.from,
    notAfter: new Date(Math.min(validity.to.getTime(), caCert.notAfter.getTime())),
    signingAlgorithm: SIGNATURE_ALGORITHM,
    publicKey: publicKey ?? subjectKey,
    signingKey: await webCryptoSigningKey(ca.key),
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey ?? new x509.PublicKey(subjectKey)),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return Buffer.from(cert.rawData);
}

async function createTsa(ca: Credential, label: string, now: Date): Promise<Credential> {
  const key = await generatePrivateKey();
  const certificate = await issue(
    ca,
    name([
      ['2.5.4.3', { utf8String: `Enkaku built-in TSA (local clock, not accredited) ${label}` }],
      ['2.5.4.10', { utf8String: 'Enkaku installation (local TSA, not an accredited time-stamping authority)' }],
    ]),
    spkiOf(key),
    { from: new Date(now.getTime() - 60_000), to: yearsAfter(now, 10) },
    [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
      // RFC 3161 §2.3: exactly one extended key usage, id-kp-timeStamping, critical.
      new x509.ExtendedKeyUsageExtension([OID.ekuTimeStamping], true),
      new x509.CertificatePolicyExtension([OID.localTsaPolicy]),
    ],
  );
  return { certificate, key };
}

/** Reads a stored credential, or undefined when its folder does not exist yet. */
function readCredential(dir: string, box: SecretBox): Credential | undefined {
  const certFile = path.join(dir, 'certificate.pem');
  if (!fs.existsSync(certFile)) return undefined;
  const block = pemBlocks(fs.readFileSync(certFile, 'utf8')).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new Error(`${certFile} holds no certificate`);
  return { certificate: block.der, key: openKey(box, fs.readFileSync(path.join(dir, 'private-key.sealed'), 'utf8').trim()) };
}

/**
 * Loads a credential from `dir`, creating it when missing. Creation writes into a fresh
 * folder that is renamed into place, so a reader never sees half a credential, and when two
 * processes race the first rename wins and the other uses what it wrote.
 */
async function loadOrCreate(dir: string, box: SecretBox, create: () => Promise<Credential>): Promise<Credential> {
  const existing = readCredential(dir, box);
  if (existing) return existing;
  const created = await create();
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(tmp, 'certificate.pem'), toPem(created.certificate), { mode: 0o644 });
  const keyFile = path.join(tmp, 'private-key.sealed');
  const fd = fs.openSync(keyFile, 'wx', 0o600);
  try {
    fs.writeSync(fd, `${sealKey(box, created.key)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
    const winner = readCredential(dir, box);
    if (!winner) throw err;
    return winner;
  }
  return created;
}

/** The installation's CA and built-in TSA credentials. */
export class LocalAuthority {
  private constructor(
    /** The CA: issues physicians' signing certificates and the TSA certificate. */
    readonly ca: Credential,
    /** The built-in TSA's certificate and key. */
    readonly tsa: Credential,
    /** Folder holding both (`<data>/keys/signing`). */
    readonly dir: string,
  ) {}

  /**
   * Opens the authority of a data folder, creating the CA and TSA on first use.
   * @param dataDir - the data folder (`ENKAKU_DATA_DIR`)
   * @param box - the data folder's SecretBox, which seals the private keys
   */
  static async open(dataDir: string, box: SecretBox, now: () => Date = () => new Date()): Promise<LocalAuthority> {
    const dir = path.join(dataDir, 'keys', 'signing');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const label = randomBytes(4).toString('hex');
    const ca = await loadOrCreate(path.join(dir, 'ca'), box, () => createCa(label, now()));
    const tsa = await loadOrCreate(path.join(dir, 'tsa'), box, () => createTsa(ca, label, now()));
    return new LocalAuthority(ca, tsa, dir);
  }

  /** The CA certificate as PEM (`-CAfile` of openssl, the trust anchor of pdfsig). */
  get caPem(): string {
    return toPem(this.ca.certificate);
  }

  /**
   * Issues a physician's signing certificate: keyUsage digitalSignature + nonRepudiation
   * (critical), extendedKeyUsage documentSigning (RFC 9336) and emailProtection (which
   * NSS-based verifiers such as pdfsig and Firefox require of document signers), subject
   * CN = display name (UTF8String), serialNumber and uid = the Enkaku user id.
   * @param subjectKey - the physician's public key (SPKI DER)
   * @param years - validity in years (capped by the CA's own validity)
   */
  async issueSigningCertificate(subject: CertificateSubject, subjectKey: Buffer, years = 5, now: Date = new Date()): Promise<Buffer> {
    const displayName = subject.displayName.trim();
    if (!displayName) throw new Error('a signing certificate needs the physician\'s name');
    const rdns: Array<[string, { utf8String: string } | { printableString: string }]> = [['2.5.4.3', { utf8String: displayName.slice(0, 64) }]];
    if (printable(subject.userId) && subject.userId.length <= 64) rdns.push([OID.attrSerialNumber, { printableString: subject.userId }]);
    rdns.push([OID.attrUid, { utf8String: subject.userId }]);
    return issue(this.ca, name(rdns), subjectKey, { from: new Date(now.getTime() - 60_000), to: yearsAfter(now, years) }, [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
      new x509.ExtendedKeyUsageExtension([OID.ekuDocumentSigning, OID.ekuEmailProtection], false),
      new x509.CertificatePolicyExtension([OID.localSigningCertPolicy]),
    ]);
  }
}
