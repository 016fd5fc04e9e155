/**
 * Password hashing (argon2id) and the password rules of the MHLW 医療情報システムの安全管理
 * に関するガイドライン 第6.0版 Q&A: at least 13 characters mixing letters, digits and
 * symbols; or at least 8 such characters when the account also uses a second factor.
 */
import argon2 from 'argon2';

/** argon2id parameters (RFC 9106 second recommended option: 64 MiB, 3 passes, 4 lanes). */
const OPTIONS = { type: argon2.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 4 } as const;

/** Hashes a password as an argon2id PHC string. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

/** Verifies a password against its stored hash (constant time inside argon2). */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** A hash of a random password, verified when the username is unknown so timing tells nothing. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(`decoy-${Math.random()}`);
  return decoy;
}

/**
 * Checks a new password against the rules; returns the reason it is refused, or undefined.
 * @param withSecondFactor - the account uses a second factor, so 8 characters suffice
 */
export function passwordProblem(password: string, opts: { withSecondFactor: boolean; username: string }): string | undefined {
  const min = opts.withSecondFactor ? 8 : 13;
  if ([...password].length < min) return `password must be at least ${min} characters`;
  if ([...password].length > 256) return 'password must be at most 256 characters';
  const kinds = [/[A-Za-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (kinds < 3) return 'password must mix letters, digits and symbols';
  if (opts.username && password.toLowerCase().includes(opts.username.toLowerCase())) return 'password must not contain the username';
  return undefined;
}
