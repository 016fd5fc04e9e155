/**
 * SQL for users, their grants, sessions and setup tokens (the only place that touches
 * these tables).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CertificationTable, Database, LicenceTable, PasskeyTable, SessionTable, TrainingTable, UserTable } from '../platform/db/schema.ts';
import type { Grant } from '../platform/context.ts';

export type UserRow = Selectable<UserTable>;
export type SessionRow = Selectable<SessionTable>;
export type LicenceRow = Selectable<LicenceTable>;
export type CertificationRow = Selectable<CertificationTable>;
export type TrainingRow = Selectable<TrainingTable>;
export type PasskeyRow = Selectable<PasskeyTable>;

/** Appends the audit entry of a change inside its transaction (ARCHITECTURE rule 3). */
export type InTx = (trx: Transaction<Database>) => Promise<void>;

/** Users, grants, sessions. */
export class AccountRepository {
  constructor(readonly db: Kysely<Database>) {}

  async countUsers(): Promise<number> {
    const r = await this.db.selectFrom('users').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  byUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  byId(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listUsers(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('username').execute();
  }

  async grants(userIds: string[]): Promise<Map<string, Grant[]>> {
    const out = new Map<string, Grant[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return out;
    const rows = await this.db.selectFrom('user_grants').selectAll().where('user_id', 'in', userIds).orderBy('role').execute();
    for (const r of rows) out.get(r.user_id)?.push({ role: r.role, facilityId: r.facility_id || null });
    return out;
  }

  async insertUser(user: UserRow, grants: Grant[], audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(user).execute();
      for (const g of grants) {
        await trx.insertInto('user_grants').values({ user_id: user.id, role: g.role, facility_id: g.facilityId ?? '', created_at: user.created_at }).execute();
      }
      await audit(trx);
    });
  }

  async replaceGrants(userId: string, grants: Grant[], now: string, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_grants').where('user_id', '=', userId).execute();
      for (const g of grants) {
        await trx.insertInto('user_grants').values({ user_id: userId, role: g.role, facility_id: g.facilityId ?? '', created_at: now }).execute();
      }
      await trx.updateTable('users').set({ updated_at: now }).where('id', '=', userId).execute();
      await audit(trx);
    });
  }

  /** Updates a user and appends the audit entry in one transaction. */
  async updateUserAudited(id: string, values: Partial<UserRow>, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
      await audit(trx);
    });
  }

  async updateUser(id: string, values: Partial<UserRow>): Promise<void> {
    await this.db.updateTable('users').set(values).where('id', '=', id).execute();
  }

  async insertSession(s: SessionRow): Promise<void> {
    await this.db.insertInto('sessions').values(s).execute();
  }

  session(id: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async updateSession(id: string, values: Partial<SessionRow>): Promise<void> {
    await this.db.updateTable('sessions').set(values).where('id', '=', id).execute();
  }

  /** The reading terminal a session is bound to (Q2), or null. */
  async sessionTerminal(sessionId: string): Promise<string | null> {
    const row = await this.db.selectFrom('sessions').select('terminal_id').where('id', '=', sessionId).executeTakeFirst();
    return row?.terminal_id ?? null;
  }

  /** Binds a session to a reading terminal, or unbinds it (null), inside the caller's transaction when given one. */
  async bindSessionTerminal(sessionId: string, terminalId: string | null, ex: Kysely<Database> | Transaction<Database> = this.db): Promise<void> {
    await ex.updateTable('sessions').set({ terminal_id: terminalId }).where('id', '=', sessionId).execute();
  }

  async revokeUserSessions(userId: string, now: string, audit?: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
      await audit?.(trx);
    });
  }

  async insertSetupToken(sha: string, now: string, expires: string): Promise<void> {
    await this.db.insertInto('setup_tokens').values({ token_sha256: sha, created_at: now, expires_at: expires, used_at: null }).execute();
  }

  /** Marks a setup token used; true when it was valid and unused. */
  async consumeSetupToken(sha: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('setup_tokens')
      .set({ used_at: now })
      .where('token_sha256', '=', sha)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  licences(userId: string): Promise<LicenceRow[]> {
    return this.db.selectFrom('licences').selectAll().where('user_id', '=', userId).orderBy('verified_at').execute();
  }

  certifications(userId: string): Promise<CertificationRow[]> {
    return this.db.selectFrom('certifications').selectAll().where('user_id', '=', userId).orderBy('expires_on').execute();
  }

  trainings(userId: string): Promise<TrainingRow[]> {
    return this.db.selectFrom('trainings').selectAll().where('user_id', '=', userId).orderBy('due_on').execute();
  }

  async insertLicence(row: LicenceRow, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('licences').values(row).execute();
      await audit(trx);
    });
  }

  async revokeLicence(id: string, now: string, audit: InTx): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('licences').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await audit(trx);
      return true;
    });
  }

  async insertCertification(row: CertificationRow, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('certifications').values(row).execute();
      await audit(trx);
    });
  }

  async insertTraining(row: TrainingRow, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('trainings').values(row).execute();
      await audit(trx);
    });
  }

  passkeys(userId: string): Promise<PasskeyRow[]> {
    return this.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  }

  passkey(id: string): Promise<PasskeyRow | undefined> {
    return this.db.selectFrom('passkeys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertPasskey(row: PasskeyRow, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('passkeys').values(row).execute();
      await audit(trx);
    });
  }

  async deletePasskey(userId: string, id: string, audit: InTx): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('passkeys').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      if (Number(r.numDeletedRows) !== 1) return false;
      await audit(trx);
      return true;
    });
  }

  /** Removes every second factor of a user and ends their sessions, in one transaction. */
  async resetSecondFactors(userId: string, now: string, audit: InTx): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ totp_secret: null, totp_pending_secret: null, totp_last_step: null, mfa_enrolled_at: null, updated_at: now }).where('id', '=', userId).execute();
      await trx.deleteFrom('passkeys').where('user_id', '=', userId).execute();
      await trx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
      await audit(trx);
    });
  }

  async touchPasskey(id: string, counter: number, now: string): Promise<void> {
    await this.db.updateTable('passkeys').set({ counter, last_used_at: now }).where('id', '=', id).execute();
  }
}
