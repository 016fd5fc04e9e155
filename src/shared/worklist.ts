/**
 * The reading worklist's HTTP contract (W6, L1, L2): `/api/worklist`, its claims, saved
 * views, settings and the live event stream. Times are UTC ISO 8601 strings; the web
 * application shows them in Japan time.
 */
import type { PersonName } from './api.ts';

/** Where a study stands in reading. `unread` to `preliminary` are open; `final` and `cancelled` are closed. */
export type ReadingStatus = 'unread' | 'in-progress' | 'draft' | 'preliminary' | 'final' | 'cancelled';

/** Every status, open ones first. */
export const READING_STATUSES: readonly ReadingStatus[] = ['unread', 'in-progress', 'draft', 'preliminary', 'final', 'cancelled'];

/** Statuses of studies still to be read. */
export const OPEN_STATUSES: readonly ReadingStatus[] = ['unread', 'in-progress', 'draft', 'preliminary'];

/** The order's priority (JAHIS ORC-7 / FHIR ServiceRequest.priority); `routine` without an order. */
export type ReadingPriority = 'stat' | 'urgent' | 'routine';

export const READING_PRIORITIES: readonly ReadingPriority[] = ['stat', 'urgent', 'routine'];

/** Single reading, or screening double reading with a third reader for discordant results (W9). */
export type ReadingMode = 'single' | 'double';

/** A user as the worklist shows them (the reading provider's staff, never a patient). */
export interface WorklistPerson {
  id: string;
  name: string;
}

/** One study to read. */
export interface WorklistItem {
  id: string;
  /** Study Instance UID: opens the viewer. */
  studyUid: string;
  facilityId: string;
  facilityName: string;
  /** The linked order's internal id, or null while the study has none. */
  orderId: string | null;
  accessionNumber: string;
  patient: { id: string; name: PersonName };
  priority: ReadingPriority;
  modality: string;
  bodyPart: string;
  /** The order's procedure name, else the study description. */
  description: string;
  /** When the study's first image arrived. */
  arrivedAt: string;
  /** arrivedAt + the facility contract's due minutes for the priority. */
  dueAt: string;
  status: ReadingStatus;
  assignedTo: WorklistPerson | null;
  /** The reader holding the lock, while it has not expired. */
  claimedBy: WorklistPerson | null;
  claimExpiresAt: string | null;
  readingMode: ReadingMode;
  firstReader: string | null;
  secondReader: string | null;
  arbiter: string | null;
  reportId: string | null;
  updatedAt: string;
  /** Grows with every change (optimistic concurrency; live events carry it too). */
  version: number;
}

/** What the worklist may be narrowed to (query string of `GET /api/worklist`, saved views). */
export interface WorklistFilters {
  facilityId?: string;
  /** DICOM modality, e.g. `CT`. */
  modality?: string;
  /** Exact body part (the order's, else DICOM Body Part Examined). */
  bodyPart?: string;
  priority?: ReadingPriority[];
  /** `open` (default), `closed`, `all`, or a list of statuses. */
  status?: 'open' | 'closed' | 'all' | ReadingStatus[];
  /** `mine`: assigned to or claimed by the caller; `unassigned`: neither assigned nor claimed. */
  who?: 'all' | 'mine' | 'unassigned';
  /** Open items past their due time. */
  overdue?: boolean;
  /** Accession number, or its beginning. */
  accession?: string;
  /** `due`: earliest due first (default); `-due`: latest first. */
  sort?: 'due' | '-due';
}

/** `GET /api/worklist?...&limit=&cursor=`: one page, keyset-paginated. */
export interface WorklistPage {
  items: WorklistItem[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** The server's clock, so the countdown can correct the terminal's. */
  serverTime: string;
  /** Minutes a claim lasts without activity (ENKAKU_CLAIM_MINUTES). */
  claimMinutes: number;
}

/** `POST /api/worklist/:id/assign`: a reader (or null to unassign), or `auto` for the automatic choice. */
export type WorklistAssignRequest = { userId: string | null; readingMode?: ReadingMode } | { auto: true; readingMode?: ReadingMode } | { readingMode: ReadingMode };

/** A saved view of the worklist, per user. */
export interface WorklistView {
  id: string;
  name: string;
  filters: WorklistFilters;
  createdAt: string;
}

/** `POST /api/worklist/views`: saving under an existing name replaces that view. */
export interface WorklistViewRequest {
  name: string;
  filters: WorklistFilters;
}

/** `GET /api/worklist/settings`: automatic assignment, globally and per facility (a facility's own setting wins). */
export interface WorklistSettings {
  autoAssign: boolean;
  facilities: Array<{ facilityId: string; autoAssign: boolean }>;
}

/** `PUT /api/worklist/settings`: `facilityId` null sets the global default; `autoAssign` null removes a facility's own setting. */
export interface WorklistSettingsRequest {
  facilityId: string | null;
  autoAssign: boolean | null;
}

/** Fields of an item that live events carry (never patient data). */
export type WorklistLiveFields = Pick<
  WorklistItem,
  'status' | 'priority' | 'modality' | 'bodyPart' | 'dueAt' | 'orderId' | 'assignedTo' | 'claimedBy' | 'claimExpiresAt' | 'readingMode' | 'reportId' | 'updatedAt'
>;

/**
 * One event of `GET /api/worklist/events` (Server-Sent Events, `event: worklist`).
 * `created`: a new item (fetch the list again to see it); `changed`: the listed fields of an
 * item changed; `resync`: events may have been missed, fetch the list again.
 */
export type WorklistEvent =
  | { type: 'created'; id: string; facilityId: string; version: number }
  | { type: 'changed'; id: string; facilityId: string; version: number; changes: Partial<WorklistLiveFields> }
  | { type: 'resync' };
