/**
 * Table types of the audit module. Merge {@link AuditDatabase} into the application's
 * `Database` (platform/db/schema.ts) so that every transaction can append to the trail.
 */

/**
 * One entry of the append-only, hash-chained audit trail (MHLW 医療情報システムの安全管理
 * ガイドライン 第6.0版: access logs protected against deletion, tampering and insertion).
 * Never updated or deleted by Enkaku; see `canonical.ts` for what `hash` covers.
 */
export interface AuditEventTable {
  /** Position in the chain, assigned by the service under the head lock: 1, 2, 3... without gaps. */
  seq: number;
  /** Random UUID, used as the FHIR AuditEvent id. */
  id: string;
  /** ISO 8601 UTC with milliseconds (`Date.toISOString()`), taken under the head lock. */
  recorded_at: string;
  /** `user`, `system`, `device`, `token`, ... */
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  actor_role: string;
  /** Dotted verb such as `study.view`, `instance.store`, `auth.login`, `user.role-change`. */
  action: string;
  object_type: string;
  object_id: string;
  facility_id: string | null;
  /** Internal patient row id (never a name or a facility's patient ID). */
  patient_ref: string | null;
  outcome: 'success' | 'failure';
  /** Network address of the client (IP address or host name); empty when local. */
  client_address: string;
  /** JSON object text without PHI. Hashed as stored text. */
  details: string;
  /** `hash` of entry `seq - 1`; 64 zeros for the first entry. */
  prev_hash: string;
  /** Lowercase hex SHA-256, see `chainHash` in canonical.ts. */
  hash: string;
}

/**
 * The single head row (id = 1): the last appended seq and hash. Appends lock it to
 * serialise the chain; the verifier compares it with the last entry to detect a
 * truncated tail. Seq 0 with the genesis hash means "empty trail".
 */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** The audit module's tables, to merge into the application's `Database` interface. */
export interface AuditDatabase {
  audit_events: AuditEventTable;
  audit_head: AuditHeadTable;
}
