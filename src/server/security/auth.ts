/**
 * Authentication (S4, MHLW 6.0): password (argon2id) then TOTP, with lockout and
 * back-off; server-side sessions with idle and absolute timeouts that administrators
 * can revoke; CSRF tokens; re-authentication for sensitive acts; the confidentiality
 * agreement at first login (S10); the one-time setup link for the first administrator.
 *
 * A second factor is required for every login from a non-loopback address and for every
 * physician, and always once a user has enrolled one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isLoopback } from '../config.ts';
import { AppError } from '../platform/errors.ts';
import type { Actor, Grant } from '../platform/context.ts';
import type { SecretBox } from '../platform/secrets.ts';
import type { LoginResponse, Role, SessionInfo } from '../../shared/api.ts';
import { AccountRepository, type SessionRow, type UserRow } from './repository.ts';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { newTotpSecret, totpEnrolment, verifyTotp } from './totp.ts';
import { PHYSICIAN_ROLES, type AccountService } from './accounts.ts';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { PasskeySummary } from '../../shared/api.ts';

/** The WebAuthn relying party as the browser sees it: origin and RP ID (its host name). */
export interface RelyingParty {
  origin: string;
  id: string;
}

/** Session and lockout settings. */
export interface AuthSettings {
  idleMinutes: number;
  absoluteHours: number;
  /** Consecutive failures before a lockout. */
  maxFailures: number;
  /** First lockout; each further one doubles, up to {@link maxLockMinutes}. */
  lockMinutes: number;
  maxLockMinutes: number;
}

export const DEFAULT_AUTH: AuthSettings = { idleMinutes: 30, absoluteHours: 12, maxFailures: 5, lockMinutes: 1, maxLockMinutes: 60 };

/** Minutes a half-done login (password given, second factor pending) stays valid. */
const MFA_STAGE_MINUTES = 5;

/** Where a request comes from. */
export interface ClientInfo {
  address: string;
  userAgent: string;
}

/** Something to record in the audit trail. */
export type AuthEvent = {
  action: string;
  outcome: 'success' | 'failure';
  userId: string | null;
  username: string;
  address: string;
  details?: Record<string, unknown>;
};

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const token = (): string => randomBytes(32).toString('base64url');

/** Login, sessions and the first-administrator setup. */
export class AuthService {
  constructor(
    private readonly repo: AccountRepository,
    private readonly accounts: AccountService,
    private readonly secrets: SecretBox,
    private readonly onEvent: (e: AuthEvent) => Promise<void>,
    private readonly settings: AuthSettings = DEFAULT_AUTH,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private iso(offsetMs = 0): string {
    return new Date(this.now().getTime() + offsetMs).toISOString();
  }

  /** Whether the first administrator still has to be created. */
  async setupNeeded(): Promise<boolean> {
    return (await this.repo.countUsers()) === 0;
  }

  /** Creates a one-time setup token (valid 24 h) when no user exists yet; undefined otherwise. */
  async issueSetupToken(): Promise<string | undefined> {
    if (!(await this.setupNeeded())) return undefined;
    const t = token();
    await this.repo.insertSetupToken(sha256(t), this.iso(), this.iso(24 * 3600_000));
    return t;
  }

  /** Creates the first system administrator with a valid setup token. */
  async completeSetup(input: { token: string; username: string; displayName: string; password: string }, client: ClientInfo): Promise<void> {
    if (!(await this.setupNeeded())) throw new AppError('conflict', 'setup is already complete');
    const problem = passwordProblem(input.password, { withSecondFactor: false, username: input.username });
    if (problem) throw new AppError('bad_request', problem);
    if (!(await this.repo.consumeSetupToken(sha256(input.token), this.iso()))) {
      await this.onEvent({ action: 'auth.setup', outcome: 'failure', userId: null, username: input.username, address: client.address });
      throw new AppError('forbidden', 'the setup link is invalid, used or expired; restart Enkaku for a new one');
    }
    const id = await this.accounts.create(
      { kind: 'system', name: 'setup' },
      { username: input.username, displayName: input.displayName, password: input.password, grants: [{ role: 'system-admin', facilityId: null }], mustChangePassword: false },
    );
    await this.onEvent({ action: 'auth.setup', outcome: 'success', userId: id, username: input.username, address: client.address });
  }

  private needsSecondFactor(user: UserRow, grants: Grant[], client: ClientInfo, hasPasskey: boolean): boolean {
    return Boolean(user.mfa_enrolled_at) || hasPasskey || !isLoopback(client.address) || grants.some((g) => PHYSICIAN_ROLES.includes(g.role));
  }

  /**
   * First step of a login: the password. Returns the session cookie value and what comes next.
   * @throws AppError unauthenticated (wrong credentials), or 'locked' as forbidden with a retry time
   */
  async login(username: string, password: string, client: ClientInfo): Promise<{ cookie: string; response: LoginResponse }> {
    const user = await this.repo.byUsername(username.trim().toLowerCase());
    if (!user || user.disabled) {
      await verifyPassword(await decoyHash(), password);
      await this.onEvent({ action: 'auth.login', outcome: 'failure', userId: user?.id ?? null, username, address: client.address, details: { reason: user ? 'disabled' : 'unknown-user' } });
      throw new AppError('unauthenticated', 'wrong username or password');
    }
    const nowIso = this.iso();
    if (user.locked_until && user.locked_until > nowIso) {
      await this.onEvent({ action: 'auth.login', outcome: 'failure', userId: user.id, username: user.username, address: client.address, details: { reason: 'locked' } });
      throw new LockedError(Math.ceil((Date.parse(user.locked_until) - this.now().getTime()) / 1000));
    }
    if (!(await verifyPassword(user.password_hash, password))) {
      await this.recordFailure(user, client, 'password');
      throw new AppError('unauthenticated', 'wrong username or password');
    }
    const grants = (await this.repo.grants([user.id])).get(user.id) ?? [];
    const hasPasskey = (await this.repo.passkeys(user.id)).length > 0;
    if (this.needsSecondFactor(user, grants, client, hasPasskey)) {
      const cookie = await this.newSession(user, client, 'mfa', MFA_STAGE_MINUTES * 60_000);
      if (user.totp_secret || hasPasskey) return { cookie, response: { status: 'mfa-required', passkeyAvailable: hasPasskey, totpAvailable: Boolean(user.totp_secret) } };
      const secret = newTotpSecret();
      await this.repo.updateUser(user.id, { totp_pending_secret: this.secrets.seal(secret), updated_at: nowIso });
      return { cookie, response: { status: 'mfa-enrolment-required', enrolment: await totpEnrolment(secret, user.username) } };
    }
    const cookie = await this.newSession(user, client, 'full', this.settings.absoluteHours * 3600_000);
    await this.loginSucceeded(user, client, false);
    return { cookie, response: { status: 'ok', session: (await this.session(cookie, client, false))! } };
  }

  /** Second step: the TOTP code (also completes a pending enrolment). */
  async secondFactor(cookie: string, code: string, client: ClientInfo): Promise<{ cookie: string; response: LoginResponse }> {
    const s = await this.repo.session(sha256(cookie));
    if (!s || s.revoked_at || s.stage !== 'mfa' || s.absolute_expires_at <= this.iso()) throw new AppError('unauthenticated', 'the login has expired; enter your password again');
    const user = await this.repo.byId(s.user_id);
    if (!user || user.disabled) throw new AppError('unauthenticated', 'the login has expired; enter your password again');
    if (user.locked_until && user.locked_until > this.iso()) throw new LockedError(Math.ceil((Date.parse(user.locked_until) - this.now().getTime()) / 1000));
    const enrolling = !user.totp_secret;
    const sealed = user.totp_secret ?? user.totp_pending_secret;
    if (!sealed) throw new AppError('unauthenticated', 'the login has expired; enter your password again');
    const step = await verifyTotp(this.secrets.open(sealed), code.trim(), user.totp_last_step);
    if (step === undefined) {
      await this.recordFailure(user, client, 'totp');
      throw new AppError('unauthenticated', 'wrong or already used code');
    }
    const nowIso = this.iso();
    await this.repo.updateUser(user.id, {
      totp_last_step: step,
      ...(enrolling ? { totp_secret: sealed, totp_pending_secret: null, mfa_enrolled_at: nowIso } : {}),
      updated_at: nowIso,
    });
    if (enrolling) await this.onEvent({ action: 'auth.mfa-enrol', outcome: 'success', userId: user.id, username: user.username, address: client.address });
    // The half-done session is replaced by a full one: a new cookie, so a stolen pre-MFA cookie is worthless.
    await this.repo.updateSession(s.id, { revoked_at: nowIso });
    const fresh = await this.newSession(user, client, 'full', this.settings.absoluteHours * 3600_000);
    await this.loginSucceeded(user, client, true);
    const session = (await this.session(fresh, client, false))!;
    return { cookie: fresh, response: { status: 'ok', session } };
  }

  private async newSession(user: UserRow, client: ClientInfo, stage: 'mfa' | 'full', lifetimeMs: number): Promise<string> {
    const cookie = token();
    const nowIso = this.iso();
    const row: SessionRow = {
      id: sha256(cookie),
      user_id: user.id,
      stage,
      csrf_token: token(),
      client_address: client.address,
      user_agent: client.userAgent.slice(0, 300),
      created_at: nowIso,
      last_seen_at: nowIso,
      absolute_expires_at: this.iso(lifetimeMs),
      revoked_at: null,
      webauthn_challenge: null,
      reauth_at: null,
      terminal_id: null,
    };
    await this.repo.insertSession(row);
    return cookie;
  }

  private async recordFailure(user: UserRow, client: ClientInfo, factor: 'password' | 'totp'): Promise<void> {
    const failures = user.failed_logins + 1;
    const values: Partial<UserRow> = { failed_logins: failures, updated_at: this.iso() };
    let locked = false;
    if (failures >= this.settings.maxFailures) {
      const minutes = Math.min(this.settings.maxLockMinutes, this.settings.lockMinutes * 2 ** user.lockouts);
      Object.assign(values, { failed_logins: 0, lockouts: user.lockouts + 1, locked_until: this.iso(minutes * 60_000) });
      locked = true;
    }
    await this.repo.updateUser(user.id, values);
    await this.onEvent({ action: 'auth.login', outcome: 'failure', userId: user.id, username: user.username, address: client.address, details: { reason: factor, locked } });
  }

  private async loginSucceeded(user: UserRow, client: ClientInfo, mfa: boolean): Promise<void> {
    const nowIso = this.iso();
    await this.repo.updateUser(user.id, { failed_logins: 0, lockouts: 0, locked_until: null, last_login_at: nowIso, updated_at: nowIso });
    await this.onEvent({ action: 'auth.login', outcome: 'success', userId: user.id, username: user.username, address: client.address, details: { mfa } });
  }

  /**
   * Resolves a session cookie. Idle or expired sessions end here; a valid one is
   * refreshed (at most every 30 s).
   */
  async session(cookie: string, client: ClientInfo, touch = true): Promise<SessionInfo | undefined> {
    const resolved = await this.resolve(cookie, client, touch);
    return resolved?.info;
  }

  /** The actor behind a session cookie, with its CSRF token and session info. */
  async resolve(cookie: string, client: ClientInfo, touch = true): Promise<{ actor: Extract<Actor, { kind: 'user' }>; csrf: string; info: SessionInfo } | undefined> {
    if (!cookie) return undefined;
    const s = await this.repo.session(sha256(cookie));
    if (!s || s.revoked_at || s.stage !== 'full') return undefined;
    const now = this.now().getTime();
    const idleMs = this.settings.idleMinutes * 60_000;
    if (Date.parse(s.absolute_expires_at) <= now || Date.parse(s.last_seen_at) + idleMs <= now) {
      await this.repo.updateSession(s.id, { revoked_at: this.iso() });
      return undefined;
    }
    const user = await this.repo.byId(s.user_id);
    if (!user || user.disabled) return undefined;
    let lastSeen = s.last_seen_at;
    if (touch && now - Date.parse(s.last_seen_at) > 30_000) {
      lastSeen = this.iso();
      await this.repo.updateSession(s.id, { last_seen_at: lastSeen });
    }
    const grants = (await this.repo.grants([user.id])).get(user.id) ?? [];
    const info: SessionInfo = {
      user: {
        id: user.id,
        username: user.username,
        displayName: user.display_name,
        grants: await Promise.all(grants.map(async (g) => ({ role: g.role as Role, facilityId: g.facilityId, facilityName: g.facilityId ? ((await this.accounts.facilityNameOf(g.facilityId)) ?? null) : null }))),
        mfaEnrolled: Boolean(user.mfa_enrolled_at),
        mustAcceptAgreement: !user.agreement_accepted_at,
        mustChangePassword: Boolean(user.must_change_password),
      },
      csrfToken: s.csrf_token,
      idleExpiresAt: new Date(Date.parse(lastSeen) + idleMs).toISOString(),
      absoluteExpiresAt: s.absolute_expires_at,
    };
    return { actor: { kind: 'user', userId: user.id, username: user.username, grants, address: client.address, sessionId: s.id }, csrf: s.csrf_token, info };
  }

  /** Ends a session. */
  async logout(cookie: string, client: ClientInfo): Promise<void> {
    const s = await this.repo.session(sha256(cookie));
    if (!s || s.revoked_at) return;
    await this.repo.updateSession(s.id, { revoked_at: this.iso() });
    const user = await this.repo.byId(s.user_id);
    await this.onEvent({ action: 'auth.logout', outcome: 'success', userId: s.user_id, username: user?.username ?? '', address: client.address });
  }

  /** Records acceptance of the confidentiality agreement. */
  async acceptAgreement(actor: Extract<Actor, { kind: 'user' }>): Promise<void> {
    const nowIso = this.iso();
    await this.repo.updateUser(actor.userId, { agreement_accepted_at: nowIso, updated_at: nowIso });
    await this.onEvent({ action: 'user.agreement-accept', outcome: 'success', userId: actor.userId, username: actor.username, address: actor.address });
  }

  /** Changes the actor's own password after checking the current one. */
  async changePassword(actor: Extract<Actor, { kind: 'user' }>, current: string, next: string): Promise<void> {
    const user = await this.repo.byId(actor.userId);
    if (!user) throw new AppError('unauthenticated', 'not logged in');
    if (!(await verifyPassword(user.password_hash, current))) {
      await this.onEvent({ action: 'user.password-change', outcome: 'failure', userId: user.id, username: user.username, address: actor.address });
      throw new AppError('forbidden', 'the current password is wrong');
    }
    const problem = passwordProblem(next, { withSecondFactor: Boolean(user.mfa_enrolled_at), username: user.username });
    if (problem) throw new AppError('bad_request', problem);
    if (await verifyPassword(user.password_hash, next)) throw new AppError('bad_request', 'the new password must differ from the current one');
    const nowIso = this.iso();
    await this.repo.updateUser(user.id, { password_hash: await hashPassword(next), password_changed_at: nowIso, must_change_password: 0, updated_at: nowIso });
    await this.onEvent({ action: 'user.password-change', outcome: 'success', userId: user.id, username: user.username, address: actor.address });
  }

  /**
   * Re-authentication for sensitive acts (role changes, exports, signing): the password
   * again. Failures count towards the lockout like any other.
   */
  async reauthenticate(actor: Extract<Actor, { kind: 'user' }>, password: string): Promise<void> {
    const user = await this.repo.byId(actor.userId);
    if (!user || !(await verifyPassword(user.password_hash, password))) {
      if (user) await this.recordFailure(user, { address: actor.address, userAgent: '' }, 'password');
      throw new AppError('forbidden', 're-authentication failed: wrong password');
    }
    await this.repo.updateSession(actor.sessionId, { reauth_at: this.iso() });
  }

  /**
   * Re-authentication with the second factor for signing (A4): the current TOTP code of the
   * logged-in user. A code is accepted once (no replay, the same rule as at login), and
   * failures count towards the lockout.
   */
  async verifySecondFactor(actor: Extract<Actor, { kind: 'user' }>, code: string): Promise<void> {
    const user = await this.repo.byId(actor.userId);
    if (!user || user.disabled) throw new AppError('unauthenticated', 'not logged in');
    if (user.locked_until && user.locked_until > this.iso()) throw new LockedError(Math.ceil((Date.parse(user.locked_until) - this.now().getTime()) / 1000));
    if (!user.totp_secret) throw new AppError('forbidden', 'signing needs an enrolled authenticator app (TOTP); enrol one under your account first');
    const step = await verifyTotp(this.secrets.open(user.totp_secret), code.trim(), user.totp_last_step);
    if (step === undefined) {
      await this.recordFailure(user, { address: actor.address, userAgent: '' }, 'totp');
      throw new AppError('forbidden', 're-authentication failed: wrong or already used code');
    }
    await this.repo.updateUser(user.id, { totp_last_step: step, updated_at: this.iso() });
    await this.repo.updateSession(actor.sessionId, { reauth_at: this.iso() });
  }

  /**
   * Refuses a sensitive act (exports, signing) unless the password was confirmed in this
   * session within the last `minutes` (POST /api/me/reauth).
   */
  async assertRecentReauth(actor: Extract<Actor, { kind: 'user' }>, minutes = 5): Promise<void> {
    const s = await this.repo.session(actor.sessionId);
    if (!s?.reauth_at || Date.parse(s.reauth_at) + minutes * 60_000 < this.now().getTime()) {
      throw new AppError('forbidden', `this act needs your password again (re-authenticate within ${minutes} minutes)`);
    }
  }

  /** Options for registering a passkey for the logged-in user (challenge kept in the session). */
  async passkeyRegistrationOptions(actor: Extract<Actor, { kind: 'user' }>, rp: RelyingParty): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const user = await this.repo.byId(actor.userId);
    if (!user) throw new AppError('unauthenticated', 'not logged in');
    const existing = await this.repo.passkeys(user.id);
    const options = await generateRegistrationOptions({
      rpName: 'Enkaku',
      rpID: rp.id,
      userName: user.username,
      userDisplayName: user.display_name,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: JSON.parse(p.transports) as AuthenticatorTransport[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    });
    await this.repo.updateSession(actor.sessionId, { webauthn_challenge: options.challenge });
    return options;
  }

  /** Verifies and stores a new passkey. */
  async registerPasskey(actor: Extract<Actor, { kind: 'user' }>, name: string, response: RegistrationResponseJSON, rp: RelyingParty): Promise<string> {
    const s = await this.repo.session(actor.sessionId);
    const challenge = s?.webauthn_challenge;
    if (!challenge) throw new AppError('bad_request', 'request registration options first');
    await this.repo.updateSession(actor.sessionId, { webauthn_challenge: null });
    const label = name.trim().slice(0, 60) || 'passkey';
    let verified;
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true });
    } catch (err) {
      throw new AppError('bad_request', `the passkey could not be verified: ${(err as Error).message}`);
    }
    if (!verified.verified || !verified.registrationInfo) throw new AppError('bad_request', 'the passkey could not be verified');
    const c = verified.registrationInfo.credential;
    const nowIso = this.iso();
    await this.repo.insertPasskey(
      { id: c.id, user_id: actor.userId, name: label, public_key: Buffer.from(c.publicKey).toString('base64url'), counter: c.counter, transports: JSON.stringify(c.transports ?? []), created_at: nowIso, last_used_at: null },
      async () => undefined,
    );
    await this.onEvent({ action: 'auth.passkey-register', outcome: 'success', userId: actor.userId, username: actor.username, address: actor.address, details: { passkeyId: c.id } });
    return c.id;
  }

  /** The logged-in user's passkeys. */
  async listPasskeys(actor: Extract<Actor, { kind: 'user' }>): Promise<PasskeySummary[]> {
    return (await this.repo.passkeys(actor.userId)).map((p) => ({ id: p.id, name: p.name, createdAt: p.created_at, lastUsedAt: p.last_used_at }));
  }

  /** Removes one of the logged-in user's passkeys. */
  async deletePasskey(actor: Extract<Actor, { kind: 'user' }>, id: string): Promise<void> {
    if (!(await this.repo.deletePasskey(actor.userId, id, async () => undefined))) throw new AppError('not_found', 'no such passkey');
    await this.onEvent({ action: 'auth.passkey-delete', outcome: 'success', userId: actor.userId, username: actor.username, address: actor.address, details: { passkeyId: id } });
  }

  /** Second step with a passkey instead of a TOTP code: the request options. */
  async passkeyLoginOptions(cookie: string, rp: RelyingParty): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const s = await this.repo.session(sha256(cookie));
    if (!s || s.revoked_at || s.stage !== 'mfa' || s.absolute_expires_at <= this.iso()) throw new AppError('unauthenticated', 'the login has expired; enter your password again');
    const keys = await this.repo.passkeys(s.user_id);
    if (keys.length === 0) throw new AppError('bad_request', 'no passkey is registered for this account');
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: keys.map((p) => ({ id: p.id, transports: JSON.parse(p.transports) as AuthenticatorTransport[] })),
      userVerification: 'required',
    });
    await this.repo.updateSession(s.id, { webauthn_challenge: options.challenge });
    return options;
  }

  /** Completes the login with a passkey assertion. */
  async passkeyLogin(cookie: string, response: AuthenticationResponseJSON, rp: RelyingParty, client: ClientInfo): Promise<{ cookie: string; response: LoginResponse }> {
    const s = await this.repo.session(sha256(cookie));
    if (!s || s.revoked_at || s.stage !== 'mfa' || !s.webauthn_challenge || s.absolute_expires_at <= this.iso()) throw new AppError('unauthenticated', 'the login has expired; enter your password again');
    await this.repo.updateSession(s.id, { webauthn_challenge: null });
    const user = await this.repo.byId(s.user_id);
    const key = await this.repo.passkey(String(response?.id ?? ''));
    if (!user || user.disabled || !key || key.user_id !== user.id) throw new AppError('unauthenticated', 'unknown passkey');
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: s.webauthn_challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: true,
        credential: { id: key.id, publicKey: new Uint8Array(Buffer.from(key.public_key, 'base64url')), counter: Number(key.counter), transports: JSON.parse(key.transports) as AuthenticatorTransport[] },
      });
    } catch {
      verified = undefined;
    }
    if (!verified?.verified) {
      await this.recordFailure(user, client, 'totp');
      throw new AppError('unauthenticated', 'the passkey was not accepted');
    }
    const nowIso = this.iso();
    await this.repo.touchPasskey(key.id, verified.authenticationInfo.newCounter, nowIso);
    await this.repo.updateSession(s.id, { revoked_at: nowIso });
    const fresh = await this.newSession(user, client, 'full', this.settings.absoluteHours * 3600_000);
    await this.loginSucceeded(user, client, true);
    return { cookie: fresh, response: { status: 'ok', session: (await this.session(fresh, client, false))! } };
  }
}

/** A login refused because the account is locked; `retryAfterSeconds` says until when. */
export class LockedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('locked', `the account is locked after repeated failures; try again in ${retryAfterSeconds} s or ask an administrator`);
    this.name = 'LockedError';
  }
}
