/**
 * Reading a physician's own certificate and key for import (e.g. an HPKI signing
 * certificate exported from its issuer's tool): PKCS#12 (RFC 7292, password-based
 * encryption PBES2 as OpenSSL 3 and current Windows write it) or PEM (certificate chain and a
 * private key, encrypted PKCS#8 or not). The leaf is the certificate whose public key matches
 * the private key; the chain above it is ordered issuer first.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { certificateSpki, chainAbove, pemBlocks } from './certificates.ts';
import { der, parseAsn1 } from './cms.ts';
import { keyMatchesCertificate } from './keys.ts';

/** A certificate with its key and the chain above it. */
export interface ImportedCredential {
  certificate: Buffer;
  key: KeyObject;
  /** Issuer first, up to the root when it was supplied. */
  chain: Buffer[];
}

const BAG = {
  key: '1.2.840.113549.1.12.10.1.1',
  shroudedKey: '1.2.840.113549.1.12.10.1.2',
  cert: '1.2.840.113549.1.12.10.1.3',
} as const;
const X509_CERT_BAG = '1.2.840.113549.1.9.22.1';
const ENCRYPTED_DATA = '1.2.840.113549.1.7.6';

/** Picks the leaf matching the key and orders the rest into its chain. */
function assemble(certificates: Buffer[], keys: KeyObject[]): ImportedCredential {
  if (keys.length === 0) throw new Error('no private key found');
  if (certificates.length === 0) throw new Error('no certificate found');
  for (const key of keys) {
    const leaf = certificates.find((c) => keyMatchesCertificate(key, certificateSpki(c)));
    if (leaf) return { certificate: leaf, key, chain: chainAbove(leaf, certificates) };
  }
  throw new Error('none of the certificates belongs to the private key');
}

function passwordBytes(password: string): ArrayBuffer {
  return new Uint8Array(Buffer.from(password, 'utf8')).buffer;
}

/**
 * Reads a PKCS#12 file.
 * @throws when the password is wrong, the MAC fails, or the file uses the legacy
 *   PKCS#12 PBE ciphers (3DES, RC2), which have to be re-exported with AES
 */
export async function readPkcs12(p12: Buffer, password: string): Promise<ImportedCredential> {
  const pfx = new pkijs.PFX({ schema: parseAsn1(p12, 'PKCS#12 file') });
  const pw = passwordBytes(password);
  try {
    await pfx.parseInternalValues({ password: pw, checkIntegrity: true });
  } catch (err) {
    throw new Error(`the PKCS#12 file could not be opened: wrong password or damaged file (${(err as Error).message})`);
  }
  const safe = pfx.parsedValue?.authenticatedSafe;
  if (!safe) throw new Error('the PKCS#12 file has no content');
  try {
    await safe.parseInternalValues({ safeContents: safe.safeContents.map((ci) => (ci.contentType === ENCRYPTED_DATA ? { password: pw } : {})) });
  } catch (err) {
    throw new Error(
      `the PKCS#12 file uses encryption Enkaku cannot open (${(err as Error).message}); export it again with AES ` +
        '(e.g. `openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256`) or import PEM files',
    );
  }
  const certificates: Buffer[] = [];
  const keys: KeyObject[] = [];
  for (const contents of safe.parsedValue?.safeContents ?? []) {
    for (const bag of contents.value.safeBags) {
      if (bag.bagId === BAG.cert) {
        const certBag = bag.bagValue as pkijs.CertBag;
        if (certBag.certId === X509_CERT_BAG && certBag.parsedValue instanceof pkijs.Certificate) certificates.push(der(certBag.parsedValue.toSchema()));
      } else if (bag.bagId === BAG.shroudedKey) {
        const shrouded = bag.bagValue as pkijs.PKCS8ShroudedKeyBag;
        try {
          // Public at run time; the type declarations mark it protected.
          await (shrouded as unknown as { parseInternalValues(p: { password: ArrayBuffer }): Promise<void> }).parseInternalValues({ password: pw });
        } catch (err) {
          throw new Error(`the private key in the PKCS#12 file could not be decrypted (${(err as Error).message})`);
        }
        if (shrouded.parsedValue) keys.push(createPrivateKey({ key: der(shrouded.parsedValue.toSchema()), format: 'der', type: 'pkcs8' }));
      } else if (bag.bagId === BAG.key) {
        keys.push(createPrivateKey({ key: der((bag.bagValue as pkijs.PrivateKeyInfo).toSchema()), format: 'der', type: 'pkcs8' }));
      }
    }
  }
  return assemble(certificates, keys);
}

/**
 * Reads PEM: certificates (the signer's and its chain, in any order) and a private key
 * (PKCS#8, encrypted PKCS#8, or the traditional RSA/EC forms).
 */
export function readPem(certificatesPem: string, privateKeyPem: string, passphrase?: string): ImportedCredential {
  const certificates = pemBlocks(certificatesPem).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: 'pem', ...(passphrase ? { passphrase } : {}) });
  } catch (err) {
    throw new Error(`the private key could not be read: wrong passphrase or not a PEM key (${(err as Error).message})`);
  }
  return assemble(certificates, [key]);
}
