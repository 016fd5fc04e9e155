/**
 * Personal accounts and their role grants (A1, S4, S10). A user holds roles at
 * facilities or at the reading provider. System administrators manage everyone;
 * facility administrators manage the users of their own facilities, and can never
 * grant provider-level or system-administrator roles.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import { hasRole, type Actor, type Grant } from '../platform/context.ts';
import { ROLES, type AdminUser, type Role } from '../../shared/api.ts';
import { AccountRepository, type InTx, type UserRow } from './repository.ts';
import type { AuditService } from '../audit/index.ts';
import type { Database } from '../platform/db/schema.ts';
import { hashPassword, passwordProblem } from './passwords.ts';

/** Roles that are physicians and therefore always need a second factor. */
export const PHYSICIAN_ROLES: readonly string[] = ['radiologist', 'management-physician', 'attending-physician'];

const USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;

/** Account administration. */
export class AccountService {
  constructor(
    readonly repo: AccountRepository,
    private readonly facilityExists: (id: string) => Promise<boolean>,
    private readonly facilityName: (id: string) => Promise<string | undefined>,
    private readonly audit: AuditService<Database>,
  ) {}

  /** The audit step of a change to a user account, run inside its transaction. */
  private audited(actor: Actor, action: string, userId: string, details: Record<string, unknown> = {}): InTx {
    return async (trx) => {
      await this.audit.append(trx, { actor, action, object: { type: 'user', id: userId }, details });
    };
  }

  /** A facility's display name. */
  facilityNameOf(id: string): Promise<string | undefined> {
    return this.facilityName(id);
  }

  /** Facilities whose users the actor may administer, or 'all'. */
  private adminScope(actor: Actor): 'all' | string[] {
    if (actor.kind === 'system' || hasRole(actor, 'system-admin')) return 'all';
    if (actor.kind === 'user') return actor.grants.filter((g) => g.role === 'facility-admin' && g.facilityId).map((g) => g.facilityId!);
    return [];
  }

  private async checkGrants(actor: Actor, grants: Grant[]): Promise<Grant[]> {
    const scope = this.adminScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'only administrators may manage accounts');
    const seen = new Set<string>();
    const clean: Grant[] = [];
    for (const g of grants) {
      if (!(ROLES as readonly string[]).includes(g.role)) throw new AppError('bad_request', `unknown role "${g.role}"`);
      const facilityId = g.facilityId || null;
      if (facilityId && !(await this.facilityExists(facilityId))) throw new AppError('bad_request', 'unknown facility in a role grant');
      if (g.role === 'system-admin' && facilityId) throw new AppError('bad_request', 'system administrators belong to the reading provider, not a facility');
      if (g.role === 'facility-admin' && !facilityId) throw new AppError('bad_request', 'a facility administrator role needs a facility');
      if (scope !== 'all' && (!facilityId || !scope.includes(facilityId))) {
        throw new AppError('forbidden', 'facility administrators may grant roles only at their own facilities');
      }
      const key = `${g.role}|${facilityId ?? ''}`;
      if (!seen.has(key)) clean.push({ role: g.role, facilityId });
      seen.add(key);
    }
    return clean;
  }

  /**
   * Creates a personal account. Unless told otherwise, the user must change the initial
   * password at first login.
   * @returns the new user's id
   */
  async create(actor: Actor, input: { username: string; displayName: string; password: string; grants: Grant[]; mustChangePassword?: boolean }): Promise<string> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) throw new AppError('bad_request', 'username: 2-64 lower-case letters, digits, dot, dash or underscore');
    const displayName = input.displayName.trim();
    if (!displayName || displayName.length > 100) throw new AppError('bad_request', 'display name must be 1-100 characters');
    const grants = await this.checkGrants(actor, input.grants);
    const problem = passwordProblem(input.password, { withSecondFactor: false, username });
    if (problem) throw new AppError('bad_request', problem);
    if (await this.repo.byUsername(username)) throw new AppError('conflict', `username "${username}" is taken`);
    const now = new Date().toISOString();
    const id = randomUUID();
    await this.repo.insertUser(
      {
        id,
        username,
        display_name: displayName,
        password_hash: await hashPassword(input.password),
        password_changed_at: now,
        must_change_password: input.mustChangePassword === false ? 0 : 1,
        totp_secret: null,
        totp_pending_secret: null,
        totp_last_step: null,
        mfa_enrolled_at: null,
        failed_logins: 0,
        lockouts: 0,
        locked_until: null,
        disabled: 0,
        agreement_accepted_at: null,
        last_login_at: null,
        created_at: now,
        updated_at: now,
      },
      grants,
      this.audited(actor, 'user.create', id, { username, grants: grants.map((g) => `${g.role}@${g.facilityId ?? 'provider'}`) }),
    );
    return id;
  }

  /** Replaces a user's grants (the caller has re-authenticated the actor). */
  async setGrants(actor: Actor, userId: string, grants: Grant[]): Promise<void> {
    const user = await this.repo.byId(userId);
    if (!user) throw new AppError('not_found', 'no such user');
    await this.assertCanManage(actor, userId);
    const clean = await this.checkGrants(actor, grants);
    await this.repo.replaceGrants(userId, clean, new Date().toISOString(), this.audited(actor, 'user.role-change', userId, { grants: clean.map((g) => `${g.role}@${g.facilityId ?? 'provider'}`) }));
  }

  /** Lifts a lockout. */
  async unlock(actor: Actor, userId: string): Promise<void> {
    await this.assertCanManage(actor, userId);
    await this.repo.updateUserAudited(userId, { locked_until: null, failed_logins: 0, lockouts: 0, updated_at: new Date().toISOString() }, this.audited(actor, 'user.unlock', userId));
  }

  /**
   * Removes a user's second factors (a lost phone or security key) and ends their
   * sessions; the user enrols a new factor at the next login. The caller has
   * re-authenticated the administrator.
   */
  async resetSecondFactors(actor: Actor, userId: string): Promise<void> {
    if (!(await this.repo.byId(userId))) throw new AppError('not_found', 'no such user');
    await this.assertCanManage(actor, userId);
    await this.repo.resetSecondFactors(userId, new Date().toISOString(), this.audited(actor, 'user.mfa-reset', userId));
  }

  /** Revokes every session of a user. */
  async revokeSessions(actor: Actor, userId: string): Promise<void> {
    await this.assertCanManage(actor, userId);
    await this.repo.revokeUserSessions(userId, new Date().toISOString(), this.audited(actor, 'user.sessions-revoke', userId));
  }

  private async assertCanManage(actor: Actor, userId: string): Promise<void> {
    const scope = this.adminScope(actor);
    if (scope === 'all') return;
    const grants = (await this.repo.grants([userId])).get(userId) ?? [];
    if (scope.length === 0 || grants.length === 0 || grants.some((g) => !g.facilityId || !scope.includes(g.facilityId))) {
      throw new AppError('forbidden', 'this user is outside your facilities');
    }
  }

  /**
   * Users the actor may see: administrators see those they manage; the management
   * physician (管理医, L3) sees everyone, read-only, to oversee readers' credentials.
   */
  async list(actor: Actor): Promise<AdminUser[]> {
    const scope = hasRole(actor, 'management-physician', null) ? 'all' : this.adminScope(actor);
    if (scope !== 'all' && scope.length === 0) throw new AppError('forbidden', 'only administrators may list accounts');
    const users = await this.repo.listUsers();
    const grants = await this.repo.grants(users.map((u) => u.id));
    const now = new Date().toISOString();
    const out: AdminUser[] = [];
    for (const u of users) {
      const g = grants.get(u.id) ?? [];
      if (scope !== 'all' && !g.some((x) => x.facilityId && scope.includes(x.facilityId))) continue;
      out.push(await this.toAdminUser(u, g, now));
    }
    return out;
  }

  private async toAdminUser(u: UserRow, grants: Grant[], now: string): Promise<AdminUser> {
    return {
      id: u.id,
      username: u.username,
      displayName: u.display_name,
      grants: await Promise.all(grants.map(async (g) => ({ role: g.role as Role, facilityId: g.facilityId, facilityName: g.facilityId ? ((await this.facilityName(g.facilityId)) ?? null) : null }))),
      mfaEnrolled: Boolean(u.mfa_enrolled_at),
      locked: Boolean(u.locked_until && u.locked_until > now),
      disabled: Boolean(u.disabled),
      lastLoginAt: u.last_login_at,
      createdAt: u.created_at,
    };
  }
}

/** A random initial password that satisfies the rules (for `enkaku user add`). */
export function randomInitialPassword(): string {
  return `${randomBytes(12).toString('base64url')}-7a`;
}
