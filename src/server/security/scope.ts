/**
 * Which facilities' medical data an actor may read (S4, least privilege per facility).
 * Facility staff read their own facility's studies; the reading provider's physicians and
 * transcriptionists read the facilities the provider serves (every registered facility
 * until contracts narrow it); facility systems read with a `dicomweb:read` token for their
 * own facility. Administrators and auditors do not read medical data through these paths.
 */
import type { Actor } from '../platform/context.ts';

/** Roles that read a facility's studies when granted at that facility. */
const FACILITY_READERS = ['attending-physician', 'technologist', 'radiologist', 'management-physician', 'transcriptionist'];
/** Roles that read every served facility when granted at the reading provider. */
const PROVIDER_READERS = ['radiologist', 'management-physician', 'transcriptionist'];

/** 'all', or the facility ids the actor may read (empty: none). */
export function medicalScope(actor: Actor, tokenScope = 'dicomweb:read'): 'all' | string[] {
  switch (actor.kind) {
    case 'system':
      return 'all';
    case 'device':
      return [actor.facilityId];
    case 'token':
      return actor.scopes.includes(tokenScope) ? [actor.facilityId] : [];
    case 'user': {
      if (actor.grants.some((g) => g.facilityId === null && PROVIDER_READERS.includes(g.role))) return 'all';
      return [...new Set(actor.grants.filter((g) => g.facilityId && FACILITY_READERS.includes(g.role)).map((g) => g.facilityId!))];
    }
  }
}
