/**
 * FHIR R4 ServiceRequest (JP Core JP_ServiceRequest_Common, jpfhir.jp JP Core v1.x) to the
 * orders module's OrderInput, and an order back to a ServiceRequest. Pure functions.
 *
 * JP Core has no radiology-specific ServiceRequest profile; the common profile constrains
 * references (subject JP_Patient, requester JP_Practitioner ...) and leaves identifiers and
 * codes to the implementer. What Enkaku reads (docs/fhir.md lists it all):
 * - the patient: `subject` referring to a `contained` JP_Patient (`#id`) or to a Patient entry of
 *   the same transaction Bundle (`urn:uuid:`), or a logical reference by `subject.identifier`;
 *   JP_Patient.identifier.system is `urn:oid:1.2.392.100495.20.3.51.` + 1 + the 10-digit
 *   医療機関コード (JP Core JP_Patient, identifier.system); names are JP_HumanName with the
 *   `iso21090-EN-representation` extension: IDE 漢字, SYL カナ, ABC alphabetic;
 * - identifiers by `identifier.type` (HL7 v2 table 0203, FHIR R4 §ServiceRequest notes "placer
 *   and filler"): PLAC placer order number, FILL filler order number, ACSN accession number; an
 *   untyped identifier in JP Core's `resourceInstance-identifier` system is the placer number;
 * - `code`: a coding in a JJ1017 code system (32-character, or 16M/16S) and `code.text`;
 * - `priority` routine | urgent | asap | stat; `status` active (new / change) or revoked
 *   (cancel); `intent` order;
 * - `reasonCode` / `reasonReference.display` (the clinical question), `note` and `supportingInfo`
 *   (contained Observation / Condition, or display) as clinical notes;
 * - `requester` (contained JP_Practitioner or display) and the JP Core department extension
 *   `JP_Common_Department`; `authoredOn` requested, `occurrenceDateTime` / `occurrencePeriod.start`
 *   scheduled; `bodySite` when no JJ1017 code names the body part.
 */
import type {
  Bundle, CodeableConcept, Condition, Extension, HumanName, Identifier, Observation, Patient, Practitioner, Reference, Resource, ServiceRequest,
} from '@medplum/fhirtypes';
import type { OrderInput, OrderPriority, OrderStatus, PatientInput } from '../../orders/index.ts';
import { parseJj1017, Jj1017Error, type Jj1017Code } from '../../orders/jj1017.ts';
import { DICOM_MODALITIES, JJ1017_MODALITY, bodyPartOf, contrastInText } from '../hl7/orders.ts';
import { FhirError, type FhirIssue } from './outcome.ts';

/** JP Core profile of the orders answered by GET. */
export const JP_SERVICE_REQUEST_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_ServiceRequest_Common';
/** JP Core patient profile of the contained patient. */
export const JP_PATIENT_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient';
/** JP Core department extension (JP_Common_Department, valueCodeableConcept). */
export const JP_DEPARTMENT_EXTENSION = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Common_Department';
/** JP Core resource instance identifier system (used for order numbers of JP Core requests). */
export const JP_RESOURCE_INSTANCE_IDENTIFIER = 'http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier';
/** JP Core namespace of facility patient IDs: this prefix, then 1 + the 10-digit 医療機関コード. */
export const JP_PATIENT_ID_SYSTEM_PREFIX = 'urn:oid:1.2.392.100495.20.3.51.';
/** HL7 v2 table 0203 identifier types (FHIR identifier-type). */
export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
/** Name representation of JP_HumanName (ISO 21090 EN.representation). */
export const EN_REPRESENTATION = 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation';
/** DICOM modality codes (DCM). */
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
/**
 * The JJ1017 code system URI written by Enkaku: a name of Enkaku's own, because no published
 * identifier for JJ1017 was found. JP Core v1.x names no JJ1017 code system (its terminology
 * aliases list MEDIS-DC masters such as HOT9 `urn:oid:1.2.392.200119.4.403.1` and JLAC10
 * `urn:oid:1.2.392.200119.4.504`, none for JJ1017), HL7 v2 table 0396 has the v2 coding system
 * name `JJ1017` ("Japanese Image Examination Cache") but no FHIR URI or OID was found for it,
 * and the JJ1017 指針 text available to us gives none (docs/fhir.md). The URI contains
 * "JJ1017", so receivers that key on the name, and Enkaku itself, recognise it; agree on it
 * with the receiving system.
 */
export const JJ1017_SYSTEM = 'urn:enkaku:jj1017';
/**
 * The system Enkaku wrote before: an OID under MEDIS-DC's arc (1.2.392.200119) that no source
 * confirms as JJ1017's. Still read as JJ1017, never written.
 */
export const LEGACY_JJ1017_SYSTEM = 'urn:oid:1.2.392.200119.4.1.1';

/** An order as GET renders it: the order's data, its state and version. */
export interface FhirOrderView extends Omit<OrderInput, 'control' | 'messageId' | 'messageTime' | 'source'> {
  id: string;
  status: OrderStatus;
  /** Increases with every applied change; the ETag (W/"versionId"). */
  versionId: string;
  /** ISO 8601 UTC of the last change. */
  lastUpdated: string;
}

/** Whether a coding system names JJ1017 (any URI containing "JJ1017", or {@link LEGACY_JJ1017_SYSTEM}). */
function isJj1017System(system: string | undefined): boolean {
  return !!system && (system === LEGACY_JJ1017_SYSTEM || /jj1017/i.test(system));
}

function text(cc: CodeableConcept | undefined): string {
  return (cc?.text ?? cc?.coding?.find((c) => c.display)?.display ?? '').trim();
}

/** A FHIR dateTime (or date, read as the start of that day in Japan time) to ISO 8601 UTC. */
export function fhirDateTimeToIso(value: string): string | undefined {
  const v = value.trim();
  let candidate: string;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) candidate = `${v}T00:00:00+09:00`;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) candidate = v;
  else return undefined;
  const t = Date.parse(candidate);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Resolves a reference: `#id` to a contained resource, `urn:uuid:` / full URLs to Bundle entries. */
export type Resolver = (reference: string) => Resource | undefined;

class Collector {
  readonly issues: Array<FhirIssue & { status: 400 | 422 }> = [];
  add(status: 400 | 422, code: FhirIssue['code'], expression: string, diagnostics: string): void {
    this.issues.push({ status, code, expression, diagnostics });
  }
  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const status = this.issues.some((i) => i.status === 400) ? 400 : 422;
    throw new FhirError(status, this.issues.map(({ status: _s, ...i }) => i));
  }
}

/** Name groups from JP_HumanName: by EN.representation (IDE, SYL, ABC), else by the characters used. */
function namesOf(names: HumanName[] | undefined): PatientInput['name'] {
  const out: PatientInput['name'] = { alphabetic: '', ideographic: '', phonetic: '' };
  for (const n of names ?? []) {
    const rep = n.extension?.find((e) => e.url === EN_REPRESENTATION)?.valueCode?.toUpperCase();
    const family = (n.family ?? '').trim();
    const given = (n.given ?? []).map((g) => g.trim());
    const value = family || given.length ? [family, ...given].join('^').replace(/\^+$/, '') : (n.text ?? '').trim();
    if (!value) continue;
    const plain = value.replace(/\^/g, '');
    const group: keyof PatientInput['name'] = rep === 'IDE' ? 'ideographic' : rep === 'SYL' ? 'phonetic' : rep === 'ABC' ? 'alphabetic'
      : /^[\x20-\x7e]*$/.test(plain) ? 'alphabetic' : /^[\u3040-\u30ff\uff66-\uff9f\u3000\s・ー]+$/.test(plain) ? 'phonetic' : 'ideographic';
    if (!out[group]) out[group] = value;
  }
  return out;
}

/** The patient of `subject` (JP_Patient), named in expressions as `Patient`. */
function patientOf(sr: ServiceRequest, resolve: Resolver, c: Collector): PatientInput {
  const empty: PatientInput = { patientId: '', issuer: '', name: { alphabetic: '', ideographic: '', phonetic: '' }, sex: '', birthDate: '' };
  const subject = sr.subject;
  if (!subject) {
    c.add(400, 'required', 'ServiceRequest.subject', 'ServiceRequest.subject (the patient) is required');
    return empty;
  }
  if (!subject.reference && subject.identifier?.value) {
    return { ...empty, patientId: subject.identifier.value.trim(), issuer: subject.identifier.system ?? '' };
  }
  const target = subject.reference ? resolve(subject.reference) : undefined;
  if (!target || target.resourceType !== 'Patient') {
    c.add(422, 'not-found', 'ServiceRequest.subject', 'the patient must be sent with the order: a contained Patient (#id), a Patient entry of the same transaction Bundle, or subject.identifier');
    return empty;
  }
  const p = target as Patient;
  const ids = (p.identifier ?? []).filter((i) => i.value?.trim());
  const id = ids.find((i) => i.system?.startsWith(JP_PATIENT_ID_SYSTEM_PREFIX)) ?? ids.find((i) => i.type?.coding?.some((cd) => cd.code === 'MR')) ?? ids[0];
  if (!id) c.add(422, 'required', 'Patient.identifier', 'Patient.identifier (the facility patient ID) is required (JP_Patient: identifier 1..*)');
  const name = namesOf(p.name);
  const sex = p.gender === 'male' ? 'M' : p.gender === 'female' ? 'F' : p.gender === 'other' ? 'O' : '';
  let birthDate = '';
  if (p.birthDate) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(p.birthDate)) birthDate = p.birthDate.replace(/-/g, '');
    else if (!/^\d{4}(-\d{2})?$/.test(p.birthDate)) c.add(400, 'value', 'Patient.birthDate', 'Patient.birthDate must be a FHIR date (YYYY-MM-DD)');
  }
  return { patientId: id?.value?.trim() ?? '', issuer: id?.system ?? '', name, sex, birthDate };
}

function identifierOfType(ids: Identifier[], code: string): Identifier | undefined {
  return ids.find((i) => i.value?.trim() && i.type?.coding?.some((cd) => cd.code === code && (!cd.system || cd.system === V2_0203)));
}

/** A contained or bundled resource described in words for the clinical notes. */
function describeSupporting(ref: Reference, resolve: Resolver): string {
  const r = ref.reference ? resolve(ref.reference) : undefined;
  if (r?.resourceType === 'Observation') {
    const o = r as Observation;
    const value = o.valueQuantity ? `${o.valueQuantity.value ?? ''}${o.valueQuantity.unit ? ` ${o.valueQuantity.unit}` : ''}` : o.valueString ?? text(o.valueCodeableConcept);
    return `${text(o.code)}: ${value}`.trim();
  }
  if (r?.resourceType === 'Condition') return `診断: ${text((r as Condition).code)}`;
  return (ref.display ?? '').trim();
}

function practitionerName(ref: Reference | undefined, resolve: Resolver): string {
  if (!ref) return '';
  const r = ref.reference ? resolve(ref.reference) : undefined;
  if (r?.resourceType === 'Practitioner') {
    const names = namesOf((r as Practitioner).name);
    const n = names.ideographic || names.alphabetic || names.phonetic;
    if (n) return n.split('^').filter(Boolean).join(' ');
  }
  return (ref.display ?? '').trim();
}

function department(extensions: Extension[] | undefined): string {
  const e = extensions?.find((x) => x.url === JP_DEPARTMENT_EXTENSION);
  return e ? text(e.valueCodeableConcept) || (e.valueString ?? '') : '';
}

const PRIORITY: Readonly<Record<string, OrderPriority>> = { routine: 'routine', urgent: 'urgent', asap: 'urgent', stat: 'stat' };

/**
 * Map a ServiceRequest to an order.
 *
 * @param context.mode `create` (POST: new, or cancel when revoked) or `update` (PUT: change, or cancel)
 * @param context.messageId the request's identity for duplicate detection
 * @throws FhirError 400 for an invalid resource, 422 when data Enkaku needs is missing
 */
export function serviceRequestToOrder(
  input: unknown,
  context: { facilityId: string; mode: 'create' | 'update'; messageId: string; resolve?: Resolver; now?: Date },
): OrderInput {
  const c = new Collector();
  if (!input || typeof input !== 'object' || (input as Resource).resourceType !== 'ServiceRequest') {
    throw new FhirError(400, [{ code: 'structure', expression: 'ServiceRequest', diagnostics: 'the body must be a ServiceRequest resource (application/fhir+json)' }]);
  }
  const sr = input as ServiceRequest;
  const contained = new Map((sr.contained ?? []).filter((r) => r.id).map((r) => [`#${r.id}`, r as Resource]));
  const resolve: Resolver = (ref) => contained.get(ref) ?? context.resolve?.(ref);

  if (!sr.status) c.add(400, 'required', 'ServiceRequest.status', 'ServiceRequest.status is required');
  if (!sr.intent) c.add(400, 'required', 'ServiceRequest.intent', 'ServiceRequest.intent is required');
  else if (!['order', 'original-order', 'filler-order', 'instance-order'].includes(sr.intent)) {
    c.add(422, 'business-rule', 'ServiceRequest.intent', `intent "${sr.intent}" is not an order (order, original-order, filler-order, instance-order)`);
  }
  let control: OrderInput['control'] = context.mode === 'create' ? 'new' : 'change';
  if (sr.status === 'revoked' || sr.status === 'entered-in-error') control = 'cancel';
  else if (sr.status && sr.status !== 'active') c.add(422, 'not-supported', 'ServiceRequest.status', `status "${sr.status}" is not taken: send active (new or changed order) or revoked (cancelled)`);

  const patient = patientOf(sr, resolve, c);
  const ids = sr.identifier ?? [];
  const placer = identifierOfType(ids, 'PLAC') ?? ids.find((i) => i.system === JP_RESOURCE_INSTANCE_IDENTIFIER && i.value?.trim()) ?? ids.find((i) => !i.type && i.value?.trim());
  if (!placer) c.add(422, 'required', 'ServiceRequest.identifier', 'a placer order number is required: an identifier with type PLAC (HL7 table 0203), or in the JP Core resourceInstance-identifier system');
  const filler = identifierOfType(ids, 'FILL');
  const accession = identifierOfType(ids, 'ACSN');

  let jj: Jj1017Code | undefined;
  const jjCoding = sr.code?.coding?.find((cd) => isJj1017System(cd.system) && cd.code);
  if (jjCoding) {
    try {
      jj = parseJj1017(jjCoding.code!, /16S/i.test(jjCoding.system ?? '') ? '16S' : 'auto');
    } catch (e) {
      if (!(e instanceof Jj1017Error)) throw e;
      c.add(400, 'code-invalid', 'ServiceRequest.code.coding', `the JJ1017 code is not valid: ${e.message}`);
    }
  }
  const procedureText = text(sr.code) || (jjCoding?.code ?? '') || (jj?.description.ja ?? '');
  if (!sr.code || (!procedureText && !jj)) {
    if (control !== 'cancel') c.add(422, 'required', 'ServiceRequest.code', 'ServiceRequest.code (the exam: a JJ1017 coding and/or text) is required');
  }
  const priorityCode = sr.priority ?? 'routine';
  const priority = PRIORITY[priorityCode];
  if (!priority) c.add(400, 'code-invalid', 'ServiceRequest.priority', `priority "${priorityCode}" is not routine, urgent, asap or stat`);

  const dcm = [...(sr.category ?? []), ...(sr.orderDetail ?? []), ...(sr.code ? [sr.code] : [])]
    .flatMap((cc) => cc.coding ?? []).find((cd) => cd.system === DCM && cd.code && DICOM_MODALITIES.has(cd.code))?.code;
  const modality = (jj?.modality?.specified ? JJ1017_MODALITY[jj.modality.code] : undefined) ?? dcm ?? '';
  const bodyPart = bodyPartOf(jj) || (sr.bodySite ?? []).map(text).filter(Boolean).join('、');

  const reason = [...(sr.reasonCode ?? []).map(text), ...(sr.reasonReference ?? []).map((r) => describeSupporting(r, resolve))].filter(Boolean).join('\n');
  const notes = [...(sr.note ?? []).map((n) => (n.text ?? '').trim()), ...(sr.supportingInfo ?? []).map((r) => describeSupporting(r, resolve))].filter(Boolean);

  const time = (value: string | undefined, expression: string): string | undefined => {
    if (!value) return undefined;
    const iso = fhirDateTimeToIso(value);
    if (!iso) c.add(400, 'value', expression, `${expression} must be a FHIR dateTime with a time zone (e.g. 2024-06-03T09:15:00+09:00)`);
    return iso;
  };
  const requestedAt = time(sr.authoredOn, 'ServiceRequest.authoredOn') ?? (sr.meta?.lastUpdated ? fhirDateTimeToIso(sr.meta.lastUpdated) : undefined) ?? (context.now ?? new Date()).toISOString();
  const scheduledAt = time(sr.occurrenceDateTime, 'ServiceRequest.occurrenceDateTime') ?? time(sr.occurrencePeriod?.start, 'ServiceRequest.occurrencePeriod.start');
  const messageTime = sr.meta?.lastUpdated ? fhirDateTimeToIso(sr.meta.lastUpdated) : undefined;

  c.throwIfAny();
  return {
    facilityId: context.facilityId,
    patient,
    placerOrderNumber: placer!.value!.trim(),
    ...(filler?.value ? { fillerOrderNumber: filler.value.trim() } : {}),
    accessionNumber: accession?.value?.trim() ?? '',
    control,
    priority: priority!,
    ...(jj ? { jj1017: jj.code } : {}),
    modality,
    bodyPart,
    procedureText,
    reason,
    clinicalNotes: notes.join('\n'),
    contrast: Boolean(jj?.contrast) || contrastInText(procedureText),
    requester: { name: practitionerName(sr.requester, resolve), department: department(sr.extension) },
    requestedAt,
    ...(scheduledAt ? { scheduledAt } : {}),
    source: 'fhir',
    messageId: context.messageId,
    ...(messageTime ? { messageTime } : {}),
  };
}

/**
 * The ServiceRequest of a transaction (or batch) Bundle, with a resolver for its entries
 * (`fullUrl`, e.g. `urn:uuid:...`) so that `subject` may point at a Patient entry (FHIR R4
 * §3.1.0.11 transaction; JP Core examples use urn:uuid full URLs).
 *
 * @throws FhirError 400 when the Bundle is not a transaction/batch or has not exactly one ServiceRequest
 */
export function serviceRequestOfBundle(input: unknown): { serviceRequest: ServiceRequest; resolve: Resolver; method: string } {
  const b = input as Bundle;
  if (!b || b.resourceType !== 'Bundle' || (b.type !== 'transaction' && b.type !== 'batch')) {
    throw new FhirError(400, [{ code: 'structure', expression: 'Bundle.type', diagnostics: 'POST to the base takes a transaction or batch Bundle' }]);
  }
  const entries = b.entry ?? [];
  const srs = entries.filter((e) => e.resource?.resourceType === 'ServiceRequest');
  if (srs.length !== 1) {
    throw new FhirError(400, [{ code: 'not-supported', expression: 'Bundle.entry', diagnostics: `the Bundle must hold exactly one ServiceRequest (found ${srs.length}) and its Patient` }]);
  }
  const others = entries.filter((e) => e.resource && !['ServiceRequest', 'Patient', 'Practitioner', 'Observation', 'Condition', 'Organization', 'PractitionerRole'].includes(e.resource.resourceType));
  if (others.length) {
    throw new FhirError(400, [{ code: 'not-supported', expression: 'Bundle.entry', diagnostics: `resources of type ${[...new Set(others.map((e) => e.resource!.resourceType))].join(', ')} are not taken in an order Bundle` }]);
  }
  const byUrl = new Map<string, Resource>();
  for (const e of entries) {
    if (!e.resource) continue;
    if (e.fullUrl) byUrl.set(e.fullUrl, e.resource);
    if (e.resource.id) byUrl.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
  }
  return { serviceRequest: srs[0]!.resource as ServiceRequest, resolve: (ref) => byUrl.get(ref), method: srs[0]!.request?.method ?? 'POST' };
}

function humanName(value: string, representation: 'IDE' | 'SYL' | 'ABC'): HumanName {
  const [family = '', ...given] = value.split('^');
  return {
    extension: [{ url: EN_REPRESENTATION, valueCode: representation }],
    use: 'official',
    ...(family ? { family } : {}),
    ...(given.filter(Boolean).length ? { given: given.filter(Boolean) } : {}),
  };
}

function isoDate(yyyymmdd: string): string | undefined {
  return /^\d{8}$/.test(yyyymmdd) ? `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}` : undefined;
}

const STATUS: Readonly<Record<OrderStatus, ServiceRequest['status']>> = {
  scheduled: 'active',
  'in-progress': 'active',
  completed: 'completed',
  cancelled: 'revoked',
};

/** An order as a JP_ServiceRequest_Common with its patient contained (JP_Patient). */
export function orderToServiceRequest(o: FhirOrderView): ServiceRequest {
  const identifier = (code: 'PLAC' | 'FILL' | 'ACSN', value: string | undefined): Identifier[] =>
    value ? [{ type: { coding: [{ system: V2_0203, code }] }, value }] : [];
  const names = [
    ...(o.patient.name.ideographic ? [humanName(o.patient.name.ideographic, 'IDE')] : []),
    ...(o.patient.name.phonetic ? [humanName(o.patient.name.phonetic, 'SYL')] : []),
    ...(o.patient.name.alphabetic ? [humanName(o.patient.name.alphabetic, 'ABC')] : []),
  ];
  const birthDate = isoDate(o.patient.birthDate);
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'patient',
    meta: { profile: [JP_PATIENT_PROFILE] },
    identifier: [{ ...(o.patient.issuer ? { system: o.patient.issuer } : {}), value: o.patient.patientId }],
    ...(names.length ? { name: names } : {}),
    ...(o.patient.sex ? { gender: o.patient.sex === 'M' ? 'male' : o.patient.sex === 'F' ? 'female' : 'other' } : {}),
    ...(birthDate ? { birthDate } : {}),
  };
  const coding = [
    ...(o.jj1017 ? [{ system: JJ1017_SYSTEM, code: o.jj1017, ...(o.procedureText ? { display: o.procedureText } : {}) }] : []),
  ];
  return {
    resourceType: 'ServiceRequest',
    id: o.id,
    meta: { versionId: o.versionId, lastUpdated: o.lastUpdated, profile: [JP_SERVICE_REQUEST_PROFILE] },
    contained: [patient],
    ...(o.requester.department ? { extension: [{ url: JP_DEPARTMENT_EXTENSION, valueCodeableConcept: { text: o.requester.department } }] } : {}),
    identifier: [...identifier('PLAC', o.placerOrderNumber), ...identifier('FILL', o.fillerOrderNumber), ...identifier('ACSN', o.accessionNumber)],
    status: STATUS[o.status] ?? 'active',
    intent: 'order',
    ...(o.modality ? { category: [{ coding: [{ system: DCM, code: o.modality }] }] } : {}),
    priority: o.priority === 'urgent' ? 'urgent' : o.priority,
    code: { ...(coding.length ? { coding } : {}), ...(o.procedureText ? { text: o.procedureText } : {}) },
    subject: { reference: '#patient' },
    ...(o.scheduledAt ? { occurrenceDateTime: o.scheduledAt } : {}),
    ...(o.requestedAt ? { authoredOn: o.requestedAt } : {}),
    ...(o.requester.name ? { requester: { display: o.requester.name } } : {}),
    ...(o.reason ? { reasonCode: [{ text: o.reason }] } : {}),
    ...(o.bodyPart ? { bodySite: [{ text: o.bodyPart }] } : {}),
    ...(o.clinicalNotes ? { note: [{ text: o.clinicalNotes }] } : {}),
  };
}
