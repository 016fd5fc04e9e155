/**
 * Private keys of report signing: generated with node:crypto, kept as PKCS#8 sealed with the
 * data folder's {@link SecretBox} (AES-256-GCM), and used through node:crypto so that RSA and
 * ECDSA keys (an imported HPKI key may be either) sign the same way.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, sign, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { SecretBox } from '../../platform/secrets.ts';
import { OID } from './oids.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * RSA modulus of keys Enkaku generates: 3072 bits (about 128-bit security, NIST SP 800-57
 * beyond 2030), signed as RSASSA-PKCS1-v1_5 with SHA-256, which every PDF and CMS verifier
 * accepts (HPKI uses the same scheme).
 */
export const RSA_BITS = 3072;

/** A new RSA private key (generated off the event loop). */
export async function generatePrivateKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 });
  return privateKey;
}

/** The PKCS#8 DER of a private key. */
export function pkcs8Of(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' });
}

/** The SubjectPublicKeyInfo DER of a private or public key. */
export function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' });
}

/** Seals a private key for storage (PKCS#8, AES-256-GCM under the data folder's key). */
export function sealKey(box: SecretBox, key: KeyObject): string {
  return box.seal(pkcs8Of(key).toString('base64'));
}

/** Opens a key sealed by {@link sealKey}; throws when it was altered or the key file differs. */
export function openKey(box: SecretBox, sealed: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(box.open(sealed), 'base64'), format: 'der', type: 'pkcs8' });
}

/** Keys that can sign reports: RSA (2048 bits or more) and ECDSA on P-256/P-384/P-521. */
export function assertSigningKey(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new Error(`RSA keys of ${bits} bits are too short to sign reports (2048 at least)`);
    return;
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'secp384r1' || curve === 'secp521r1') return;
    throw new Error(`EC curve ${curve ?? 'unknown'} is not supported for report signatures`);
  }
  throw new Error(`${type ?? 'unknown'} keys are not supported for report signatures (RSA or ECDSA)`);
}

/** Signs bytes with SHA-256: RSASSA-PKCS1-v1_5 for RSA keys, DER-encoded ECDSA for EC keys (RFC 5754 §3). */
export function signSha256(key: KeyObject, data: Uint8Array): Buffer {
  return sign('sha256', data, key);
}

/**
 * The SignerInfo signatureAlgorithm for a key: rsaEncryption with NULL parameters (RFC 3370
 * §3.2, what most CMS producers write) or ecdsa-with-SHA256 without parameters (RFC 5758 §3.2).
 */
export function cmsSignatureAlgorithm(key: KeyObject): pkijs.AlgorithmIdentifier {
  if (key.asymmetricKeyType === 'ec') return new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 });
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
}

/** The key as a WebCrypto key for @peculiar/x509 (certificate issuing needs one). */
export async function webCryptoSigningKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const der = pkcs8Of(key);
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : 'P-256';
    return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
  }
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
}

/** Whether a private key and a certificate's public key (SPKI DER) belong together. */
export function keyMatchesCertificate(key: KeyObject, certificateSpki: Buffer): boolean {
  return spkiOf(key).equals(certificateSpki);
}
