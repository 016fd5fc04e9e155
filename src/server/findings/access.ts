/**
 * Who may do what with findings (ARCHITECTURE rule 2: the service decides, routes only
 * authenticate). Written down here so that every call asks the same question.
 *
 * - Raise: a physician (radiologist, management physician) with the study in scope.
 * - See: the reader who raised it; its recipients; the facility's clinical staff (attending
 *   physicians, technologists, and physicians granted at the facility); the reading
 *   provider's management physicians (L3). Anyone else gets 404, as if it did not exist.
 * - Acknowledge: its recipients only (attending physicians, ladder users, management physicians).
 * - Telephone log: whoever sees it.
 * - Follow-up: the facility's attending physicians and technologists, and the facility's
 *   recipients of the notice.
 * - Cancel: the reader who raised it, and the management physicians.
 * - Statistics: management physicians and system administrators.
 * - Settings: system administrators and management physicians; the facility's
 *   administrators its channels only.
 */
import { hasRole, type Actor } from '../platform/context.ts';
import { AppError } from '../platform/errors.ts';
import { LADDER_USER_ROLES } from './ladder.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** Roles that raise findings. */
export const PHYSICIAN_ROLES = ['radiologist', 'management-physician'];
/** Roles at a facility that see all of that facility's findings. */
const FACILITY_VIEW_ROLES = ['attending-physician', 'technologist', 'radiologist', 'management-physician'];
/** Roles at a facility that record the follow-up of its incidental findings. */
const FOLLOW_UP_ROLES = ['attending-physician', 'technologist'];

/** A management physician of the reading provider (sees every finding, L3). */
export function isManagement(actor: Actor): boolean {
  return hasRole(actor, 'management-physician', null);
}

/** Whether the actor may take part in findings at all (else 403 before anything is looked up). */
export function assertInvolved(actor: UserActor): void {
  if (!actor.grants.some((g) => LADDER_USER_ROLES.includes(g.role))) throw new AppError('forbidden', 'your roles do not include critical findings');
}

/** Whether the actor raises findings at all (any physician role). */
export function assertPhysician(actor: UserActor): void {
  if (!actor.grants.some((g) => PHYSICIAN_ROLES.includes(g.role))) throw new AppError('forbidden', 'only physicians raise findings');
}

/** Whether the actor may raise a finding on a study of this facility. */
export function mayRaise(actor: Actor, facilityId: string): boolean {
  return PHYSICIAN_ROLES.some((r) => hasRole(actor, r, null) || hasRole(actor, r, facilityId));
}

/** Facilities whose findings the actor sees as a whole. */
export function viewFacilities(actor: UserActor): string[] {
  return [...new Set(actor.grants.filter((g) => g.facilityId && FACILITY_VIEW_ROLES.includes(g.role)).map((g) => g.facilityId!))];
}

/** Facilities whose settings, reviews and channels the actor may see (any ladder role there). */
export function memberFacilities(actor: UserActor): string[] {
  return [...new Set(actor.grants.filter((g) => g.facilityId && LADDER_USER_ROLES.includes(g.role)).map((g) => g.facilityId!))];
}

/** Whether the actor sees this finding. */
export function mayView(actor: UserActor, f: { raised_by: string; facility_id: string }, isRecipient: boolean): boolean {
  return isManagement(actor) || f.raised_by === actor.userId || isRecipient || viewFacilities(actor).includes(f.facility_id);
}

/** Whether the actor records the follow-up of this facility's finding. */
export function mayRecordFollowUp(actor: UserActor, facilityId: string, recipientSource: string | undefined): boolean {
  return FOLLOW_UP_ROLES.some((r) => hasRole(actor, r, facilityId)) || (recipientSource !== undefined && recipientSource !== 'management');
}

/** Whether the actor sees the management statistics (L3). */
export function mayReadStats(actor: Actor): boolean {
  return actor.kind === 'system' || hasRole(actor, 'system-admin') || isManagement(actor);
}

/** What the actor may change in a facility's findings settings. */
export function settingsRight(actor: Actor, facilityId: string): 'all' | 'channels' | 'none' {
  if (actor.kind === 'system' || hasRole(actor, 'system-admin') || isManagement(actor)) return 'all';
  if (hasRole(actor, 'facility-admin', facilityId)) return 'channels';
  return 'none';
}
