/**
 * The retrieve side of Query/Retrieve (PS3.4 C.4.2 C-MOVE, C.4.3 C-GET): which stored
 * instances a retrieve identifier selects, and the C-STORE sub-operations that send them,
 * one at a time, over an association (the requester's own for C-GET, one opened to the
 * move destination for C-MOVE).
 *
 * Each instance is read through the verified reader (its SHA-256 checked; a mismatch
 * raises an integrity alert and the sub-operation fails without sending anything). It is
 * sent in its stored transfer syntax when the peer accepted that syntax for its SOP
 * class, as the stored bytes without re-parsing; a native (uncompressed) instance is
 * re-encoded to another native syntax the peer accepted; otherwise the sub-operation
 * fails. Pixel data are never transcoded.
 */
import dimse from 'dcmjs-dimse';
import type { Logger } from '../../platform/log.ts';
import type { QueryRepository } from '../repository.ts';
import type { VerifiedReader } from '../read.ts';
import { BufferSource, readFileMeta } from '../dicom/parse.ts';
import { TS } from '../dicom/uids.ts';
import type { QrModel } from './sopclasses.ts';
import type { Identifier } from './identifier.ts';
import { EncodedDataset } from './internals.ts';
import { NATIVE, convertNative } from './native.ts';
import { MAX_RETRIEVE_INSTANCES, QR_STATUS, QrFailure, TAG, conditionFor, levelOf, type Level } from './qr.ts';

const { CStoreRequest } = dimse.requests;

type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type StoreRequest = InstanceType<typeof CStoreRequest>;
/** A stored instance as the index lists it. */
export type InstanceRow = Awaited<ReturnType<QueryRepository['instances']>>[number];

/** What a retrieve identifier selected. */
export interface RetrieveTarget {
  level: Level;
  rows: InstanceRow[];
  /** The audited object: the patient (internal id), study, series or instance. */
  object: { type: 'patient' | 'study' | 'series' | 'instance'; id: string };
  patientRef: string | null;
}

/**
 * Resolves a C-GET or C-MOVE identifier to the stored instances of the calling facility.
 * The unique key of the requested level is required (a list of UIDs is allowed, PS3.4
 * C.4.2.2.1); unique keys of higher levels, when present, narrow the selection.
 * @throws QrFailure A900 (level or unique key missing), C000 (invalid UID), A702 (too many instances)
 */
export async function resolveRetrieve(queries: QueryRepository, facilityId: string, model: QrModel, id: Identifier): Promise<RetrieveTarget> {
  const level = levelOf(id, model);
  const scope = [facilityId];
  const uid = (tag: number, keyword: string) => conditionFor('uid', keyword, id.text(tag));
  const require = (tag: number, keyword: string) => {
    const c = uid(tag, keyword);
    if (!c) throw new QrFailure(QR_STATUS.identifierMismatch, `${keyword} is required at the ${level} level`);
    return c;
  };
  let studyUid = uid(TAG.StudyInstanceUID, 'StudyInstanceUID');
  const seriesUid = level === 'SERIES' ? require(TAG.SeriesInstanceUID, 'SeriesInstanceUID') : uid(TAG.SeriesInstanceUID, 'SeriesInstanceUID');
  const sopInstanceUid = level === 'IMAGE' ? require(TAG.SOPInstanceUID, 'SOPInstanceUID') : undefined;
  if (level === 'STUDY') studyUid = require(TAG.StudyInstanceUID, 'StudyInstanceUID');
  let patientRef: string | null = null;
  const patientId = id.text(TAG.PatientID);
  if (level === 'PATIENT' || (model === 'patient' && patientId)) {
    if (!patientId) throw new QrFailure(QR_STATUS.identifierMismatch, 'PatientID is required at the PATIENT level');
    if (/[*?\\]/.test(patientId)) throw new QrFailure(QR_STATUS.unableToProcess, 'PatientID must be a single value');
    const studies = await queries.studies({ scope, patientId: { kind: 'equals', value: patientId }, studyUid, limit: MAX_RETRIEVE_INSTANCES, offset: 0 });
    patientRef = studies[0]?.patient_ref ?? null;
    studyUid = { kind: 'in', values: studies.map((s) => s.study_uid) };
    if (studies.length === 0) return { level, rows: [], object: { type: level === 'PATIENT' ? 'patient' : 'study', id: 'none' }, patientRef };
  }
  const rows = await queries.instances({ scope, studyUid, seriesUid, sopInstanceUid, limit: MAX_RETRIEVE_INSTANCES + 1, offset: 0 });
  if (rows.length > MAX_RETRIEVE_INSTANCES) {
    throw new QrFailure(QR_STATUS.outOfResourcesSubOperations, `more than ${MAX_RETRIEVE_INSTANCES} instances selected; retrieve in smaller parts`);
  }
  const first = rows[0];
  const object: RetrieveTarget['object'] =
    level === 'PATIENT'
      ? { type: 'patient', id: patientRef ?? 'none' }
      : level === 'STUDY'
        ? { type: 'study', id: first?.study_uid ?? id.text(TAG.StudyInstanceUID).split('\\')[0]! }
        : level === 'SERIES'
          ? { type: 'series', id: first?.series_uid ?? id.text(TAG.SeriesInstanceUID).split('\\')[0]! }
          : { type: 'instance', id: first?.sop_instance_uid ?? id.text(TAG.SOPInstanceUID).split('\\')[0]! };
  return { level, rows, object, patientRef };
}

/** A presentation context on which C-STORE may be sent, with its SOP class and accepted transfer syntax. */
export interface StoreContext {
  context: PresentationContext;
  sopClassUid: string;
  transferSyntaxUid: string;
}

/** Native syntaxes to re-encode to, in order of preference. */
const NATIVE_TARGETS = [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian];

type Prepared = { ok: true; context: PresentationContext; dataset: EncodedDataset; bytes: number } | { ok: false; reason: string };

/**
 * Reads an instance (integrity checked) and encodes it for one of the peer's contexts:
 * the stored bytes when the stored transfer syntax was accepted, a native re-encoding
 * when only another native syntax was.
 */
async function prepare(row: InstanceRow, files: VerifiedReader, contexts: readonly StoreContext[]): Promise<Prepared> {
  try {
    return await encodeFor(row, files, contexts);
  } catch {
    return { ok: false, reason: 'the stored file could not be prepared for sending' };
  }
}

async function encodeFor(row: InstanceRow, files: VerifiedReader, contexts: readonly StoreContext[]): Promise<Prepared> {
  const forClass = contexts.filter((c) => c.sopClassUid === row.sop_class_uid);
  if (forClass.length === 0) return { ok: false, reason: 'SOP class not accepted by the peer' };
  let file: Buffer;
  try {
    file = await files.read(row);
  } catch {
    return { ok: false, reason: 'stored file failed its integrity check or could not be read' };
  }
  const meta = readFileMeta(new BufferSource(file));
  const stored = meta.transferSyntaxUid;
  const data = file.subarray(meta.datasetOffset);
  const same = forClass.find((c) => c.transferSyntaxUid === stored);
  if (same) return { ok: true, context: same.context, dataset: new EncodedDataset(data, stored), bytes: data.length };
  if (NATIVE.has(stored)) {
    const target = NATIVE_TARGETS.map((ts) => forClass.find((c) => c.transferSyntaxUid === ts)).find((c) => c !== undefined);
    if (target) {
      try {
        const converted = convertNative(data, stored, target.transferSyntaxUid);
        return { ok: true, context: target.context, dataset: new EncodedDataset(converted, target.transferSyntaxUid), bytes: converted.length };
      } catch {
        return { ok: false, reason: 'the data set could not be re-encoded' };
      }
    }
  }
  return { ok: false, reason: `stored transfer syntax ${stored} not accepted by the peer` };
}

/** Counts of sub-operations (PS3.4 C.4.2.1.3.1). */
export interface SubOperationCounts {
  remaining: number;
  completed: number;
  failed: number;
  warning: number;
}

/** The outcome of the sub-operations of one retrieve. */
export interface SubOperationResult extends SubOperationCounts {
  failedUids: string[];
  bytes: number;
  cancelled: boolean;
  /** The association carrying the sub-operations closed before the end. */
  interrupted: boolean;
}

/** How the sub-operations are sent and reported. */
export interface SubOperationOptions {
  rows: readonly InstanceRow[];
  files: VerifiedReader;
  contexts: readonly StoreContext[];
  /** Sends one C-STORE request on a context; resolves with the status of its response. */
  send(context: PresentationContext, request: StoreRequest): Promise<number | undefined>;
  priority: number;
  /** For C-MOVE: the mover's AE title and message ID, carried in each C-STORE (PS3.7 §9.3.1.1). */
  moveOriginator?: { aet: string; messageId: number };
  cancelled(): boolean;
  progress(counts: SubOperationCounts): void;
  log: Logger;
}

/** C-STORE warning statuses (PS3.4 B.2.3): coercion, elements discarded, SOP class mismatch. */
const isWarning = (s: number): boolean => s === 0x0001 || (s & 0xf000) === 0xb000;

/**
 * Sends the instances as C-STORE sub-operations, one at a time, reading the next file
 * while the current one is on the wire. Stops at a C-CANCEL or when the association ends.
 */
export async function runSubOperations(o: SubOperationOptions): Promise<SubOperationResult> {
  const r: SubOperationResult = { remaining: o.rows.length, completed: 0, failed: 0, warning: 0, failedUids: [], bytes: 0, cancelled: false, interrupted: false };
  let next = o.rows.length ? prepare(o.rows[0]!, o.files, o.contexts) : undefined;
  for (let i = 0; i < o.rows.length; i++) {
    if (o.cancelled()) {
      r.cancelled = true;
      break;
    }
    const row = o.rows[i]!;
    const prepared = await next!;
    next = i + 1 < o.rows.length ? prepare(o.rows[i + 1]!, o.files, o.contexts) : undefined;
    r.remaining--;
    if (!prepared.ok) {
      r.failed++;
      r.failedUids.push(row.sop_instance_uid);
      o.log.warn({ event: 'dimse.suboperation-failed', sopInstanceUid: row.sop_instance_uid, reason: prepared.reason }, 'C-STORE sub-operation not performed');
      o.progress(r);
      continue;
    }
    const request = new CStoreRequest(prepared.dataset, o.priority);
    request.setAffectedSopClassUid(row.sop_class_uid);
    request.setAffectedSopInstanceUid(row.sop_instance_uid);
    if (o.moveOriginator) {
      const cmd = request.getCommandDataset();
      cmd.setElement('MoveOriginatorApplicationEntityTitle', o.moveOriginator.aet);
      cmd.setElement('MoveOriginatorMessageID', o.moveOriginator.messageId as unknown as string);
    }
    let status: number | undefined;
    try {
      status = await o.send(prepared.context, request);
    } catch {
      r.interrupted = true;
      r.failed += 1 + r.remaining;
      r.failedUids.push(...o.rows.slice(i).map((x) => x.sop_instance_uid));
      r.remaining = 0;
      break;
    }
    if (status === 0x0000) {
      r.completed++;
      r.bytes += prepared.bytes;
    } else if (status !== undefined && isWarning(status)) {
      r.warning++;
      r.bytes += prepared.bytes;
    } else {
      r.failed++;
      r.failedUids.push(row.sop_instance_uid);
      o.log.warn({ event: 'dimse.suboperation-failed', sopInstanceUid: row.sop_instance_uid, status }, 'C-STORE sub-operation refused by the peer');
    }
    o.progress(r);
  }
  // A prefetch left over by a cancel is awaited so that no read outlives the operation.
  await next;
  return r;
}

/**
 * The final status of a retrieve (PS3.4 C.4.2.1.5, C.4.3.1.4): success when every
 * sub-operation completed, B000 when some failed or had warnings, A702 when all failed,
 * FE00 after a cancel.
 */
export function finalStatus(r: SubOperationResult): number {
  if (r.cancelled) return QR_STATUS.cancel;
  if (r.failed === 0 && r.warning === 0) return QR_STATUS.success;
  if (r.completed === 0 && r.warning === 0) return QR_STATUS.outOfResourcesSubOperations;
  return QR_STATUS.subOperationsWarning;
}
