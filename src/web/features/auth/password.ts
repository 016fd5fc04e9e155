/**
 * What the web application checks before sending a new password. The server's password
 * policy decides; these checks only spare the user a round trip.
 */

/** Minimum length asked for new passwords (MHLW guideline 6.0 favours long passphrases). */
export const MIN_PASSWORD_LENGTH = 12;

/** Maximum length accepted (the server hashes with argon2id; longer input is refused). */
export const MAX_PASSWORD_LENGTH = 256;

export type PasswordProblem = 'tooShort' | 'tooLong' | 'sameAsUsername' | 'mismatch';

/** The first problem of a new password and its confirmation, or `null`. */
export function checkNewPassword(password: string, confirmation: string, username?: string): PasswordProblem | null {
  if (password.length < MIN_PASSWORD_LENGTH) return 'tooShort';
  if (password.length > MAX_PASSWORD_LENGTH) return 'tooLong';
  if (username && password.toLowerCase() === username.trim().toLowerCase()) return 'sameAsUsername';
  if (password !== confirmation) return 'mismatch';
  return null;
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A random initial password (16 characters without look-alikes such as 0/O and 1/l), for
 * administrators creating an account; the user must change it at first login.
 */
export function generatePassword(length = 16): string {
  const out: string[] = [];
  const limit = 256 - (256 % ALPHABET.length); // reject bytes that would bias the choice
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const byte of bytes) {
      if (byte < limit && out.length < length) out.push(ALPHABET[byte % ALPHABET.length] as string);
    }
  }
  return out.join('');
}

/** A TOTP code as typed, without spaces or hyphens and with full-width digits (IME input) made ASCII. */
export function normaliseTotpCode(code: string): string {
  return code.replace(/[\s-]/g, '').replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
}

/** Whether a normalised TOTP code has the six digits of RFC 6238 as used by authenticator apps. */
export function isTotpCode(code: string): boolean {
  return /^\d{6}$/.test(code);
}
