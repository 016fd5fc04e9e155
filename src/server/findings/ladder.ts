/**
 * Who a notice goes to, in order (C1, C2): the steps of its ladder, fixed when the finding is
 * raised so that later changes of accounts or contracts do not move a running notice.
 *
 * 1. Step 0, the attending physicians: every active user holding `attending-physician` at the
 *    study's facility; when the order names a requester, the requester first (the account
 *    whose display name matches, or a phone-only entry when none does).
 * 2. The contract's contact ladder, one step per entry in contract order; its last entry is
 *    the facility's duty contact. An entry gets an Enkaku account (in-app alerts, may
 *    acknowledge) when a user of the facility has its name.
 * 3. The reading provider's management physicians (管理医), last.
 * Steps without anyone are left out, so the first step is whoever is there.
 */
import type { ContactStep } from '../../shared/api.ts';
import type { FindingRepository } from './repository.ts';

/** One person of a ladder step. */
export interface LadderEntry {
  source: 'requester' | 'attending' | 'ladder' | 'management';
  name: string;
  role: string;
  phone: string;
  userId: string | null;
}

/** Roles whose holders at a facility may stand on its contact ladder as Enkaku users. */
export const LADDER_USER_ROLES = ['attending-physician', 'technologist', 'facility-admin', 'radiologist', 'management-physician'];

/** A name compared for matching: Unicode NFKC, without white space or HL7 component separators. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').replace(/[\s^]+/g, '').toLowerCase();
}

/** Builds the ladder of a notice (see the module notes). */
export async function buildLadder(
  repo: FindingRepository,
  input: { facilityId: string; requesterName: string | undefined; contactLadder: readonly ContactStep[] },
): Promise<LadderEntry[][]> {
  const [attendings, facilityUsers, managers] = await Promise.all([
    repo.usersWithRoles(['attending-physician'], [input.facilityId]),
    repo.usersWithRoles(LADDER_USER_ROLES, [input.facilityId]),
    // '' is the reading provider; a management physician granted at the facility counts too.
    repo.usersWithRoles(['management-physician'], ['', input.facilityId]),
  ]);
  const first: LadderEntry[] = [];
  let requesterId: string | null = null;
  if (input.requesterName?.trim()) {
    const key = nameKey(input.requesterName);
    const match = attendings.find((u) => nameKey(u.display_name) === key);
    requesterId = match?.id ?? null;
    first.push({ source: 'requester', name: match?.display_name ?? input.requesterName.trim(), role: '依頼医', phone: '', userId: requesterId });
  }
  for (const u of attendings) if (u.id !== requesterId) first.push({ source: 'attending', name: u.display_name, role: '主治医', phone: '', userId: u.id });
  const byName = new Map<string, string>();
  for (const u of facilityUsers) if (!byName.has(nameKey(u.display_name))) byName.set(nameKey(u.display_name), u.id);
  const ladder = input.contactLadder.map((c): LadderEntry[] => [{ source: 'ladder', name: c.name, role: c.role, phone: c.phone, userId: byName.get(nameKey(c.name)) ?? null }]);
  const management = managers.map((u): LadderEntry => ({ source: 'management', name: u.display_name, role: '管理医', phone: '', userId: u.id }));
  return [first, ...ladder, management].filter((step) => step.length > 0);
}
