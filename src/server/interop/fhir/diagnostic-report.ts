/**
 * A final radiology report version as FHIR R4 resources of JP Core (jpfhir.jp JP Core v1.x), sent
 * to a facility's FHIR server as one transaction Bundle, and the read confirmation (参照確認) a
 * facility sends back as a Communication. Pure functions.
 *
 * The Bundle (docs/fhir.md has the mapping table):
 * - DiagnosticReport (JP_DiagnosticReport_Radiology): `identifier` the report version id in
 *   `urn:enkaku:report-version` (and the report id in `urn:enkaku:report`), `status` final /
 *   corrected / appended, `category` LOINC LP29684-5 放射線 then the DICOM modalities, `code`
 *   JP_DocumentCodes_CS 18748-4 画像検査報告書, `subject`, `effectiveDateTime` (reading started),
 *   `issued` (finalised), `performer` and `resultsInterpreter` (the signing physician), `result`
 *   (findings and impression), `imagingStudy`, `conclusion` (診断), `presentedForm` (the signed
 *   PDF, application/pdf, base64, with its SHA-1), `text` (every section, as JP Core asks);
 * - ImagingStudy (JP_ImagingStudy_Radiology, Study Instance UID as `urn:dicom:uid`), Patient
 *   (JP_Patient), Practitioner (JP_Practitioner, 医籍登録番号 `urn:oid:1.2.392.100495.20.3.31`),
 *   Observations (JP_Observation_Radiology_Findings 18782-3, _Impression 19005-8).
 * Idempotent on re-send: the report's own resources are written by conditional update on their
 * identifiers (`PUT DiagnosticReport?identifier=…`), the facility's resources (patient,
 * physician, study) by conditional create (`ifNoneExist`), so sending the same version twice
 * leaves one of each; `fullUrl`s are UUIDs derived from the version, so the Bundle is the same
 * bytes every time.
 */
import { createHash } from 'node:crypto';
import type {
  Attachment, Bundle, BundleEntry, CodeableConcept, Communication, DiagnosticReport, HumanName, Identifier, ImagingStudy, Observation, Patient, Practitioner,
  Reference, Resource,
} from '@medplum/fhirtypes';
import type { ReportDocument, ReportSections } from '../../reports/document.ts';
import { SECTION_KEYS } from '../../reports/document.ts';
import { FhirError, type FhirIssue } from './outcome.ts';
import { DCM, EN_REPRESENTATION, JJ1017_SYSTEM, JP_PATIENT_PROFILE, V2_0203, fhirDateTimeToIso } from './servicerequest.ts';

/** JP Core profiles written. */
export const JP_DIAGNOSTIC_REPORT_RADIOLOGY_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_DiagnosticReport_Radiology';
export const JP_IMAGING_STUDY_RADIOLOGY_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_ImagingStudy_Radiology';
export const JP_PRACTITIONER_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_Practitioner';
export const JP_OBSERVATION_RADIOLOGY_FINDINGS_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_Radiology_Findings';
export const JP_OBSERVATION_RADIOLOGY_IMPRESSION_PROFILE = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_Radiology_Impression';
/** JP Core document codes (18748-4 画像検査報告書). */
export const JP_DOCUMENT_CODES = 'http://jpfhir.jp/fhir/core/CodeSystem/JP_DocumentCodes_CS';
/** JP Core observation categories (imaging). */
export const JP_SIMPLE_OBSERVATION_CATEGORY = 'http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS';
/** 医籍登録番号 (JP Core JP_Practitioner). */
export const MEDICAL_REGISTRATION_NUMBER_SYSTEM = 'urn:oid:1.2.392.100495.20.3.31';
export const LOINC = 'http://loinc.org';
/** Identifier systems of Enkaku's own ids. */
export const REPORT_VERSION_SYSTEM = 'urn:enkaku:report-version';
export const REPORT_SYSTEM = 'urn:enkaku:report';
export const REPORT_OBSERVATION_SYSTEM = 'urn:enkaku:report-observation';
export const ENKAKU_USER_SYSTEM = 'urn:enkaku:user';
/** The Communication category that marks a read confirmation (参照確認). */
export const READ_CONFIRMATION_CATEGORY = Object.freeze({ system: 'urn:enkaku:communication-category', code: 'read-confirmation' });
/** DICOM UIDs as identifiers (FHIR R4 ImagingStudy notes). */
export const DICOM_UID_SYSTEM = 'urn:dicom:uid';

/** Section headings (LOINC, DICOM CID 7001) and their Japanese names, in report order. */
const SECTIONS: Readonly<Record<keyof ReportSections, { code: string; text: string }>> = {
  clinicalInformation: { code: '55752-0', text: '臨床情報' },
  technique: { code: '55111-9', text: '検査方法' },
  comparison: { code: '18834-2', text: '比較' },
  findings: { code: '18782-3', text: '所見' },
  impression: { code: '19005-8', text: '診断' },
};

/** Options of {@link diagnosticReportBundle}. */
export interface DiagnosticReportBundleOptions {
  /**
   * The identifier system of the facility's patient IDs at the receiving server (e.g. JP Core's
   * `urn:oid:1.2.392.100495.20.3.51.1<医療機関コード>`); default the document's issuer when it
   * is a URI.
   */
  patientIdSystem?: string | null | undefined;
}

/** FHIR DiagnosticReport.status of a version kind. */
export function diagnosticReportStatus(kind: ReportDocument['kind']): 'final' | 'corrected' | 'appended' {
  return kind === 'final' ? 'final' : kind === 'correction' ? 'corrected' : 'appended';
}

/** A UUID derived from a name (stable fullUrls: the same version gives the same Bundle). */
function uuidOf(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function isoDate(yyyymmdd: string): string | undefined {
  return /^\d{8}$/.test(yyyymmdd) ? `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}` : undefined;
}

/** DICOM DA + TM (Japan time) as a FHIR dateTime with +09:00. */
function studyStarted(date: string, time: string): string | undefined {
  const d = isoDate(date);
  if (!d) return undefined;
  const t = /^(\d{2})(\d{2})?(\d{2})?/.exec(time.trim());
  return t ? `${d}T${t[1]}:${t[2] ?? '00'}:${t[3] ?? '00'}+09:00` : d;
}

/** A DICOM PN group (`Family^Given`) as a JP_HumanName with its representation. */
function humanName(pn: string, representation: 'IDE' | 'SYL' | 'ABC'): HumanName | undefined {
  if (!pn.trim()) return undefined;
  const [family = '', ...given] = pn.split('^');
  const g = given.filter(Boolean);
  return {
    extension: [{ url: EN_REPRESENTATION, valueCode: representation }],
    use: 'official',
    text: [family, ...g].filter(Boolean).join(' '),
    ...(family ? { family } : {}),
    ...(g.length ? { given: g } : {}),
  };
}

/** "鈴木 一郎" as a JP_HumanName (IDE). */
function personName(display: string): HumanName {
  const t = display.trim();
  const m = /^(\S+)[\s\u3000]+(.+)$/.exec(t);
  return {
    extension: [{ url: EN_REPRESENTATION, valueCode: 'IDE' }],
    use: 'official',
    text: t,
    ...(m ? { family: m[1]!, given: [m[2]!] } : t ? { family: t } : {}),
  };
}

function xhtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r\n?|\n/g, '<br/>');
}

/** JP Core asks for the findings in `text`; every section is written, with the communications. */
function narrative(doc: ReportDocument): { status: 'generated'; div: string } {
  const parts = [`<h2>画像検査報告書</h2>`];
  if (doc.kind !== 'final' && doc.reason) parts.push(`<p><b>${doc.kind === 'addendum' ? '追記の理由' : '訂正の理由'}</b></p><p>${xhtml(doc.reason)}</p>`);
  for (const key of SECTION_KEYS) {
    const v = doc.sections[key];
    if (v && v.trim()) parts.push(`<p><b>${SECTIONS[key].text}</b></p><p>${xhtml(v)}</p>`);
  }
  if (doc.communications.length) {
    parts.push('<p><b>重要所見の伝達</b></p><ul>');
    for (const c of doc.communications) {
      parts.push(`<li>${xhtml(`${c.category}: ${c.recipient} / ${c.channel} / ${c.at}${c.acknowledgedAt ? ` / 受領確認 ${c.acknowledgedAt}` : ''}: ${c.message}`)}</li>`);
    }
    parts.push('</ul>');
  }
  parts.push(`<p>${xhtml(`${doc.reader.displayName} (${doc.finalisedAt})`)}</p>`);
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${parts.join('')}</div>` };
}

function isUri(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\S+$/i.test(s);
}

/** The search value `system|value` (FHIR R4 §3.1.1.5.5 token), `|` and `,` and `\` escaped. */
function token(system: string | undefined, value: string): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/,/g, '\\,').replace(/\$/g, '\\$');
  return encodeURIComponent(system ? `${esc(system)}|${esc(value)}` : esc(value));
}

function entry(fullUrl: string, resource: Resource, request: NonNullable<BundleEntry['request']>): BundleEntry {
  return { fullUrl: `urn:uuid:${fullUrl}`, resource, request };
}

/**
 * The transaction Bundle that delivers one report version with its signed PDF (see the module
 * comment). References between the entries use their `urn:uuid:` fullUrls (FHIR R4 §3.1.0.11.2,
 * resolved by the server).
 */
export function diagnosticReportBundle(doc: ReportDocument, pdf: Uint8Array, options: DiagnosticReportBundleOptions = {}): Bundle {
  const v = doc.versionId;
  const ids = {
    patient: uuidOf('patient', doc.facility.id, doc.patient.issuer, doc.patient.patientId),
    practitioner: uuidOf('practitioner', doc.reader.userId),
    study: uuidOf('study', doc.study.studyUid),
    findings: uuidOf('findings', v),
    impression: uuidOf('impression', v),
    report: uuidOf('report', v),
  };
  // A reference to another entry of the Bundle (typed for whichever element it fills).
  const ref = <T extends Resource>(id: string, display?: string): Reference<T> => ({ reference: `urn:uuid:${id}`, ...(display ? { display } : {}) });

  const patientSystem = options.patientIdSystem || (isUri(doc.patient.issuer) ? doc.patient.issuer : undefined);
  const names = [humanName(doc.patient.name.ideographic, 'IDE'), humanName(doc.patient.name.phonetic, 'SYL'), humanName(doc.patient.name.alphabetic, 'ABC')]
    .filter((n): n is HumanName => n !== undefined);
  const birthDate = isoDate(doc.patient.birthDate);
  const patient: Patient = {
    resourceType: 'Patient',
    meta: { profile: [JP_PATIENT_PROFILE] },
    identifier: [{ ...(patientSystem ? { system: patientSystem } : {}), value: doc.patient.patientId }],
    ...(names.length ? { name: names } : {}),
    ...(doc.patient.sex ? { gender: doc.patient.sex === 'M' ? 'male' : doc.patient.sex === 'F' ? 'female' : 'other' } : {}),
    ...(birthDate ? { birthDate } : {}),
  };

  const licence = doc.reader.licenceNumber.trim();
  const practitionerIds: Identifier[] = [
    ...(licence ? [{ system: MEDICAL_REGISTRATION_NUMBER_SYSTEM, value: licence }] : []),
    { system: ENKAKU_USER_SYSTEM, value: doc.reader.userId },
  ];
  const practitioner: Practitioner = {
    resourceType: 'Practitioner',
    meta: { profile: [JP_PRACTITIONER_PROFILE] },
    identifier: practitionerIds,
    name: [personName(doc.reader.displayName)],
    ...(licence
      ? { qualification: [{ identifier: [{ system: MEDICAL_REGISTRATION_NUMBER_SYSTEM, value: licence }], code: { text: ['医師', ...doc.reader.certifications].join(', ') } }] }
      : {}),
  };

  const s = doc.study;
  const modalities = [...new Set([...s.modalities, ...s.series.map((x) => x.modality)].filter(Boolean))];
  const started = studyStarted(s.studyDate, s.studyTime);
  const study: ImagingStudy = {
    resourceType: 'ImagingStudy',
    meta: { profile: [JP_IMAGING_STUDY_RADIOLOGY_PROFILE] },
    identifier: [
      { system: DICOM_UID_SYSTEM, value: `urn:oid:${s.studyUid}` },
      ...(s.accessionNumber ? [{ type: { coding: [{ system: V2_0203, code: 'ACSN' }] }, value: s.accessionNumber }] : []),
    ],
    status: 'available',
    ...(modalities.length ? { modality: modalities.map((m) => ({ system: DCM, code: m })) } : {}),
    subject: ref(ids.patient),
    ...(started ? { started } : {}),
    numberOfSeries: s.numSeries,
    numberOfInstances: s.numInstances,
    ...(s.description ? { description: s.description } : {}),
    ...(s.series.length
      ? {
          series: s.series.map((x) => ({
            uid: x.seriesUid,
            ...(x.number !== null ? { number: x.number } : {}),
            modality: { system: DCM, code: x.modality },
            ...(x.description ? { description: x.description } : {}),
            numberOfInstances: x.numInstances,
            ...(x.bodyPart ? { bodySite: { display: x.bodyPart } } : {}),
          })),
        }
      : {}),
  };

  const obsStatus: Observation['status'] = doc.kind === 'final' ? 'final' : doc.kind === 'correction' ? 'corrected' : 'amended';
  const effective = doc.reading.startedAt ?? doc.reading.finalisedAt ?? doc.finalisedAt;
  const observation = (key: 'findings' | 'impression', profile: string): Observation => ({
    resourceType: 'Observation',
    meta: { profile: [profile] },
    identifier: [{ system: REPORT_OBSERVATION_SYSTEM, value: `${v}/${key}` }],
    status: obsStatus,
    category: [{ coding: [{ system: JP_SIMPLE_OBSERVATION_CATEGORY, code: 'imaging' }] }],
    code: { coding: [{ system: LOINC, code: SECTIONS[key].code }], text: SECTIONS[key].text },
    subject: ref(ids.patient),
    effectiveDateTime: effective,
    issued: doc.finalisedAt,
    performer: [ref(ids.practitioner, doc.reader.displayName)],
    valueString: doc.sections[key],
    derivedFrom: [ref(ids.study)],
  });
  const results: Array<{ key: 'findings' | 'impression'; obs: Observation }> = [];
  if (doc.sections.findings.trim()) results.push({ key: 'findings', obs: observation('findings', JP_OBSERVATION_RADIOLOGY_FINDINGS_PROFILE) });
  if (doc.sections.impression.trim()) results.push({ key: 'impression', obs: observation('impression', JP_OBSERVATION_RADIOLOGY_IMPRESSION_PROFILE) });

  const pdfBytes = Buffer.from(pdf);
  const presentedForm: Attachment = {
    contentType: 'application/pdf',
    language: 'ja',
    data: pdfBytes.toString('base64'),
    size: pdfBytes.length,
    // Attachment.hash is the SHA-1 of the data, base64 (FHIR R4 Attachment).
    hash: createHash('sha1').update(pdfBytes).digest('base64'),
    title: `画像検査報告書 第${doc.version}版`,
    creation: doc.finalisedAt,
  };
  const o = doc.order;
  const category: CodeableConcept[] = [
    { coding: [{ system: LOINC, code: 'LP29684-5', display: '放射線' }] },
    ...modalities.map((m) => ({ coding: [{ system: DCM, code: m }] })),
  ];
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    meta: { profile: [JP_DIAGNOSTIC_REPORT_RADIOLOGY_PROFILE] },
    text: narrative(doc),
    identifier: [
      { use: 'official', system: REPORT_VERSION_SYSTEM, value: v },
      { use: 'secondary', system: REPORT_SYSTEM, value: doc.reportId },
    ],
    ...(o?.placerOrderNumber
      ? { basedOn: [{ type: 'ServiceRequest', identifier: { type: { coding: [{ system: V2_0203, code: 'PLAC' }] }, value: o.placerOrderNumber } }] }
      : {}),
    status: diagnosticReportStatus(doc.kind),
    category,
    code: {
      coding: [{ system: JP_DOCUMENT_CODES, code: '18748-4', display: '画像検査報告書' }],
      ...(o?.procedureText || s.description ? { text: o?.procedureText || s.description } : {}),
    },
    subject: ref(ids.patient),
    effectiveDateTime: effective,
    issued: doc.finalisedAt,
    performer: [ref(ids.practitioner, doc.reader.displayName)],
    resultsInterpreter: [ref(ids.practitioner, doc.reader.displayName), ...doc.otherReaders.map((r) => ({ display: r.displayName }))],
    ...(results.length ? { result: results.map((r) => ref(r.key === 'findings' ? ids.findings : ids.impression, SECTIONS[r.key].text)) } : {}),
    imagingStudy: [ref(ids.study)],
    ...(doc.sections.impression.trim() ? { conclusion: doc.sections.impression } : {}),
    presentedForm: [presentedForm],
  };
  // JJ1017 code of the exam, when the order carried one.
  if (o?.jj1017) report.code.coding!.push({ system: JJ1017_SYSTEM, code: o.jj1017, ...(o.procedureText ? { display: o.procedureText } : {}) });

  const patientMatch = token(patientSystem, doc.patient.patientId);
  const practitionerMatch = licence ? token(MEDICAL_REGISTRATION_NUMBER_SYSTEM, licence) : token(ENKAKU_USER_SYSTEM, doc.reader.userId);
  const entries: BundleEntry[] = [
    entry(ids.patient, patient, { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${patientMatch}` }),
    entry(ids.practitioner, practitioner, { method: 'POST', url: 'Practitioner', ifNoneExist: `identifier=${practitionerMatch}` }),
    entry(ids.study, study, { method: 'POST', url: 'ImagingStudy', ifNoneExist: `identifier=${token(DICOM_UID_SYSTEM, `urn:oid:${s.studyUid}`)}` }),
    ...results.map((r) => entry(r.key === 'findings' ? ids.findings : ids.impression, r.obs, {
      method: 'PUT', url: `Observation?identifier=${token(REPORT_OBSERVATION_SYSTEM, `${v}/${r.key}`)}`,
    })),
    entry(ids.report, report, { method: 'PUT', url: `DiagnosticReport?identifier=${token(REPORT_VERSION_SYSTEM, v)}` }),
  ];
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/** A read confirmation as received over FHIR. */
export interface FhirReadConfirmation {
  versionId: string;
  /** The physician who read the report, as the facility names them. */
  by: string;
  /** ISO 8601 UTC. */
  at: string;
}

function nameText(n: HumanName | undefined): string {
  if (!n) return '';
  return (n.text ?? [n.family, ...(n.given ?? [])].filter(Boolean).join(' ')).trim();
}

/**
 * Read a read confirmation (参照確認) sent as a FHIR R4 Communication:
 * - `status` completed; `category` holding `urn:enkaku:communication-category#read-confirmation`;
 * - `about`: the DiagnosticReport by identifier (`{ identifier: { system: urn:enkaku:report-version,
 *   value } }`), or the reference `DiagnosticReport?identifier=urn:enkaku:report-version|<id>`;
 * - `sender`: the physician (`display`, an identifier, or a contained Practitioner);
 * - `sent`: when the report was read (a dateTime with time zone).
 *
 * @throws FhirError 400 (not a Communication, wrong structure) or 422 (missing values), naming each problem
 */
export function readConfirmationOfCommunication(input: unknown): FhirReadConfirmation {
  const c = input as Communication;
  if (!c || typeof c !== 'object' || c.resourceType !== 'Communication') {
    throw new FhirError(400, [{ code: 'structure', diagnostics: 'the body must be a Communication resource', expression: 'Communication' }]);
  }
  const issues: FhirIssue[] = [];
  if (c.status !== 'completed') issues.push({ code: 'value', expression: 'Communication.status', diagnostics: 'status must be completed' });
  const marked = (c.category ?? []).some((cc) => (cc.coding ?? []).some((x) => x.system === READ_CONFIRMATION_CATEGORY.system && x.code === READ_CONFIRMATION_CATEGORY.code));
  if (!marked) {
    issues.push({ code: 'value', expression: 'Communication.category', diagnostics: `category must hold ${READ_CONFIRMATION_CATEGORY.system}#${READ_CONFIRMATION_CATEGORY.code}` });
  }
  let versionId = '';
  for (const a of c.about ?? []) {
    if (a.identifier?.system === REPORT_VERSION_SYSTEM && a.identifier.value) { versionId = a.identifier.value.trim(); break; }
    const m = /^DiagnosticReport\?identifier=(.+)$/.exec(a.reference ?? '');
    if (m) {
      const [system, value] = decodeURIComponent(m[1]!).split('|');
      if (system === REPORT_VERSION_SYSTEM && value) { versionId = value.trim(); break; }
    }
  }
  if (!versionId) {
    issues.push({ code: 'required', expression: 'Communication.about', diagnostics: `about must name the DiagnosticReport by its identifier in ${REPORT_VERSION_SYSTEM}` });
  }
  let by = c.sender?.display?.trim() ?? '';
  if (!by && c.sender?.reference?.startsWith('#')) {
    const contained = (c.contained ?? []).find((r) => r.id === c.sender!.reference!.slice(1));
    if (contained?.resourceType === 'Practitioner') by = nameText((contained as Practitioner).name?.[0]);
  }
  const senderId = c.sender?.identifier?.value?.trim();
  if (senderId) by = by ? `${by} (${senderId})` : senderId;
  if (!by) issues.push({ code: 'required', expression: 'Communication.sender', diagnostics: 'sender must name the physician who read the report (display, identifier or a contained Practitioner)' });
  const at = c.sent ? fhirDateTimeToIso(c.sent) : undefined;
  if (!at) issues.push({ code: 'required', expression: 'Communication.sent', diagnostics: 'sent must be the time the report was read (a dateTime with time zone)' });
  if (issues.length) throw new FhirError(422, issues);
  return { versionId, by, at: at! };
}
