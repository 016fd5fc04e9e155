/**
 * RFC 3161 time-stamping (A4: a trusted time on every signature).
 *
 * - {@link LocalTsa}: the built-in TSA of a single-node installation. Its certificate comes
 *   from the installation's own CA and its name and policy OID say that it is local (its
 *   clock is this server's clock); it answers `POST /tsa` (routes.ts) as well.
 * - {@link HttpTsaClient}: an outside TSA over HTTP (RFC 3161 §3.4), chosen with
 *   `ENKAKU_TSA_URL` — e.g. a 認定タイムスタンプ service accredited under the
 *   時刻認証業務の認定に関する規程 for signatures that must be trusted outside Enkaku.
 *
 * Every token, built here or received, is checked by {@link checkTimeStampToken}: the
 * imprint is the data's, the TSA's signature verifies, the signer has extendedKeyUsage
 * timeStamping and is named by the token's ESS signing-certificate attribute.
 */
import { createHash, randomBytes, verify as verifySignature, X509Certificate as NodeCertificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Credential } from './authority.ts';
import { commonName, extendedKeyUsages } from './certificates.ts';
import { bytes, createSignedData, der, parseAsn1, parseSignedData, pkiCertificate, sha256 } from './cms.ts';
import { isOid, OID } from './oids.ts';

/** A time-stamp token with what it says. */
export interface TimeStampToken {
  /** DER ContentInfo (SignedData over TSTInfo): the token as RFC 3161 defines it. */
  token: Buffer;
  /** genTime as ISO 8601 UTC. */
  time: string;
  /** The TSA: the Common Name of the certificate that signed the token. */
  tsa: string;
  /** TSTInfo serial number (hex). */
  serial: string;
  /** TSA policy OID. */
  policy: string;
  /** True for Enkaku's built-in TSA (its policy is the local-TSA policy). */
  local: boolean;
}

/** Something that time-stamps a SHA-256 digest. */
export interface TimeStamper {
  /** Human-readable: which TSA, for logs and the report of a signature. */
  readonly description: string;
  /** A token over the SHA-256 digest of some data. */
  timestamp(sha256Digest: Buffer): Promise<TimeStampToken>;
}

const DIGESTS: Record<string, { name: string; length: number }> = {
  [OID.sha256]: { name: 'sha256', length: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', length: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', length: 64 },
  '1.3.14.3.2.26': { name: 'sha1', length: 20 },
};
/** ESS signing-certificate (v1, RFC 2634 §5.4): SHA-1 of the certificate. Older TSAs send it. */
const ESS_SIGNING_CERTIFICATE_V1 = '1.2.840.113549.1.9.16.2.12';

/** PKIFailureInfo bits (RFC 3161 §2.4.2). */
const FAIL = { badAlg: 0, badRequest: 2, badDataFormat: 5, unacceptedPolicy: 15, unacceptedExtension: 16, systemFailure: 25 } as const;

function positiveRandom(bytesLength: number): Buffer {
  const b = randomBytes(bytesLength);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b;
}

/** The content octets of an OCTET STRING, primitive or constructed (BER). */
function octets(value: asn1js.OctetString): Buffer {
  if (!value.idBlock.isConstructed) return Buffer.from(value.valueBlock.valueHexView);
  return Buffer.concat((value.valueBlock.value as asn1js.OctetString[]).map(octets));
}

/** What a token says and whether it holds up. */
export interface TokenCheck {
  /** True when every check passed. */
  valid: boolean;
  /** What failed, in words (empty when valid). */
  problems: string[];
  time: string;
  tsa: string;
  serial: string;
  policy: string;
  local: boolean;
  /** The TSA's certificate (DER), when carried in the token or known. */
  tsaCertificate: Buffer | undefined;
  /** Certificates carried in the token. */
  certificates: Buffer[];
  /** The nonce, when the request had one (hex). */
  nonce: string | undefined;
}

/**
 * Checks a time-stamp token against the SHA-256 digest of the data it should cover.
 * @param knownCertificates - TSA certificates to use when the token carries none
 */
export function checkTimeStampToken(token: Buffer, sha256Digest: Buffer, knownCertificates: Buffer[] = []): TokenCheck {
  const problems: string[] = [];
  const parsed = parseSignedData(token);
  const eci = parsed.signedData.encapContentInfo;
  if (eci.eContentType !== OID.tstInfo || !eci.eContent) throw new Error('not an RFC 3161 time-stamp token (no TSTInfo)');
  const tstDer = octets(eci.eContent);
  const tst = new pkijs.TSTInfo({ schema: parseAsn1(tstDer, 'TSTInfo') });
  const imprintAlg = tst.messageImprint.hashAlgorithm.algorithmId;
  const imprint = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (imprintAlg !== OID.sha256) problems.push(`the token's imprint uses ${imprintAlg}, not SHA-256`);
  else if (!imprint.equals(sha256Digest)) problems.push('the token covers other data (message imprint differs)');

  const digest = DIGESTS[parsed.signerInfo.digestAlgorithm.algorithmId];
  if (!digest) problems.push(`unsupported digest ${parsed.signerInfo.digestAlgorithm.algorithmId} in the token`);
  const md = parsed.signedAttribute(OID.messageDigest)?.[0];
  if (digest && !(md instanceof asn1js.OctetString && octets(md).equals(createHash(digest.name).update(tstDer).digest()))) {
    problems.push('the token\'s TSTInfo does not match its signed digest');
  }
  const certificates = parsed.certificates;
  let tsaCertificate = parsed.signerCertificate;
  if (!tsaCertificate && parsed.signerInfo.sid instanceof pkijs.IssuerAndSerialNumber) {
    const sid = parsed.signerInfo.sid;
    tsaCertificate = knownCertificates.find((c) => {
      const pc = pkiCertificate(c);
      return pc.issuer.isEqual(sid.issuer) && pc.serialNumber.isEqual(sid.serialNumber);
    });
  }
  if (!tsaCertificate) {
    problems.push('the TSA certificate is neither in the token nor known');
  } else {
    if (digest && !verifySignature(digest.name, parsed.signedAttributes, new NodeCertificate(tsaCertificate).publicKey, parsed.signature)) {
      problems.push('the TSA signature does not verify');
    }
    const eku = extendedKeyUsages(tsaCertificate);
    if (!eku?.includes(OID.ekuTimeStamping)) problems.push('the signer of the token is not a time-stamping authority (no extendedKeyUsage timeStamping)');
    const v2 = parsed.signedAttribute(OID.signingCertificateV2)?.[0];
    const v1 = parsed.signedAttribute(ESS_SIGNING_CERTIFICATE_V1)?.[0];
    const essHash = (attr: asn1js.AsnType | undefined): Buffer | undefined => {
      // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), ... }
      const first = attr instanceof asn1js.Sequence ? (attr.valueBlock.value[0] as asn1js.Sequence | undefined)?.valueBlock.value[0] : undefined;
      if (!(first instanceof asn1js.Sequence)) return undefined;
      const h = first.valueBlock.value.find((v) => v instanceof asn1js.OctetString);
      return h ? octets(h as asn1js.OctetString) : undefined;
    };
    if (v2) {
      // certs[0] of SigningCertificateV2; its hashAlgorithm is present only when not SHA-256.
      const certs = (v2 as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence | undefined;
      const id = certs?.valueBlock.value[0] as asn1js.Sequence | undefined;
      const alg = id?.valueBlock.value[0];
      const algOid = alg instanceof asn1js.Sequence ? (alg.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString() : OID.sha256;
      const name = DIGESTS[algOid]?.name ?? 'sha256';
      if (!essHash(v2)?.equals(createHash(name).update(tsaCertificate).digest())) problems.push('the token\'s signing-certificate-v2 attribute names another certificate');
    } else if (v1) {
      if (!essHash(v1)?.equals(createHash('sha1').update(tsaCertificate).digest())) problems.push('the token\'s signing-certificate attribute names another certificate');
    } else {
      problems.push('the token has no ESS signing-certificate attribute (RFC 3161 §2.4.1)');
    }
  }
  return {
    valid: problems.length === 0,
    problems,
    time: tst.genTime.toISOString(),
    tsa: tsaCertificate ? commonName(tsaCertificate) : '',
    serial: Buffer.from(tst.serialNumber.valueBlock.valueHexView).toString('hex').toUpperCase(),
    policy: isOid(tst.policy, OID.localTsaPolicy) ? OID.localTsaPolicy : tst.policy,
    local: isOid(tst.policy, OID.localTsaPolicy),
    tsaCertificate,
    certificates,
    nonce: tst.nonce ? Buffer.from(tst.nonce.valueBlock.valueHexView).toString('hex') : undefined,
  };
}

function tokenResult(token: Buffer, check: TokenCheck): TimeStampToken {
  return { token, time: check.time, tsa: check.tsa, serial: check.serial, policy: check.policy, local: check.local };
}

/** A failure answer (TimeStampResp with status rejection and one failInfo bit). */
function rejection(bit: number, text: string): Buffer {
  const n = Math.floor(bit / 8) + 1;
  const bits = Buffer.alloc(n);
  bits[n - 1] = 0x80 >> bit % 8;
  const failInfo = new asn1js.BitString({ valueHex: bytes(bits), unusedBits: 7 - (bit % 8) });
  const status = new pkijs.PKIStatusInfo({ status: 2, statusStrings: [new asn1js.Utf8String({ value: text })], failInfo });
  return der(new pkijs.TimeStampResp({ status }).toSchema());
}

/** The built-in time-stamping authority: the server's clock, signed with the TSA key of the local CA. */
export class LocalTsa implements TimeStamper {
  readonly description: string;
  /** The TSA's name (Common Name of its certificate). */
  readonly name: string;

  /**
   * @param credential - the TSA certificate and key (LocalAuthority.tsa)
   * @param chain - certificates above the TSA certificate (the CA)
   */
  constructor(
    private readonly credential: Credential,
    private readonly chain: Buffer[],
    private readonly now: () => Date = () => new Date(),
  ) {
    this.name = commonName(credential.certificate);
    this.description = `built-in TSA "${this.name}" (local clock)`;
  }

  /** The TSA certificate (DER). */
  get certificate(): Buffer {
    return this.credential.certificate;
  }

  private async token(imprint: pkijs.MessageImprint, opts: { nonce?: asn1js.Integer | undefined; certReq: boolean }): Promise<{ token: Buffer; time: Date; serial: Buffer }> {
    const time = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    const serial = positiveRandom(16);
    const tst = new pkijs.TSTInfo({
      version: 1,
      policy: OID.localTsaPolicy,
      messageImprint: imprint,
      serialNumber: new asn1js.Integer({ valueHex: bytes(serial) }),
      genTime: time,
      // The server clock, kept by NTP: claimed good to one second.
      accuracy: new pkijs.Accuracy({ seconds: 1 }),
      ...(opts.nonce ? { nonce: opts.nonce } : {}),
      tsa: new pkijs.GeneralName({ type: 4, value: pkiCertificate(this.credential.certificate).subject }),
    });
    const tstDer = der(tst.toSchema());
    const token = await createSignedData({
      key: this.credential.key,
      certificate: this.credential.certificate,
      chain: this.chain,
      omitCertificates: !opts.certReq,
      eContentType: OID.tstInfo,
      eContent: tstDer,
      contentDigest: sha256(tstDer),
    });
    return { token, time, serial };
  }

  async timestamp(sha256Digest: Buffer): Promise<TimeStampToken> {
    if (sha256Digest.length !== 32) throw new Error('a SHA-256 digest has 32 bytes');
    const imprint = new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: bytes(sha256Digest) }),
    });
    const { token, time, serial } = await this.token(imprint, { certReq: true });
    return { token, time: time.toISOString(), tsa: this.name, serial: serial.toString('hex').toUpperCase(), policy: OID.localTsaPolicy, local: true };
  }

  /**
   * Answers a DER TimeStampReq (RFC 3161 §2.4.1) with a DER TimeStampResp (§2.4.2): granted
   * with a token, or a rejection naming the failure (unknown hash algorithm, another policy,
   * extensions, malformed request).
   */
  async respond(query: Buffer): Promise<Buffer> {
    let req: pkijs.TimeStampReq;
    try {
      req = new pkijs.TimeStampReq({ schema: parseAsn1(query, 'TimeStampReq') });
    } catch {
      return rejection(FAIL.badDataFormat, 'malformed TimeStampReq');
    }
    if (req.version !== 1) return rejection(FAIL.badRequest, 'TimeStampReq version must be 1');
    const alg = DIGESTS[req.messageImprint.hashAlgorithm.algorithmId];
    if (!alg || alg.name === 'sha1') return rejection(FAIL.badAlg, 'hash algorithm not accepted (SHA-256, SHA-384 or SHA-512)');
    if (req.messageImprint.hashedMessage.valueBlock.valueHexView.byteLength !== alg.length) return rejection(FAIL.badDataFormat, 'hashed message has the wrong length');
    if (req.reqPolicy && !isOid(req.reqPolicy, OID.localTsaPolicy)) return rejection(FAIL.unacceptedPolicy, `this TSA issues only under policy ${OID.localTsaPolicy}`);
    if (req.extensions?.length) return rejection(FAIL.unacceptedExtension, 'extensions are not supported');
    let token: Buffer;
    try {
      ({ token } = await this.token(req.messageImprint, { nonce: req.nonce, certReq: req.certReq ?? false }));
    } catch {
      return rejection(FAIL.systemFailure, 'time-stamp could not be made');
    }
    const status = new pkijs.PKIStatusInfo({ status: 0 });
    return der(new pkijs.TimeStampResp({ status, timeStampToken: new pkijs.ContentInfo({ schema: parseAsn1(token, 'token') }) }).toSchema());
  }
}

/** Options of {@link HttpTsaClient}. */
export interface HttpTsaOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** TSA policy to ask for (reqPolicy), when the service wants one. */
  policy?: string | undefined;
  /** Certificates of the TSA, for services that do not include them. */
  certificates?: Buffer[];
}

/** A client of an outside RFC 3161 TSA over HTTP (`application/timestamp-query`). */
export class HttpTsaClient implements TimeStamper {
  readonly description: string;

  constructor(
    private readonly url: string,
    private readonly options: HttpTsaOptions = {},
  ) {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('ENKAKU_TSA_URL must be an http(s) URL');
    // Never print credentials that may be part of the URL.
    this.description = `TSA at ${u.origin}${u.pathname}`;
  }

  async timestamp(sha256Digest: Buffer): Promise<TimeStampToken> {
    if (sha256Digest.length !== 32) throw new Error('a SHA-256 digest has 32 bytes');
    const nonce = positiveRandom(8);
    const req = new pkijs.TimeStampReq({
      version: 1,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
        hashedMessage: new asn1js.OctetString({ valueHex: bytes(sha256Digest) }),
      }),
      ...(this.options.policy ? { reqPolicy: this.options.policy } : {}),
      nonce: new asn1js.Integer({ valueHex: bytes(nonce) }),
      certReq: true,
    });
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: der(req.toSchema()),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    if (!res.ok) throw new Error(`${this.description} answered HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    let resp: pkijs.TimeStampResp;
    try {
      resp = new pkijs.TimeStampResp({ schema: parseAsn1(body, 'TimeStampResp') });
    } catch {
      throw new Error(`${this.description} did not answer with a TimeStampResp`);
    }
    const status = resp.status.status;
    if ((status !== 0 && status !== 1) || !resp.timeStampToken) {
      const text = resp.status.statusStrings?.map((s) => s.getValue()).join('; ') ?? '';
      throw new Error(`${this.description} refused the time-stamp (status ${status}${text ? `: ${text}` : ''})`);
    }
    const token = der(resp.timeStampToken.toSchema());
    const check = checkTimeStampToken(token, sha256Digest, this.options.certificates ?? []);
    if (check.nonce !== nonce.toString('hex').replace(/^0+/, '') && check.nonce !== nonce.toString('hex')) {
      throw new Error(`${this.description} answered with a token for another request (nonce differs)`);
    }
    if (!check.valid) throw new Error(`${this.description} sent a token that does not verify: ${check.problems.join('; ')}`);
    return tokenResult(token, check);
  }
}
