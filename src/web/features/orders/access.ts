/**
 * Which order pages a user's roles open. Display only: the server decides every request
 * (src/server/orders/access.ts).
 */
import type { SessionUser } from '../../../shared/api.ts';

type Grants = Pick<SessionUser, 'grants'>;

const FACILITY_READERS = ['attending-physician', 'technologist', 'radiologist', 'management-physician', 'transcriptionist'];
const PROVIDER_READERS = ['radiologist', 'management-physician', 'transcriptionist'];
const RECONCILE_ROLES = ['facility-admin', 'technologist', 'attending-physician', 'radiologist'];
const ORDER_FORM_ROLES = ['technologist', 'attending-physician'];

/** Orders, patients and clinical data: facility readers of their facility, provider readers of all. */
export function canReadOrders(user: Grants): boolean {
  return user.grants.some((g) => (g.facilityId === null ? PROVIDER_READERS : FACILITY_READERS).includes(g.role));
}

/** The web order form: technologists and attending physicians of a facility. */
export function canUseOrderForm(user: Grants): boolean {
  return user.grants.some((g) => g.facilityId !== null && ORDER_FORM_ROLES.includes(g.role));
}

/** The facilities whose orders the user may send by the form. */
export function orderFormFacilities(user: Pick<SessionUser, 'grants'>): Array<{ id: string; name: string }> {
  return unique(user.grants.filter((g) => g.facilityId !== null && ORDER_FORM_ROLES.includes(g.role)));
}

/** The reconciliation queue: system administrators, and facility staff of their facility. */
export function canReconcile(user: Grants): boolean {
  return user.grants.some((g) => g.role === 'system-admin' || (g.facilityId !== null && RECONCILE_ROLES.includes(g.role)));
}

/** Facility contracts: system administrators, the management physician and provider radiologists read all; facility administrators their own. */
export function canReadContracts(user: Grants): boolean {
  return user.grants.some(
    (g) => g.role === 'system-admin' || (g.facilityId === null && (g.role === 'management-physician' || g.role === 'radiologist')) || (g.role === 'facility-admin' && g.facilityId !== null),
  );
}

/** Whether the user reads every facility's contract (else only the facilities of their facility-admin grants). */
export function readsAllContracts(user: Grants): boolean {
  return user.grants.some((g) => g.role === 'system-admin' || (g.facilityId === null && (g.role === 'management-physician' || g.role === 'radiologist')));
}

/** What the user may change in a facility's contract (the server enforces the same). */
export function contractRight(user: Grants, facilityId: string): 'all' | 'ladder' | 'none' {
  if (user.grants.some((g) => g.role === 'system-admin' || (g.role === 'management-physician' && g.facilityId === null))) return 'all';
  if (user.grants.some((g) => g.role === 'facility-admin' && g.facilityId === facilityId)) return 'ladder';
  return 'none';
}

/** Protocol instructions: radiologists and the management physician. */
export function canWriteProtocol(user: Grants, facilityId: string): boolean {
  return user.grants.some((g) => (g.role === 'radiologist' || g.role === 'management-physician') && (g.facilityId === null || g.facilityId === facilityId));
}

/** Master patient index stewards: system administrators and the management physician. */
export function isMpiSteward(user: Grants): boolean {
  return user.grants.some((g) => g.role === 'system-admin' || (g.role === 'management-physician' && g.facilityId === null));
}

/** Who records or withdraws a patient's opt-out at a facility. */
export function canRecordOptOut(user: Grants, facilityId: string): boolean {
  return isMpiSteward(user) || user.grants.some((g) => g.facilityId === facilityId && (g.role === 'facility-admin' || g.role === 'attending-physician'));
}

/** Facilities named in the user's grants. */
export function grantFacilities(user: Pick<SessionUser, 'grants'>, roles?: string[]): Array<{ id: string; name: string }> {
  return unique(user.grants.filter((g) => g.facilityId !== null && (!roles || roles.includes(g.role))));
}

function unique(grants: SessionUser['grants']): Array<{ id: string; name: string }> {
  const seen = new Map<string, string>();
  for (const g of grants) if (g.facilityId && !seen.has(g.facilityId)) seen.set(g.facilityId, g.facilityName ?? g.facilityId);
  return [...seen].map(([id, name]) => ({ id, name }));
}

/** `GET /api/admin/facilities` answers system administrators, the management physician and facility administrators. */
export function canListFacilities(user: Grants): boolean {
  return user.grants.some((g) => g.role === 'system-admin' || g.role === 'facility-admin' || (g.role === 'management-physician' && g.facilityId === null));
}
