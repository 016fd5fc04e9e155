/**
 * The table of physicians' signing certificates (A4), shared by SQLite and PostgreSQL.
 * Certificates are never deleted: a replaced one is retired (`retired_at`) and stays, so
 * reports signed with it can still be shown with their signer.
 */
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

/** A physician's signing certificate with its sealed private key. */
export interface SigningCertificateTable {
  id: string;
  /** The physician (users.id). */
  user_id: string;
  /** `enkaku-ca`: issued by the installation's CA; `imported`: brought by the physician (e.g. HPKI). */
  source: string;
  /** RFC 4514 subject and issuer, for display. */
  subject: string;
  issuer: string;
  /** Serial number, upper-case hex. */
  serial: string;
  /** SHA-256 of the DER certificate, lower-case hex. */
  fingerprint: string;
  not_before: string;
  not_after: string;
  /** DER certificate, base64. */
  certificate: string;
  /** JSON array of base64 DER certificates above it, issuer first. */
  chain: string;
  /** PKCS#8 private key sealed with the data folder's SecretBox (AES-256-GCM). */
  private_key: string;
  /** `rsa` or `ec`. */
  key_type: string;
  created_at: string;
  /** Who issued or imported it (audit actor id). */
  created_by: string;
  /** Set when another certificate replaced it; the active certificate has null. */
  retired_at: string | null;
}

/** Tables of report signing, merged into the database type. */
export interface SigningDatabase {
  signing_certificates: SigningCertificateTable;
}

/**
 * Migration 016: signing certificates, at most one active per physician (a partial unique
 * index, which SQLite and PostgreSQL both have).
 */
export const signingMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('signing_certificates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('serial', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
      .addColumn('not_before', 'text', (c) => c.notNull())
      .addColumn('not_after', 'text', (c) => c.notNull())
      .addColumn('certificate', 'text', (c) => c.notNull())
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('private_key', 'text', (c) => c.notNull())
      .addColumn('key_type', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('retired_at', 'text')
      .execute();
    await db.schema.createIndex('signing_certificates_user').on('signing_certificates').columns(['user_id', 'created_at']).execute();
    await db.schema.createIndex('signing_certificates_active').on('signing_certificates').column('user_id').unique().where(sql.ref('retired_at'), 'is', null).execute();
  },
};
