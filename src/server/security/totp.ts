/**
 * TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s), compatible with common
 * authenticator apps. Codes are accepted one step either side of now, and a code's time
 * step is remembered so the same code cannot be used twice.
 */
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/** A new random TOTP secret (base32, 160 bits). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URL and a QR code (SVG) for enrolment in an authenticator app. */
export async function totpEnrolment(secret: string, username: string): Promise<{ secret: string; otpauthUrl: string; qrSvg: string }> {
  const otpauthUrl = generateURI({ issuer: 'Enkaku', label: username, secret });
  const qrSvg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, otpauthUrl, qrSvg };
}

/**
 * Verifies a code. Returns the time step it belongs to when valid and newer than
 * `afterStep`, otherwise undefined.
 */
export async function verifyTotp(secret: string, code: string, afterStep: number | null): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const r = await verify({ secret, token: code, epochTolerance: 30, ...(afterStep !== null ? { afterTimeStep: afterStep } : {}) });
  return r.valid ? (r as { timeStep: number }).timeStep : undefined;
}
