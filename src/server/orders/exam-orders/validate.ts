/**
 * Checks of order messages ({@link OrderInput}) as interfaces and the web form deliver them:
 * required fields present, each a 400 that names the field (the HL7 listener turns it into
 * an ERR segment, the FHIR routes into an OperationOutcome). Read leniently (ARCHITECTURE
 * rule 5): times in HL7 or ISO form, a JJ1017 code that is not valid is kept and shown with
 * its error rather than refusing the order; the web form is strict about JJ1017.
 */
import { AppError } from '../../platform/errors.ts';
import { parseJj1017, Jj1017Error, type Jj1017Code } from '../jj1017.ts';
import type { OrderInput, OrderPriority, OrderSource, PatientInput } from '../model.ts';
import { validatePatient } from '../mpi/validate.ts';
import { readTime } from '../time.ts';

/** A checked, normalised order message. */
export interface CleanOrder {
  facilityId: string;
  patient: PatientInput;
  placerOrderNumber: string;
  fillerOrderNumber: string;
  accessionNumber: string;
  control: 'new' | 'change' | 'cancel';
  priority: OrderPriority;
  jj1017: string;
  modality: string;
  bodyPart: string;
  procedureText: string;
  reason: string;
  clinicalNotes: string;
  contrast: boolean;
  requesterName: string;
  requesterDepartment: string;
  requestedAt: string;
  scheduledAt: string | null;
  source: OrderSource;
  messageId: string;
  messageTime: string | null;
}

const CONTROLS = ['new', 'change', 'cancel'] as const;
const PRIORITIES: readonly OrderPriority[] = ['stat', 'urgent', 'routine'];
const SOURCES: readonly OrderSource[] = ['hl7', 'fhir', 'form'];
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * DICOM modality of a JJ1017 modality code (表5.2), for orders that send only the code.
 * Plain radiography maps to CR; the study's DX still matches (see reconciliation).
 */
const JJ1017_TO_DICOM: Readonly<Record<string, string>> = { 1: 'CR', 2: 'RF', 3: 'XA', 5: 'BMD', 6: 'CT', 7: 'MR', 8: 'NM', 9: 'US', F: 'MG', G: 'CR', H: 'IO' };

function str(v: unknown, name: string, max: number, required = false, multiline = false): string {
  if (v === undefined || v === null) v = '';
  if (typeof v !== 'string') throw new AppError('bad_request', `${name} must be a string`);
  const t = v.trim();
  if (required && !t) throw new AppError('bad_request', `${name} is required`);
  if (t.length > max) throw new AppError('bad_request', `${name} must be at most ${max} characters`);
  if (CONTROL_CHARS.test(t) || (!multiline && /[\r\n]/.test(t))) throw new AppError('bad_request', `${name} must not contain control characters`);
  return t;
}

function time(v: unknown, name: string, required: boolean): string | null {
  const s = str(v, name, 40, required);
  if (!s) return null;
  const t = readTime(s);
  if (!t) throw new AppError('bad_request', `${name} is not a date-time (ISO 8601 or HL7 YYYYMMDDHHMM[SS][+ZZZZ])`);
  return t;
}

/** Parses a JJ1017 code, or undefined when there is none or it is not valid. */
export function tryJj1017(code: string): { parsed?: Jj1017Code; error?: string } {
  if (!code) return {};
  try {
    return { parsed: parseJj1017(code) };
  } catch (err) {
    if (err instanceof Jj1017Error) return { error: err.message };
    throw err;
  }
}

/**
 * Checks and normalises an order message.
 * @param strictJj1017 - refuse a JJ1017 code that is not valid (the web form) instead of keeping it
 * @throws AppError bad_request naming the field at fault
 */
export function validateOrder(input: OrderInput, strictJj1017 = false): CleanOrder {
  if (!input || typeof input !== 'object') throw new AppError('bad_request', 'the order is required');
  if (!(CONTROLS as readonly string[]).includes(input.control)) throw new AppError('bad_request', `control must be one of ${CONTROLS.join(', ')}`);
  if (!PRIORITIES.includes(input.priority)) throw new AppError('bad_request', `priority must be one of ${PRIORITIES.join(', ')}`);
  if (!SOURCES.includes(input.source)) throw new AppError('bad_request', `source must be one of ${SOURCES.join(', ')}`);
  const jj1017 = str(input.jj1017, 'jj1017', 40).toUpperCase();
  const jj = tryJj1017(jj1017);
  if (jj.error && strictJj1017) throw new AppError('bad_request', `jj1017: ${jj.error}`);
  let modality = str(input.modality, 'modality', 16).toUpperCase();
  if (!modality && jj.parsed?.modality) modality = JJ1017_TO_DICOM[jj.parsed.modality.code] ?? '';
  if (!modality) throw new AppError('bad_request', 'modality is required (a DICOM modality such as CT, MR, CR, or a JJ1017 code that names one)');
  if (!/^[A-Z0-9]{1,16}$/.test(modality)) throw new AppError('bad_request', `modality "${modality}" is not a DICOM modality (CT, MR, CR, ...)`);
  if (typeof input.contrast !== 'boolean' && input.contrast !== undefined) throw new AppError('bad_request', 'contrast must be true or false');
  const requester = (input.requester ?? {}) as { name?: unknown; department?: unknown };
  return {
    facilityId: str(input.facilityId, 'facilityId', 64, true),
    patient: validatePatient(input.patient),
    placerOrderNumber: str(input.placerOrderNumber, 'placerOrderNumber', 64, true),
    fillerOrderNumber: str(input.fillerOrderNumber, 'fillerOrderNumber', 64),
    accessionNumber: str(input.accessionNumber, 'accessionNumber', 64),
    control: input.control,
    priority: input.priority,
    jj1017,
    modality,
    bodyPart: str(input.bodyPart, 'bodyPart', 64),
    procedureText: str(input.procedureText, 'procedureText', 256),
    reason: str(input.reason, 'reason', 4000, false, true),
    clinicalNotes: str(input.clinicalNotes, 'clinicalNotes', 16000, false, true),
    contrast: Boolean(input.contrast) || jj.parsed?.contrast === true,
    requesterName: str(requester.name, 'requester.name', 100),
    requesterDepartment: str(requester.department, 'requester.department', 100),
    requestedAt: time(input.requestedAt, 'requestedAt', true)!,
    scheduledAt: time(input.scheduledAt, 'scheduledAt', false),
    source: input.source,
    messageId: str(input.messageId, 'messageId', 200, true),
    messageTime: time(input.messageTime, 'messageTime', false),
  };
}
