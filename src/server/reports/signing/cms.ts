/**
 * CMS SignedData (RFC 5652) as report signatures and time-stamp tokens use it:
 * SHA-256, one signer identified by issuer and serial number, signed attributes
 * content-type, message-digest and ESS signing-certificate-v2 (RFC 5035, which binds the
 * signer's certificate into what is signed: CAdES / PAdES baseline B), and for signatures an
 * unsigned signature-time-stamp attribute (RFC 3161 Appendix A; CAdES-T) holding a token over
 * the signature value.
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { cmsSignatureAlgorithm, signSha256 } from './keys.ts';
import { OID } from './oids.ts';

/** Bytes for asn1js: a copy, since Node buffers may be views into a shared pool. */
export function bytes(buf: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buf);
}

/** DER of an ASN.1 value. */
export function der(value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Buffer {
  return Buffer.from(value.toBER(false));
}

/** Parses DER (or BER) into an ASN.1 value; throws on malformed input or trailing bytes. */
export function parseAsn1(input: Uint8Array, what: string): asn1js.AsnType {
  const data = bytes(input);
  const parsed = asn1js.fromBER(data);
  if (parsed.offset === -1 || parsed.offset !== data.byteLength) throw new Error(`${what} is not well-formed DER`);
  return parsed.result;
}

/** A pkijs certificate from DER. */
export function pkiCertificate(derCert: Buffer): pkijs.Certificate {
  return new pkijs.Certificate({ schema: parseAsn1(derCert, 'certificate') });
}

/** SHA-256 of bytes. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function sha256Algorithm(): pkijs.AlgorithmIdentifier {
  // RFC 5754 §2: the parameters of SHA-2 algorithm identifiers are absent.
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
}

function attribute(type: string, value: asn1js.AsnType): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/**
 * ESS signing-certificate-v2 (RFC 5035 §3): the SHA-256 of the signer's certificate (the
 * hash algorithm is the DEFAULT and so omitted in DER) with its issuer and serial number.
 */
function signingCertificateV2(certDer: Buffer): asn1js.Sequence {
  const cert = pkiCertificate(certDer);
  const issuerSerial = new asn1js.Sequence({
    value: [
      // GeneralNames with one directoryName ([4] EXPLICIT Name).
      new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })] }),
      new asn1js.Integer({ valueHex: cert.serialNumber.valueBlock.valueHexView }),
    ],
  });
  const essCertIdV2 = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: bytes(sha256(certDer)) }), issuerSerial] });
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
}

/** What to sign and with which credential. */
export interface SignedDataInput {
  /** Signer's private key and DER certificate. */
  key: KeyObject;
  certificate: Buffer;
  /** Further certificates to include (the chain up to the root). */
  chain: Buffer[];
  /** Leave out all certificates (RFC 3161 §2.4.1: a TSA includes them only when asked). */
  omitCertificates?: boolean;
  /** `id-data` for detached report signatures; `id-ct-TSTInfo` for time-stamp tokens. */
  eContentType: string;
  /** Encapsulated content (time-stamp tokens); absent for detached signatures. */
  eContent?: Buffer;
  /** SHA-256 of the signed content (of `eContent` when it is encapsulated). */
  contentDigest: Buffer;
  /** A signing-time attribute (CAdES allows it; PAdES baseline forbids it: the time is in `/M`). */
  signingTime?: Date;
  /**
   * Called with the signature value; returns a time-stamp token (DER ContentInfo) over it to
   * add as the signature-time-stamp unsigned attribute.
   */
  timestamp?: (signatureValue: Buffer) => Promise<Buffer>;
}

/**
 * Signs and returns a DER ContentInfo of SignedData. The signed attributes are put in DER
 * order (X.690 §11.6: SET OF sorted by encoding), since verifiers re-encode them as DER
 * before checking the signature.
 */
export async function createSignedData(input: SignedDataInput): Promise<Buffer> {
  const signer = pkiCertificate(input.certificate);
  const attrs = [
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: input.eContentType })),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: bytes(input.contentDigest) })),
    attribute(OID.signingCertificateV2, signingCertificateV2(input.certificate)),
  ];
  if (input.signingTime) {
    const t = new Date(Math.floor(input.signingTime.getTime() / 1000) * 1000);
    attrs.push(attribute(OID.signingTime, new asn1js.UTCTime({ valueDate: t })));
  }
  const sorted = attrs.map((a) => ({ a, enc: der(a.toSchema()) })).sort((x, y) => Buffer.compare(x.enc, y.enc));
  const toBeSigned = der(new asn1js.Set({ value: sorted.map((x) => x.a.toSchema()) }));
  const signature = signSha256(input.key, toBeSigned);

  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: signer.issuer, serialNumber: signer.serialNumber }),
    digestAlgorithm: sha256Algorithm(),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sorted.map((x) => x.a) }),
    signatureAlgorithm: cmsSignatureAlgorithm(input.key),
    signature: new asn1js.OctetString({ valueHex: bytes(signature) }),
  });
  if (input.timestamp) {
    const token = await input.timestamp(signature);
    signerInfo.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 1,
      attributes: [attribute(OID.signatureTimeStampToken, parseAsn1(token, 'time-stamp token'))],
    });
  }
  const signedData = new pkijs.SignedData({
    // RFC 5652 §5.1: version 3 when the content type is not id-data.
    version: input.eContentType === OID.data ? 1 : 3,
    digestAlgorithms: [sha256Algorithm()],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: input.eContentType }),
    signerInfos: [signerInfo],
  });
  // Set after construction: pkijs's constructor would turn it into a constructed (BER)
  // OCTET STRING; a time-stamp token keeps its TSTInfo in one primitive OCTET STRING (DER).
  if (input.eContent) signedData.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: bytes(input.eContent) });
  if (!input.omitCertificates) signedData.certificates = [input.certificate, ...input.chain].map(pkiCertificate);
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) });
  return der(contentInfo.toSchema());
}

/** The parts of a SignedData that verification needs. */
export interface ParsedSignedData {
  signedData: pkijs.SignedData;
  signerInfo: pkijs.SignerInfo;
  /** DER certificates carried in the SignedData. */
  certificates: Buffer[];
  /** The signer's certificate, found by issuer and serial number (when carried). */
  signerCertificate: Buffer | undefined;
  /** The bytes the signature covers: the signed attributes as a DER SET. */
  signedAttributes: Buffer;
  signature: Buffer;
  /** Values of a signed attribute by OID. */
  signedAttribute(oid: string): asn1js.AsnType[] | undefined;
  /** Values of an unsigned attribute by OID. */
  unsignedAttribute(oid: string): asn1js.AsnType[] | undefined;
}

/** Parses a DER ContentInfo of SignedData with one signer that has signed attributes. */
export function parseSignedData(contentInfoDer: Buffer): ParsedSignedData {
  const contentInfo = new pkijs.ContentInfo({ schema: parseAsn1(contentInfoDer, 'CMS ContentInfo') });
  if (contentInfo.contentType !== OID.signedData) throw new Error('not a CMS SignedData');
  const signedData = new pkijs.SignedData({ schema: contentInfo.content });
  const signerInfo = signedData.signerInfos[0];
  if (!signerInfo || signedData.signerInfos.length !== 1) throw new Error('CMS SignedData must have exactly one signer');
  if (!signerInfo.signedAttrs) throw new Error('CMS signer has no signed attributes');
  const certificates = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate).map((c) => der(c.toSchema()));
  let signerCertificate: Buffer | undefined;
  if (signerInfo.sid instanceof pkijs.IssuerAndSerialNumber) {
    const sid = signerInfo.sid;
    signerCertificate = certificates.find((c) => {
      const pc = pkiCertificate(c);
      return pc.issuer.isEqual(sid.issuer) && pc.serialNumber.isEqual(sid.serialNumber);
    });
  }
  const find = (attrs: pkijs.SignedAndUnsignedAttributes | undefined, oid: string): asn1js.AsnType[] | undefined =>
    attrs?.attributes.find((a) => a.type === oid)?.values as asn1js.AsnType[] | undefined;
  return {
    signedData,
    signerInfo,
    certificates,
    signerCertificate,
    signedAttributes: Buffer.from(signerInfo.signedAttrs.encodedValue),
    signature: Buffer.from(signerInfo.signature.valueBlock.valueHexView),
    signedAttribute: (oid) => find(signerInfo.signedAttrs, oid),
    unsignedAttribute: (oid) => find(signerInfo.unsignedAttrs, oid),
  };
}

/** Whether the signing-certificate-v2 attribute names this certificate (by its SHA-256). */
export function signingCertificateMatches(values: asn1js.AsnType[] | undefined, certDer: Buffer): boolean {
  const value = values?.[0];
  if (!(value instanceof asn1js.Sequence)) return false;
  const certs = value.valueBlock.value[0];
  const first = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
  if (!(first instanceof asn1js.Sequence)) return false;
  const parts = first.valueBlock.value;
  // hashAlgorithm is present only when it is not SHA-256 (DEFAULT); Enkaku accepts SHA-256 only.
  const hash = parts[0];
  if (!(hash instanceof asn1js.OctetString)) return false;
  return Buffer.from(hash.valueBlock.valueHexView).equals(sha256(certDer));
}
