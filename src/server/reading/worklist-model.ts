/**
 * Pure pieces of the worklist: how an item is derived from its study, order and contract,
 * how a row is shown, and what a change looks like in a live event.
 */
import { OPEN_STATUSES, type ReadingPriority, type ReadingStatus, type WorklistItem, type WorklistLiveFields } from '../../shared/worklist.ts';
import type { ContractFacts, ItemWithNames, ReadingItemRow, StudyFacts } from './worklist-repository.ts';

/** Series that carry no images to read (structured reports, presentation states, key objects...). */
const NON_IMAGE = new Set(['SR', 'PR', 'KO', 'DOC', 'REG', 'SEG', 'RWV', 'AU', 'ECG', 'OT']);

/** Whether a status is still to be read. */
export function isOpen(status: string): boolean {
  return (OPEN_STATUSES as readonly string[]).includes(status);
}

/** The order's priority in Enkaku's words; anything else (or no order) is routine. */
export function priorityOf(p: string | null | undefined): ReadingPriority {
  return p === 'stat' || p === 'urgent' ? p : 'routine';
}

/** The fields of an item that follow from its study, its order and the facility contract. */
export interface DerivedFacts {
  order_id: string | null;
  priority: ReadingPriority;
  modality: string;
  body_part: string;
  description: string;
  arrived_at: string;
  due_at: string;
}

/**
 * Derives an item's facts: the modality acquired (the first image series, else the study's
 * list, else the order's), the order's body part and procedure name (else the study's),
 * the order's priority (routine without an order) and the due time: arrival plus the
 * contract's minutes for that priority.
 */
export function derive(s: StudyFacts, terms: ContractFacts): DerivedFacts {
  const seriesModality = s.series.map((x) => x.modality.trim().toUpperCase()).find((m) => m && !NON_IMAGE.has(m));
  const studyModality = s.modalities.split('\\').map((m) => m.trim().toUpperCase()).find((m) => m && !NON_IMAGE.has(m));
  const modality = seriesModality ?? studyModality ?? s.order?.modality.trim().toUpperCase() ?? s.series[0]?.modality ?? '';
  const bodyPart = s.order?.body_part.trim() || s.series.map((x) => x.body_part.trim()).find(Boolean) || '';
  const priority = priorityOf(s.order?.priority);
  const arrived = s.created_at;
  return {
    order_id: s.order?.id ?? null,
    priority,
    modality,
    body_part: bodyPart,
    description: s.order?.procedure_text.trim() || s.description,
    arrived_at: arrived,
    due_at: new Date(Date.parse(arrived) + terms.dueMinutes[priority] * 60_000).toISOString(),
  };
}

/** Whether a facility contract's scope covers an item (empty lists cover everything). */
export function inContractScope(terms: ContractFacts, item: Pick<ReadingItemRow, 'modality' | 'body_part'>): boolean {
  if (terms.modalities.length && !terms.modalities.includes(item.modality)) return false;
  if (terms.bodyParts.length && !terms.bodyParts.includes(item.body_part)) return false;
  return true;
}

/** The user holding a live claim, or null. */
export function liveHolder(r: Pick<ReadingItemRow, 'claimed_by' | 'claim_expires_at'>, now: string): string | null {
  return r.claimed_by && r.claim_expires_at && r.claim_expires_at > now ? r.claimed_by : null;
}

/** The fields live events carry (never patient data). */
export function liveFields(r: ReadingItemRow, now: string): WorklistLiveFields {
  const holder = liveHolder(r, now);
  return {
    status: r.status as ReadingStatus,
    priority: priorityOf(r.priority),
    modality: r.modality,
    bodyPart: r.body_part,
    dueAt: r.due_at,
    orderId: r.order_id,
    assignedTo: r.assigned_to ? { id: r.assigned_to, name: r.assigned_to_name ?? '' } : null,
    claimedBy: holder ? { id: holder, name: r.claimed_by_name ?? '' } : null,
    claimExpiresAt: holder ? r.claim_expires_at : null,
    readingMode: r.reading_mode === 'double' ? 'double' : 'single',
    reportId: r.report_id,
    updatedAt: r.updated_at,
  };
}

/** The live fields that differ between two versions of a row. */
export function changedFields(before: ReadingItemRow, after: ReadingItemRow, now: string): Partial<WorklistLiveFields> {
  const a = liveFields(before, now);
  const b = liveFields(after, now);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(b) as Array<keyof WorklistLiveFields>) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = b[k];
  }
  return out as Partial<WorklistLiveFields>;
}

/** A listed item as the API shows it. */
export function toItem(r: ItemWithNames, now: string): WorklistItem {
  const live = liveFields(r, now);
  return {
    id: r.id,
    studyUid: r.study_uid,
    facilityId: r.facility_id,
    facilityName: r.facility_name,
    orderId: r.order_id,
    accessionNumber: r.accession_number,
    patient: { id: r.patient_ref, name: { alphabetic: r.name_alphabetic, ideographic: r.name_ideographic, phonetic: r.name_phonetic } },
    priority: live.priority,
    modality: r.modality,
    bodyPart: r.body_part,
    description: r.description,
    arrivedAt: r.arrived_at,
    dueAt: r.due_at,
    status: live.status,
    assignedTo: live.assignedTo,
    claimedBy: live.claimedBy,
    claimExpiresAt: live.claimExpiresAt,
    readingMode: live.readingMode,
    firstReader: r.first_reader,
    secondReader: r.second_reader,
    arbiter: r.arbiter,
    reportId: r.report_id,
    updatedAt: r.updated_at,
    version: r.version,
  };
}

/**
 * Double reading (W9; §3-3): who the next claim makes a reader. The first claim makes the
 * first reader, a claim by someone else the second, and a third person the arbiter for a
 * discordant result; one person never fills two places.
 * @returns the columns to set, or an error message
 */
export function readerSlot(r: Pick<ReadingItemRow, 'reading_mode' | 'first_reader' | 'second_reader' | 'arbiter'>, userId: string): Partial<Pick<ReadingItemRow, 'first_reader' | 'second_reader' | 'arbiter'>> | string {
  if (r.reading_mode !== 'double') return r.first_reader ? {} : { first_reader: userId };
  if (!r.first_reader || r.first_reader === userId) return r.second_reader === userId || r.arbiter === userId ? 'you already read this study in another place of the double reading' : { first_reader: userId };
  if (!r.second_reader || r.second_reader === userId) return r.arbiter === userId ? 'you already read this study as arbiter' : { second_reader: userId };
  if (!r.arbiter || r.arbiter === userId) return { arbiter: userId };
  return 'both readers and the arbiter of this double reading are already set';
}
