/**
 * Audit module: the append-only, hash-chained audit trail (S4; MHLW 医療情報システムの
 * 安全管理ガイドライン 第6.0版), its verifier, and its exports as DICOM audit messages
 * (PS3.15 A.5, sent by syslog over TLS, RFC 5424/5425) and FHIR R4 AuditEvents.
 *
 * Other modules append inside their own transactions:
 * `await audit.append(trx, { actor, action: 'study.view', object: { type: 'study', id }, ... })`.
 * Group commits of many changes in one transaction chain their entries with `audit.withBatch`.
 */
export { AuditBatch, AuditService, auditActorOf, toAuditRecord, type AuditServiceOptions } from './service.ts';
export { auditMigration } from './migration.ts';
export type { AuditDatabase, AuditEventTable, AuditHeadTable } from './schema.ts';
export type {
  AuditActor,
  AuditEntryInput,
  AuditOutcome,
  AuditRecord,
  AuditSearchQuery,
  AuditSearchResult,
  AuditSource,
  TamperKind,
  VerifyResult,
} from './model.ts';
export type { VerifyOptions } from './verify.ts';
export { GENESIS_HASH, HASHED_FIELDS, canonicalJson, chainHash } from './canonical.ts';
export { toFhirAuditEvent, type FhirAuditEvent } from './fhir.ts';
export { toDicomAuditMessage } from './dicom-audit.ts';
export { SyslogSender, type SyslogSenderOptions, type SyslogStats } from './syslog.ts';
export { AuditForwarder, type AuditForwarderOptions } from './forwarder.ts';
export { registerAuditRoutes } from './routes.ts';
