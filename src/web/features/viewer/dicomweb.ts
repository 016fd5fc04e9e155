/**
 * QIDO-RS and WADO-RS metadata for the viewer (PS3.18 §10.6, §10.4.1.1.2): studies, their
 * series and instances, and the attributes of a series. These answers carry attributes
 * only; pixels reach the browser solely as rendered images (`rendered.ts`). Everything is
 * fetched with `cache: 'no-store'` through the API client and kept in TanStack Query's
 * memory, which is dropped at logout.
 */
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client.ts';
import { num, personName, str, strs, TAG, type DicomJson, type PersonName } from './dicomJson.ts';
import { buildStack, framesOf, type Stack } from './geometry.ts';

const DICOM_JSON = 'application/dicom+json';
const enc = encodeURIComponent;

/** A QIDO-RS search (an empty answer, 204, is an empty list). */
export async function qido(path: string, query: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<DicomJson[]> {
  const answer = await api.get<DicomJson[] | undefined>(path, { query, signal, accept: DICOM_JSON });
  return Array.isArray(answer) ? answer : [];
}

/** Every match of a QIDO-RS search, page by page (the server answers at most 1000 at a time). */
export async function qidoAll(path: string, query: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<DicomJson[]> {
  const pageSize = 1000;
  const out: DicomJson[] = [];
  for (let offset = 0; offset < 100_000; offset += pageSize) {
    const page = await qido(path, { ...query, limit: pageSize, offset }, signal);
    out.push(...page);
    if (page.length < pageSize) break;
  }
  return out;
}

/** A study as the list and the viewer show it. */
export interface StudySummary {
  studyUid: string;
  patientName: PersonName;
  patientId: string;
  issuer: string;
  birthDate: string;
  sex: string;
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  description: string;
  modalities: string[];
  /** The facility, when the answer names it (Institution Name). */
  facility: string;
  series: number | undefined;
  instances: number | undefined;
}

export function toStudy(ds: DicomJson): StudySummary {
  return {
    studyUid: str(ds, TAG.StudyInstanceUID) ?? '',
    patientName: personName(ds, TAG.PatientName),
    patientId: str(ds, TAG.PatientID) ?? '',
    issuer: str(ds, TAG.IssuerOfPatientID) ?? '',
    birthDate: str(ds, TAG.PatientBirthDate) ?? '',
    sex: str(ds, TAG.PatientSex) ?? '',
    studyDate: str(ds, TAG.StudyDate) ?? '',
    studyTime: str(ds, TAG.StudyTime) ?? '',
    accessionNumber: str(ds, TAG.AccessionNumber) ?? '',
    description: str(ds, TAG.StudyDescription) ?? '',
    modalities: strs(ds, TAG.ModalitiesInStudy),
    facility: str(ds, TAG.InstitutionName) ?? '',
    series: num(ds, TAG.NumberOfStudyRelatedSeries),
    instances: num(ds, TAG.NumberOfStudyRelatedInstances),
  };
}

/** Newest first, then by time. */
export function byDateDescending(a: StudySummary, b: StudySummary): number {
  return (b.studyDate + b.studyTime).localeCompare(a.studyDate + a.studyTime);
}

/** Search filters of the study list. */
export interface StudyFilters {
  patientName: string;
  patientId: string;
  /** `YYYY-MM-DD`, both included; empty for no bound. */
  from: string;
  to: string;
  modality: string;
}

export const NO_STUDY_FILTERS: StudyFilters = { patientName: '', patientId: '', from: '', to: '', modality: '' };

/** The QIDO-RS query of the filters: names match by prefix in any component group. */
export function studyQuery(f: StudyFilters, limit: number, offset: number): Record<string, string | number | undefined> {
  const name = f.patientName.trim();
  const day = (d: string): string => d.replace(/-/g, '');
  const date = f.from || f.to ? `${day(f.from)}-${day(f.to)}` : undefined;
  return {
    PatientName: name ? (/[*?]/.test(name) ? name : `${name}*`) : undefined,
    PatientID: f.patientId.trim() || undefined,
    StudyDate: date,
    ModalitiesInStudy: f.modality || undefined,
    fuzzymatching: name ? 'true' : undefined,
    includefield: TAG.InstitutionName,
    limit,
    offset,
  };
}

export function useStudies(filters: StudyFilters, limit: number, offset: number) {
  return useQuery({
    queryKey: ['dicomweb', 'studies', filters, limit, offset],
    queryFn: async ({ signal }) => (await qido('/dicomweb/studies', studyQuery(filters, limit, offset), signal)).map(toStudy),
  });
}

export function studyKey(studyUid: string) {
  return ['dicomweb', 'study', studyUid] as const;
}

/** One study by its UID, or null when it is not there (or not readable). */
export async function fetchStudy(studyUid: string, signal?: AbortSignal): Promise<StudySummary | null> {
  const hits = await qido('/dicomweb/studies', { StudyInstanceUID: studyUid, includefield: TAG.InstitutionName }, signal);
  return hits[0] ? toStudy(hits[0]) : null;
}

export function useStudy(studyUid: string) {
  return useQuery({ queryKey: studyKey(studyUid), queryFn: ({ signal }) => fetchStudy(studyUid, signal) });
}

/** The other studies of the same patient (same Patient ID and issuer), newest first. */
export async function fetchPriors(study: StudySummary, signal?: AbortSignal): Promise<StudySummary[]> {
  if (!study.patientId) return [];
  const hits = (await qidoAll('/dicomweb/studies', { PatientID: study.patientId, includefield: TAG.InstitutionName }, signal)).map(toStudy);
  return hits
    .filter((s) => s.studyUid !== study.studyUid && s.patientId === study.patientId && s.issuer === study.issuer)
    .sort(byDateDescending);
}

export function usePriors(study: StudySummary | null | undefined) {
  return useQuery({
    queryKey: ['dicomweb', 'priors', study?.studyUid, study?.patientId, study?.issuer],
    queryFn: ({ signal }) => fetchPriors(study!, signal),
    enabled: !!study,
  });
}

/** A series as the navigator shows it. */
export interface SeriesSummary {
  studyUid: string;
  seriesUid: string;
  modality: string;
  description: string;
  number: number | undefined;
  instances: number | undefined;
}

export function toSeries(ds: DicomJson, studyUid: string): SeriesSummary {
  return {
    studyUid: str(ds, TAG.StudyInstanceUID) ?? studyUid,
    seriesUid: str(ds, TAG.SeriesInstanceUID) ?? '',
    modality: str(ds, TAG.Modality) ?? '',
    description: str(ds, TAG.SeriesDescription) ?? '',
    number: num(ds, TAG.SeriesNumber),
    instances: num(ds, TAG.NumberOfSeriesRelatedInstances),
  };
}

export async function fetchSeries(studyUid: string, signal?: AbortSignal): Promise<SeriesSummary[]> {
  const rows = await qidoAll(`/dicomweb/studies/${enc(studyUid)}/series`, {}, signal);
  return rows.map((r) => toSeries(r, studyUid)).sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
}

export function seriesKey(studyUid: string | undefined) {
  return ['dicomweb', 'series', studyUid] as const;
}

export function useSeriesList(studyUid: string | undefined) {
  return useQuery({
    queryKey: seriesKey(studyUid),
    queryFn: ({ signal }) => fetchSeries(studyUid!, signal),
    enabled: !!studyUid,
  });
}

export function instanceStackKey(studyUid: string | undefined, seriesUid: string | undefined) {
  return ['dicomweb', 'instances', studyUid, seriesUid] as const;
}

/** The stack of a series from QIDO-RS (fast, ordered by Instance Number). */
export async function fetchInstanceStack(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<Stack> {
  const rows = await qidoAll(`/dicomweb/studies/${enc(studyUid)}/series/${enc(seriesUid)}/instances`, {}, signal);
  return buildStack(rows.flatMap((r) => framesOf(r, studyUid, seriesUid)));
}

/** The attributes of every instance of a series (WADO-RS metadata; no pixel data). */
export async function fetchSeriesMetadata(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<DicomJson[]> {
  const answer = await api.get<DicomJson[] | undefined>(`/dicomweb/studies/${enc(studyUid)}/series/${enc(seriesUid)}/metadata`, { signal, accept: DICOM_JSON });
  return Array.isArray(answer) ? answer : [];
}

/** The stack of a series in slice order, from its metadata. */
export function metadataStack(metadata: DicomJson[], studyUid: string, seriesUid: string): Stack {
  return buildStack(metadata.flatMap((ds) => framesOf(ds, studyUid, seriesUid)));
}

/**
 * A series' stack: first from QIDO-RS (so the first image can be asked for at once), then
 * from its metadata with slice positions (for ordering and synchronised scrolling).
 */
export function useSeriesStack(studyUid: string | undefined, seriesUid: string | undefined) {
  const quick = useQuery({
    queryKey: instanceStackKey(studyUid, seriesUid),
    queryFn: ({ signal }) => fetchInstanceStack(studyUid!, seriesUid!, signal),
    enabled: !!studyUid && !!seriesUid,
    staleTime: Infinity,
  });
  const metadata = useQuery({
    queryKey: ['dicomweb', 'metadata', studyUid, seriesUid],
    queryFn: ({ signal }) => fetchSeriesMetadata(studyUid!, seriesUid!, signal),
    enabled: !!studyUid && !!seriesUid,
    staleTime: Infinity,
  });
  return { quick, metadata };
}
