/**
 * The reporting HTTP contract (W7, W8, W9, A2, A3, A4, B2, I1): `/api/reports/...`,
 * `/api/report-templates` and `/api/studies/:studyUid/report`. Times are UTC ISO 8601.
 */

/** The five sections of a report, in order. */
export interface ReportSectionsView {
  clinicalInformation: string;
  technique: string;
  comparison: string;
  findings: string;
  impression: string;
}

export type ReaderLocationView = 'on-site' | 'home' | 'other';

/** single: one reader; first/second: the independent readers of double reading; arbiter: the third reader. */
export type ReadingRoleView = 'single' | 'first' | 'second' | 'arbiter';

/** Screening assessment compared between the two independent readers (W9). */
export const ASSESSMENTS = ['negative', 'benign', 'probably-benign', 'suspicious', 'malignant'] as const;
export type Assessment = (typeof ASSESSMENTS)[number];

/** A signed version, as listed in the report's history. */
export interface ReportVersionView {
  id: string;
  version: number;
  kind: 'final' | 'correction' | 'addendum';
  reason: string;
  sections: ReportSectionsView;
  signedBy: { id: string; name: string };
  finalisedAt: string;
  /** The RFC 3161 time and the TSA that gave it. */
  timestamp: { time: string; tsa: string };
  certificate: { subject: string; serial: string; fingerprint: string };
  /** The attending physician's read confirmation (W8). */
  readConfirmation: { by: string; at: string; source: 'web' | 'hl7' | 'fhir' } | null;
}

/** A report of a study (one per reading role), with its draft and its versions. */
export interface ReportView {
  id: string;
  studyUid: string;
  facilityId: string;
  readingRole: ReadingRoleView;
  /** The physician responsible: the only one who may finalise (A3). */
  physician: { id: string; name: string };
  status: 'draft' | 'final';
  /** The working text: the draft before finalising, the current content after. */
  sections: ReportSectionsView;
  assessment: Assessment | null;
  templateId: string | null;
  location: ReaderLocationView | null;
  startedAt: string;
  /** Grows with every saved draft; a save names the revision it started from. */
  revision: number;
  savedBy: { id: string; name: string } | null;
  savedAt: string | null;
  versions: ReportVersionView[];
}

/** `GET /api/studies/:studyUid/report`: what the editor needs beside the viewer. */
export interface StudyReportingView {
  /** The report the caller works on (null until one is started). */
  report: ReportView | null;
  /** Other readers' reports the caller may see (never the other independent reader's before both are done). */
  others: ReportView[];
  /** Final reports of the patient's prior studies, newest first. */
  priors: Array<{ studyUid: string; studyDate: string; description: string; modalities: string[]; version: ReportVersionView }>;
  /** AI results for the study, always labelled as AI output (I1). */
  aiFindings: Array<{ id: string; source: string; text: string; receivedAt: string }>;
  /** Whether the caller may finalise, and why not. */
  signing: { allowed: boolean; problems: string[] };
}

/** `POST /api/studies/:studyUid/report`: start the report (a transcriptionist names the physician). */
export interface StartReportRequest {
  templateId?: string | null;
  /** For a transcriptionist's draft: the physician it is written for (A3). */
  physicianId?: string;
  location?: ReaderLocationView;
}

/** `PUT /api/reports/:id/draft`: autosave. */
export interface SaveDraftRequest {
  revision: number;
  sections: ReportSectionsView;
  assessment?: Assessment | null;
  location?: ReaderLocationView | null;
}

/** `POST /api/reports/:id/finalise` (and `/amend`): the second factor again (A4). */
export interface FinaliseRequest {
  totp: string;
  revision: number;
  location: ReaderLocationView;
}

/** `POST /api/reports/:id/amend`: a correction or an addendum, signed like the first version (A2). */
export interface AmendRequest {
  kind: 'correction' | 'addendum';
  reason: string;
  sections: ReportSectionsView;
  totp: string;
  location: ReaderLocationView;
}

/** A template of a report for a modality and body part (W7). */
export interface ReportTemplateView {
  id: string;
  name: string;
  modality: string;
  bodyPart: string;
  sections: ReportSectionsView;
  /** Macros: typing the key and Tab (or choosing it) inserts the text. */
  macros: Array<{ key: string; text: string }>;
}

/** `GET /api/reports/unconfirmed`: final versions not yet confirmed by the attending physician. */
export interface UnconfirmedReportView {
  versionId: string;
  reportId: string;
  studyUid: string;
  facilityId: string;
  facilityName: string;
  version: number;
  kind: 'final' | 'correction' | 'addendum';
  finalisedAt: string;
  signedBy: string;
  description: string;
}
