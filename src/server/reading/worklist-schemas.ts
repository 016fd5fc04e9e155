/**
 * Validation of the worklist's query strings and request bodies (contract:
 * src/shared/worklist.ts). Every refusal is a 400 that names the field.
 */
import { OPEN_STATUSES, READING_PRIORITIES, READING_STATUSES, type ReadingMode, type ReadingPriority, type ReadingStatus, type WorklistFilters } from '../../shared/worklist.ts';
import { AppError } from '../platform/errors.ts';

/** Items per page: default and most. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
/** Saved views per user. */
export const MAX_VIEWS = 50;

function bad(message: string): never {
  throw new AppError('bad_request', message);
}

function text(v: unknown, name: string, max: number): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') bad(`${name} must be text`);
  const t = v.trim();
  if (t.length > max) bad(`${name} must be at most ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(t)) bad(`${name} must not contain control characters`);
  return t || undefined;
}

function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'string' ? x.split(',') : [String(x)])).map((s) => s.trim()).filter(Boolean);
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  return [];
}

function bool(v: unknown, name: string): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 'false' || v === '0') return false;
  if (v === true || v === 'true' || v === '1') return true;
  bad(`${name} must be true or false`);
}

/** Checks worklist filters from a query string or a saved view. @throws AppError bad_request */
export function parseFilters(input: unknown): WorklistFilters {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) bad('filters must be an object');
  const q = input as Record<string, unknown>;
  const out: WorklistFilters = {};
  const facilityId = text(q.facilityId, 'facilityId', 64);
  if (facilityId) out.facilityId = facilityId;
  const modality = text(q.modality, 'modality', 16)?.toUpperCase();
  if (modality) {
    if (!/^[A-Z0-9]{1,16}$/.test(modality)) bad('modality must be a DICOM modality such as CT or MR');
    out.modality = modality;
  }
  const bodyPart = text(q.bodyPart, 'bodyPart', 64);
  if (bodyPart) out.bodyPart = bodyPart;
  const priority = list(q.priority);
  if (priority.length) {
    for (const p of priority) if (!(READING_PRIORITIES as readonly string[]).includes(p)) bad(`priority must be among ${READING_PRIORITIES.join(', ')}`);
    out.priority = [...new Set(priority)] as ReadingPriority[];
  }
  const status = list(q.status);
  if (status.length === 1 && (status[0] === 'open' || status[0] === 'closed' || status[0] === 'all')) out.status = status[0];
  else if (status.length) {
    for (const s of status) if (!(READING_STATUSES as readonly string[]).includes(s)) bad(`status must be open, closed, all or among ${READING_STATUSES.join(', ')}`);
    out.status = [...new Set(status)] as ReadingStatus[];
  }
  if (q.who !== undefined && q.who !== '') {
    if (q.who !== 'all' && q.who !== 'mine' && q.who !== 'unassigned') bad('who must be all, mine or unassigned');
    out.who = q.who;
  }
  if (bool(q.overdue, 'overdue')) out.overdue = true;
  const accession = text(q.accession, 'accession', 64);
  if (accession) out.accession = accession;
  if (q.sort !== undefined && q.sort !== '') {
    if (q.sort !== 'due' && q.sort !== '-due') bad('sort must be due or -due');
    out.sort = q.sort;
  }
  return out;
}

/** Whether every status of a list is an open one. */
export function allOpen(statuses: readonly string[]): boolean {
  return statuses.every((s) => (OPEN_STATUSES as readonly string[]).includes(s));
}

/** Page size from the query string. */
export function parseLimit(v: unknown): number {
  if (v === undefined || v === '') return DEFAULT_LIMIT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) bad(`limit must be 1-${MAX_LIMIT}`);
  return n;
}

/** An opaque keyset cursor: the last item's due time and id, and the sort it belongs to. */
export function encodeCursor(dueAt: string, id: string, sort: 'due' | '-due'): string {
  return Buffer.from(JSON.stringify([dueAt, id, sort]), 'utf8').toString('base64url');
}

/** Reads a cursor. @throws AppError bad_request when it is not one of ours or belongs to another sort */
export function decodeCursor(v: unknown, sort: 'due' | '-due'): [string, string] | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 400) bad('cursor is not valid');
  try {
    const parsed = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === 3 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' && parsed[2] === sort) return [parsed[0], parsed[1]];
  } catch {
    // falls through
  }
  bad('cursor is not valid (or belongs to another sort order)');
}

/** `POST /api/worklist/:id/assign`. */
export type AssignInput = { kind: 'user'; userId: string | null; readingMode?: ReadingMode } | { kind: 'auto'; readingMode?: ReadingMode } | { kind: 'mode'; readingMode: ReadingMode };

/** Validates an assignment. @throws AppError bad_request */
export function parseAssign(input: unknown): AssignInput {
  if (!input || typeof input !== 'object' || Array.isArray(input)) bad('a JSON object is required');
  const b = input as Record<string, unknown>;
  let readingMode: ReadingMode | undefined;
  if (b.readingMode !== undefined) {
    if (b.readingMode !== 'single' && b.readingMode !== 'double') bad('readingMode must be single or double');
    readingMode = b.readingMode;
  }
  const mode = readingMode ? { readingMode } : {};
  if (b.auto === true) {
    if ('userId' in b) bad('send either userId or auto, not both');
    return { kind: 'auto', ...mode };
  }
  if ('userId' in b) {
    if (b.userId !== null && (typeof b.userId !== 'string' || !b.userId.trim() || b.userId.length > 64)) bad('userId must be a user id or null');
    return { kind: 'user', userId: b.userId === null ? null : (b.userId as string).trim(), ...mode };
  }
  if (readingMode) return { kind: 'mode', readingMode };
  bad('send userId (a reader, or null to unassign), auto: true, or readingMode');
}

/** `POST /api/worklist/views`. @throws AppError bad_request */
export function parseView(input: unknown): { name: string; filters: WorklistFilters } {
  if (!input || typeof input !== 'object' || Array.isArray(input)) bad('a JSON object is required');
  const b = input as Record<string, unknown>;
  const name = text(b.name, 'name', 80);
  if (!name) bad('name is required');
  return { name, filters: parseFilters(b.filters ?? {}) };
}

/** `PUT /api/worklist/settings`. @throws AppError bad_request */
export function parseSettings(input: unknown): { facilityId: string | null; autoAssign: boolean | null } {
  if (!input || typeof input !== 'object' || Array.isArray(input)) bad('a JSON object is required');
  const b = input as Record<string, unknown>;
  if (b.facilityId !== null && (typeof b.facilityId !== 'string' || !b.facilityId.trim() || b.facilityId.length > 64)) bad('facilityId must be a facility id, or null for the global setting');
  if (b.autoAssign !== null && typeof b.autoAssign !== 'boolean') bad('autoAssign must be true, false, or null (a facility follows the global setting)');
  if (b.facilityId === null && b.autoAssign === null) bad('the global setting is true or false');
  return { facilityId: b.facilityId === null ? null : (b.facilityId as string).trim(), autoAssign: b.autoAssign as boolean | null };
}
