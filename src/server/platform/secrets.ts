/**
 * Encryption of small secrets at rest (TOTP seeds) with AES-256-GCM under a key kept in
 * the data folder (`keys/secrets.key`, mode 0600), created on first use. A database dump
 * alone therefore does not reveal second factors.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Seals and opens secrets with the data folder's key. */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Loads the key from the data folder, creating it when missing. */
  static open(dataDir: string): SecretBox {
    const dir = path.join(dataDir, 'keys');
    const file = path.join(dir, 'secrets.key');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file)) {
      try {
        fs.writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const key = fs.readFileSync(file);
    if (key.length !== 32) throw new Error(`${file} must hold a 32-byte key`);
    return new SecretBox(key);
  }

  /** Encrypts text; the result is `v1.<iv>.<tag>.<ciphertext>` in base64url. */
  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** Decrypts what {@link seal} produced; throws when it was altered. */
  open(sealed: string): string {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('malformed sealed secret');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
  }
}
