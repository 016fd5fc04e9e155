/**
 * The report as a signed document: everything a final report version says, in one value
 * that the PDF renderer, the signer (PAdES and detached CMS over {@link canonicalReport})
 * and the delivery routes (HL7 ORU^R01, FHIR DiagnosticReport, PDF) all take. It is built
 * once when a version is finalised and stored with it, so a version always renders and
 * delivers the same way.
 */

/** The sections of a radiology report (JESRA / JRS report structure). */
export interface ReportSections {
  /** 臨床情報: the question asked and the history that matters. */
  clinicalInformation: string;
  /** 検査方法: technique, contrast, protocol. */
  technique: string;
  /** 比較: the priors compared with. */
  comparison: string;
  /** 所見. */
  findings: string;
  /** 診断 / 結論. */
  impression: string;
}

/** The section keys in report order. */
export const SECTION_KEYS = ['clinicalInformation', 'technique', 'comparison', 'findings', 'impression'] as const satisfies ReadonlyArray<keyof ReportSections>;

/** final: the first signed version; correction: replaces the content; addendum: adds to it. */
export type ReportVersionKind = 'final' | 'correction' | 'addendum';

/** Where the reader was when reading (B2, for the billing rules). */
export type ReaderLocation = 'on-site' | 'home' | 'other';

/** A communication about a finding, carried on the delivered report (issue of critical findings). */
export interface ReportCommunication {
  /** critical | urgent | incidental */
  category: string;
  message: string;
  /** Who was told, by which channel, and when (ISO). */
  recipient: string;
  channel: string;
  at: string;
  acknowledgedAt: string | null;
}

/** One final report version as signed and delivered. */
export interface ReportDocument {
  /** Stable id of the report (all its versions). */
  reportId: string;
  /** Id of this version; the idempotency key of its deliveries. */
  versionId: string;
  /** 1 for the first final version, then 2, 3 ... */
  version: number;
  kind: ReportVersionKind;
  /** Why a correction or addendum was made ('' for the first version). */
  reason: string;
  /** ISO time of finalisation (UTC). */
  finalisedAt: string;
  facility: { id: string; name: string };
  patient: {
    /** The facility's patient ID and its issuer. */
    patientId: string;
    issuer: string;
    name: { alphabetic: string; ideographic: string; phonetic: string };
    /** M | F | O | '' */
    sex: string;
    /** YYYYMMDD or ''. */
    birthDate: string;
  };
  study: {
    studyUid: string;
    accessionNumber: string;
    /** YYYYMMDD and HHMMSS as in DICOM ('' when unknown). */
    studyDate: string;
    studyTime: string;
    modalities: string[];
    description: string;
    numSeries: number;
    numInstances: number;
    /** Series for FHIR ImagingStudy: UID, modality, number, description, instance count. */
    series: Array<{ seriesUid: string; modality: string; number: number | null; description: string; numInstances: number; bodyPart: string }>;
  };
  /** The order read for, when there is one. */
  order: {
    placerOrderNumber: string;
    fillerOrderNumber: string;
    /** 32-character JJ1017 code or ''. */
    jj1017: string;
    procedureText: string;
    /** stat | urgent | routine */
    priority: string;
    requesterName: string;
    requesterDepartment: string;
    requestedAt: string;
  } | null;
  sections: ReportSections;
  /** The signing physician. */
  reader: { userId: string; displayName: string; licenceNumber: string; certifications: string[] };
  /** The transcriptionist who drafted it for the reader (A3), when there was one. */
  transcribedBy: { userId: string; displayName: string } | null;
  /** For double reading (W9): the independent readers and the arbiter. */
  otherReaders: Array<{ userId: string; displayName: string; role: 'first-reader' | 'second-reader' | 'arbiter' }>;
  /** Key images marked in the viewer (SOP Instance UIDs and frames). */
  keyImages: Array<{ sopInstanceUid: string; seriesUid: string; frame: number; note: string }>;
  /** AI findings shown to the reader (I1), labelled as AI output. */
  aiFindings: Array<{ source: string; text: string }>;
  /** Where and when it was read (B2). */
  reading: { location: ReaderLocation; startedAt: string | null; finalisedAt: string };
  communications: ReportCommunication[];
}

/**
 * The canonical bytes of a report document: JSON with keys sorted at every level and no
 * insignificant white space (RFC 8785-style for the value shapes used here: strings,
 * integers, booleans, null, arrays and objects). The detached CMS signature covers these
 * bytes, so anyone can re-derive them from the stored document and verify.
 */
export function canonicalReport(doc: ReportDocument): Buffer {
  return Buffer.from(canonicalJson(doc), 'utf8');
}

/** Canonical JSON text of a value (sorted keys, no white space). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number in a canonical document');
    return JSON.stringify(value ?? null);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
