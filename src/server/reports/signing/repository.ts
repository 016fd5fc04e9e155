/**
 * SQL of the signing module: the `signing_certificates` table (ARCHITECTURE rule 1: the only
 * place with SQL for it).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../../platform/db/schema.ts';
import type { SigningCertificateTable } from './schema.ts';

/** A stored signing certificate. */
export type SigningCertificateRow = Selectable<SigningCertificateTable>;

/** Reads and writes signing certificates. */
export class SigningRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The physician's active (not retired) certificate. */
  async active(userId: string, trx: Kysely<Database> | Transaction<Database> = this.db): Promise<SigningCertificateRow | undefined> {
    return trx.selectFrom('signing_certificates').selectAll().where('user_id', '=', userId).where('retired_at', 'is', null).executeTakeFirst();
  }

  /** Every certificate of a physician, newest first. */
  async history(userId: string): Promise<SigningCertificateRow[]> {
    return this.db.selectFrom('signing_certificates').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute();
  }

  /** The chains of imported certificates (their roots are trust anchors for verification). */
  async importedChains(): Promise<string[]> {
    const rows = await this.db.selectFrom('signing_certificates').select('chain').where('source', '=', 'imported').execute();
    return rows.map((r) => r.chain);
  }

  /** Whether a user exists. */
  async userExists(userId: string): Promise<boolean> {
    return !!(await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst());
  }

  /** Retires the physician's active certificate (if any) and stores the new one, in the given transaction. */
  async replaceActive(trx: Transaction<Database>, row: SigningCertificateRow, retiredAt: string): Promise<void> {
    await trx.updateTable('signing_certificates').set({ retired_at: retiredAt }).where('user_id', '=', row.user_id).where('retired_at', 'is', null).execute();
    await trx.insertInto('signing_certificates').values(row).execute();
  }

  /** Runs work in a transaction. */
  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }
}
