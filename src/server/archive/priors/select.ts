/**
 * Which prior studies to pull: the C-FIND identifier sent to the facility's PACS, and the
 * checks applied to its answers again on Enkaku's side (PACSes differ in which keys they
 * match: some ignore Modalities in Study or the Issuer of Patient ID).
 */

/** A study the PACS reported. */
export interface PriorCandidate {
  studyUid: string;
  /** YYYYMMDD, '' when the PACS did not say. */
  studyDate: string;
  studyTime: string;
  /** Modalities in Study (0008,0061); empty when the PACS did not return them. */
  modalities: string[];
  patientId: string;
  issuer: string;
}

/** What the policy asks for, for one patient. */
export interface PriorCriteria {
  currentStudyUid: string;
  patientId: string;
  /** Issuer of Patient ID (0010,0021); '' when unknown. */
  issuer: string;
  /** Study Date range, inclusive, YYYYMMDD. */
  from: string;
  to: string;
  /** Wanted modalities; empty: all. */
  modalities: readonly string[];
  maxStudies: number;
}

/** Today's date in Japan (ARCHITECTURE rule 7) as a DICOM date (YYYYMMDD). */
export function tokyoToday(now: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now).replaceAll('-', '');
}

/** The same calendar day `years` earlier (29 February becomes 28 February). */
export function yearsBefore(date: string, years: number): string {
  const y = Number(date.slice(0, 4)) - years;
  const md = date.slice(4);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return `${String(y).padStart(4, '0')}${md === '0229' && !leap ? '0228' : md}`;
}

/**
 * Study-level C-FIND identifier (PS3.4 C.6.2.1): Patient ID with its issuer when known,
 * a Study Date range (C.2.2.2.5) and, for a single wanted modality, Modalities in Study;
 * the other keys are returned (universal matching).
 */
export function studyFindIdentifier(c: Pick<PriorCriteria, 'patientId' | 'issuer' | 'from' | 'to' | 'modalities'>): Record<string, unknown> {
  return {
    QueryRetrieveLevel: 'STUDY',
    PatientID: c.patientId,
    ...(c.issuer ? { IssuerOfPatientID: c.issuer } : {}),
    StudyDate: `${c.from}-${c.to}`,
    StudyTime: '',
    StudyInstanceUID: '',
    // Several values are not a standard query for a CS key: ask for all and filter here.
    ModalitiesInStudy: c.modalities.length === 1 ? c.modalities[0] : '',
  };
}

/** Series-level identifier listing the modalities of one study, for PACSes that do not return Modalities in Study. */
export function seriesFindIdentifier(studyUid: string): Record<string, unknown> {
  return { QueryRetrieveLevel: 'SERIES', StudyInstanceUID: studyUid, SeriesInstanceUID: '', Modality: '' };
}

function text(v: unknown): string {
  if (Array.isArray(v)) return v.map(text).join('\\');
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

function values(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(text) : text(v).split('\\');
  return list.map((s) => s.trim().toUpperCase()).filter(Boolean);
}

/** A C-FIND answer as a candidate; undefined without a usable Study Instance UID. */
export function candidateOf(answer: Record<string, unknown>): PriorCandidate | undefined {
  const studyUid = text(answer.StudyInstanceUID);
  if (!/^[0-9]+(\.[0-9]+)*$/.test(studyUid) || studyUid.length > 64) return undefined;
  return {
    studyUid,
    studyDate: text(answer.StudyDate),
    studyTime: text(answer.StudyTime),
    modalities: values(answer.ModalitiesInStudy),
    patientId: text(answer.PatientID),
    issuer: text(answer.IssuerOfPatientID),
  };
}

/** Modalities of a study from its series-level answers. */
export function modalitiesOfSeries(answers: Array<Record<string, unknown>>): string[] {
  return [...new Set(answers.flatMap((a) => values(a.Modality)))].sort();
}

/**
 * Applies the policy to the PACS's answers: the same patient (and issuer, when both sides
 * know it), a study date inside the range, a wanted modality, not the current study;
 * newest first. `found` are all such priors, `wanted` the newest `maxStudies` of them.
 */
export function selectPriors(candidates: PriorCandidate[], c: PriorCriteria): { found: PriorCandidate[]; wanted: PriorCandidate[] } {
  const wantedModalities = new Set(c.modalities.map((m) => m.toUpperCase()));
  const seen = new Set<string>();
  const found = candidates.filter((p) => {
    if (seen.has(p.studyUid) || p.studyUid === c.currentStudyUid) return false;
    seen.add(p.studyUid);
    if (p.patientId !== c.patientId.trim()) return false;
    if (c.issuer && p.issuer && p.issuer !== c.issuer.trim()) return false;
    if (!/^\d{8}$/.test(p.studyDate) || p.studyDate < c.from || p.studyDate > c.to) return false;
    if (wantedModalities.size && !p.modalities.some((m) => wantedModalities.has(m))) return false;
    return true;
  });
  found.sort((a, b) => `${b.studyDate}${b.studyTime}`.localeCompare(`${a.studyDate}${a.studyTime}`) || a.studyUid.localeCompare(b.studyUid));
  return { found, wanted: found.slice(0, c.maxStudies) };
}
