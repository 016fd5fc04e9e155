/**
 * Who the worklist page is for. Display only: the server decides every request
 * (src/server/reading/worklist-service.ts).
 */
import type { SessionUser } from '../../../shared/api.ts';

type Grants = Pick<SessionUser, 'grants'>;

/** The provider's reading staff, who work the worklist (the navigation shows it to them). */
const WORKLIST_ROLES = ['radiologist', 'management-physician', 'transcriptionist'];
/** Facility staff see their own facility's worklist (reading status of their studies). */
const FACILITY_READERS = ['attending-physician', 'technologist', 'radiologist', 'management-physician', 'transcriptionist'];
/** Roles that claim studies (a licence and certification are checked by the server). */
const READING_ROLES = ['radiologist', 'management-physician'];

/** The worklist in the navigation: radiologists, management physicians and transcriptionists. */
export function worksWorklist(user: Grants): boolean {
  return user.grants.some((g) => WORKLIST_ROLES.includes(g.role));
}

/** The worklist page: everyone who reads some facility's studies. */
export function canOpenWorklist(user: Grants): boolean {
  return user.grants.some((g) => FACILITY_READERS.includes(g.role));
}

/** Claim and release buttons: physicians with a reading role. */
export function canClaim(user: Grants): boolean {
  return user.grants.some((g) => READING_ROLES.includes(g.role));
}

/** Force-release of another reader's claim: the management physician. */
export function canForceRelease(user: Grants, facilityId: string): boolean {
  return user.grants.some((g) => g.role === 'management-physician' && (g.facilityId === null || g.facilityId === facilityId));
}
