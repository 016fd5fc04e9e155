/**
 * Domain types of the audit trail: what callers hand to `append`, what comes back, and
 * what the verifier reports.
 */
import type { Actor } from '../platform/context.ts';

/** Outcome of the audited action (mapped to DICOM/FHIR outcome 0, 4 or 8 on export). */
export type AuditOutcome = 'success' | 'failure';

/**
 * Who acted, as stored in the trail. `id` is a stable identifier (account id, AE title,
 * token id); `name` is what an auditor reads; `role` is the role acted in.
 */
export interface AuditActor {
  kind: string;
  id: string;
  name: string;
  role: string;
  /** Network address the actor acted from, if known. */
  address?: string | undefined;
}

/** What a module records. Times, seq, id and hashes are assigned by the service. */
export interface AuditEntryInput {
  /** The acting party: a service-call {@link Actor} or an explicit {@link AuditActor}. */
  actor: Actor | AuditActor;
  /** Dotted verb, lower case: `study.view`, `instance.store`, `auth.login`, `user.role-change`. */
  action: string;
  /** The object acted on, by internal id or DICOM UID (never a name). */
  object: { type: string; id: string };
  facilityId?: string | null | undefined;
  /** Internal patient row id, when the object belongs to a patient (never a name). */
  patientRef?: string | null | undefined;
  /** Defaults to `success`. */
  outcome?: AuditOutcome | undefined;
  /** Defaults to the actor's address, else empty. */
  clientAddress?: string | undefined;
  /**
   * Identifiers, counts and reasons; never PHI (no names, patient IDs, birth dates, free
   * text from received objects) and no secrets. A string `reason` becomes the outcome
   * description of the DICOM and FHIR exports.
   */
  details?: Record<string, unknown> | undefined;
}

/** One entry of the trail as read back. */
export interface AuditRecord {
  seq: number;
  id: string;
  recordedAt: string;
  actor: { kind: string; id: string; name: string; role: string };
  action: string;
  object: { type: string; id: string };
  facilityId: string | null;
  patientRef: string | null;
  outcome: AuditOutcome;
  clientAddress: string;
  /** Parsed `details`; the stored text (what the hash covers) is in {@link detailsJson}. */
  details: Record<string, unknown>;
  detailsJson: string;
  prevHash: string;
  hash: string;
}

/** Kinds of damage the verifier names. */
export type TamperKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'truncated';

/** Result of {@link AuditService.verify}. Messages carry seq numbers only, never PHI. */
export type VerifyResult =
  | { ok: true; count: number; headHash: string }
  | { ok: false; firstBadSeq: number; problem: TamperKind; message: string };

/** Filters of the audit log screen. Times are ISO 8601; `to` is exclusive. */
export interface AuditSearchQuery {
  from?: string | undefined;
  to?: string | undefined;
  actorId?: string | undefined;
  /** Exact action, or a prefix ending in `.*` (`auth.*`). */
  action?: string | undefined;
  /** Only entries of these facilities; an empty list matches nothing. */
  facilityIds?: readonly string[] | undefined;
  outcome?: AuditOutcome | undefined;
  patientRef?: string | undefined;
  objectType?: string | undefined;
  objectId?: string | undefined;
  /** 1-1000. */
  limit: number;
  offset?: number | undefined;
}

/** A page of search results, newest first. */
export interface AuditSearchResult {
  total: number;
  records: AuditRecord[];
}

/** How Enkaku names itself in exported audit messages. */
export interface AuditSource {
  /** AuditSourceID / FHIR source.observer; default `Enkaku`. */
  observer?: string | undefined;
  /** AuditEnterpriseSiteID / FHIR source.site, e.g. the operating organisation. */
  site?: string | undefined;
  /** Enkaku's own AE title, used as the other participant of DICOM transfers. */
  aet?: string | undefined;
}
