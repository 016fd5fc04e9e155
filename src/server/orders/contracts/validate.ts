/**
 * Validation of facility contract terms (L5, A5): every field required, each refusal a
 * 400 that names the field and says what is expected.
 */
import type { ContactStep, DeliveryRoute, FacilityContractTerms } from '../../../shared/api.ts';
import { AppError } from '../../platform/errors.ts';

/**
 * Terms in force while a facility has no contract on record: every modality and body part,
 * due times of 1 hour (stat), 4 hours (urgent) and 2 days (routine), the reading copy kept
 * 5 years, manual delivery confirmed by the requesting physician, no onward sharing (S1: a
 * record leaves its facility only where a contract says so). The daily monitor check warns;
 * it blocks reading only where the contract requires it (§5-1 (3), issue terms).
 */
export const DEFAULT_TERMS: Readonly<FacilityContractTerms> = Object.freeze<FacilityContractTerms>({
  scope: { modalities: [], bodyParts: [] },
  dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
  retentionDays: 1825,
  contactLadder: [],
  delivery: { route: 'manual', transcriptionConfirmer: '依頼医' },
  onwardSharing: false,
  monitorCheckRequired: false,
  doubleReading: false,
  optOutNotice: '',
});

const FIELDS = ['scope', 'dueMinutes', 'retentionDays', 'contactLadder', 'delivery', 'onwardSharing', 'monitorCheckRequired', 'doubleReading', 'optOutNotice'] as const;
/** Terms added later: absent in a request means their default. */
const OPTIONAL: readonly string[] = ['doubleReading'];
const ROUTES: readonly DeliveryRoute[] = ['hl7', 'fhir', 'manual'];
/** A year: the longest due time that still means something. */
const MAX_DUE_MINUTES = 525_600;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function bad(message: string): never {
  throw new AppError('bad_request', message);
}

function object(v: unknown, name: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function text(v: unknown, name: string, min: number, max: number, multiline = false): string {
  if (typeof v !== 'string') bad(`${name} must be a string`);
  const t = v.trim();
  if (t.length < min) bad(min === 1 ? `${name} is required` : `${name} must be at least ${min} characters`);
  if (t.length > max) bad(`${name} must be at most ${max} characters`);
  if (CONTROL.test(t) || (!multiline && /[\r\n]/.test(t))) bad(`${name} must not contain control characters${multiline ? '' : ' or line breaks'}`);
  return t;
}

function whole(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${name} must be a whole number from ${min} to ${max}`);
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') bad(`${name} must be true or false`);
  return v;
}

function list(v: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(v)) bad(`${name} must be a list`);
  if (v.length > max) bad(`${name} may hold at most ${max} entries`);
  return v;
}

/**
 * Checks and normalises contract terms from a request body.
 * @throws AppError bad_request naming the first field at fault
 */
export function validateTerms(body: unknown): FacilityContractTerms {
  const b = object(body, 'the contract');
  const unknown = Object.keys(b).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) bad(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the contract has ${FIELDS.join(', ')}`);
  for (const f of FIELDS) if (!(f in b) && !OPTIONAL.includes(f)) bad(`${f} is required`);

  const scope = object(b.scope, 'scope');
  const modalities = [...new Set(list(scope.modalities, 'scope.modalities', 64).map((m, i) => text(m, `scope.modalities[${i}]`, 1, 16).toUpperCase()))];
  for (const m of modalities) if (!/^[A-Z0-9]{1,16}$/.test(m)) bad(`scope.modalities: "${m}" is not a DICOM modality (CT, MR, CR, ...)`);
  const bodyParts = [...new Set(list(scope.bodyParts, 'scope.bodyParts', 200).map((p, i) => text(p, `scope.bodyParts[${i}]`, 1, 64)))];

  const due = object(b.dueMinutes, 'dueMinutes');
  const stat = whole(due.stat, 'dueMinutes.stat', 1, MAX_DUE_MINUTES);
  const urgent = whole(due.urgent, 'dueMinutes.urgent', 1, MAX_DUE_MINUTES);
  const routine = whole(due.routine, 'dueMinutes.routine', 1, MAX_DUE_MINUTES);
  if (!(stat <= urgent && urgent <= routine)) bad(`dueMinutes must not shorten with lower priority: stat (${stat}) ≤ urgent (${urgent}) ≤ routine (${routine})`);

  const retentionDays = whole(b.retentionDays, 'retentionDays', 1, 36_500);

  const ladder = list(b.contactLadder, 'contactLadder', 20);
  if (ladder.length === 0) bad('contactLadder needs at least one contact: critical findings must reach someone');
  const contactLadder: ContactStep[] = ladder.map((step, i) => {
    const s = object(step, `contactLadder[${i}]`);
    const phone = text(s.phone, `contactLadder[${i}].phone`, 1, 40);
    if (!/^[0-9０-９+\-‐－()（） ]+(?:(?:内線|ext\.?|#)\s*[0-9０-９]+)?$/i.test(phone) || (phone.match(/[0-9０-９]/g) ?? []).length < 3) {
      bad(`contactLadder[${i}].phone "${phone}" is not a telephone number (digits, + - ( ) and spaces, optionally 内線 / ext. and an extension)`);
    }
    return {
      name: text(s.name, `contactLadder[${i}].name`, 1, 100),
      role: text(s.role, `contactLadder[${i}].role`, 1, 100),
      phone,
      hours: text(s.hours, `contactLadder[${i}].hours`, 1, 100),
    };
  });

  const delivery = object(b.delivery, 'delivery');
  if (typeof delivery.route !== 'string' || !ROUTES.includes(delivery.route as DeliveryRoute)) bad(`delivery.route must be one of ${ROUTES.join(', ')}`);
  const route = delivery.route as DeliveryRoute;
  let transcriptionConfirmer = '';
  if (route === 'manual') {
    transcriptionConfirmer = text(delivery.transcriptionConfirmer ?? '', 'delivery.transcriptionConfirmer (who confirms the manual transcription into the EMR, A5)', 1, 100);
  } else if (delivery.transcriptionConfirmer !== undefined && delivery.transcriptionConfirmer !== '') {
    bad('delivery.transcriptionConfirmer applies to manual delivery only; leave it empty for hl7 or fhir');
  }

  return {
    scope: { modalities, bodyParts },
    dueMinutes: { stat, urgent, routine },
    retentionDays,
    contactLadder,
    delivery: { route, transcriptionConfirmer },
    onwardSharing: bool(b.onwardSharing, 'onwardSharing'),
    monitorCheckRequired: bool(b.monitorCheckRequired, 'monitorCheckRequired'),
    // Optional for clients written before double reading existed: absent means single reading.
    doubleReading: b.doubleReading === undefined ? false : bool(b.doubleReading, 'doubleReading'),
    optOutNotice: text(b.optOutNotice, 'optOutNotice (the notice about external storage given to patients, S1)', 1, 8000, true),
  };
}

/** The fields whose values differ between two sets of terms (for the audit trail). */
export function changedFields(before: FacilityContractTerms, after: FacilityContractTerms): string[] {
  return FIELDS.filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]));
}
