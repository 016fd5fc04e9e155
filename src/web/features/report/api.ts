/** Queries and changes of the reports module (`/api/studies/:uid/report`, `/api/reports/...`). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  AmendRequest,
  FinaliseRequest,
  ReportTemplateView,
  ReportView,
  SaveDraftRequest,
  StartReportRequest,
  StudyReportingView,
  UnconfirmedReportView,
  ReportVersionView,
} from '../../../shared/reports.ts';
import { api } from '../../api/client.ts';

const enc = (v: string) => encodeURIComponent(v);
export const reportKey = (studyUid: string) => ['report', studyUid] as const;

/** What the editor shows for a study. */
export function useStudyReport(studyUid: string) {
  return useQuery({ queryKey: reportKey(studyUid), queryFn: ({ signal }) => api.get<StudyReportingView>(`/api/studies/${enc(studyUid)}/report`, { signal }) });
}

export function useTemplates() {
  return useQuery({ queryKey: ['report-templates'], queryFn: ({ signal }) => api.get<ReportTemplateView[]>('/api/report-templates', { signal }), staleTime: 5 * 60_000 });
}

/** Physicians who may report the study (a transcriptionist names one for the draft). */
export function usePhysicians(studyUid: string, enabled: boolean) {
  return useQuery({ queryKey: ['report-physicians', studyUid], queryFn: ({ signal }) => api.get<Array<{ id: string; name: string }>>(`/api/studies/${enc(studyUid)}/report/physicians`, { signal }), enabled });
}

export function useStartReport(studyUid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: StartReportRequest) => api.post<ReportView>(`/api/studies/${enc(studyUid)}/report`, body),
    onSuccess: () => qc.invalidateQueries({ queryKey: reportKey(studyUid) }),
  });
}

/** Autosave: answers the saved report (its new revision). */
export function saveDraft(reportId: string, body: SaveDraftRequest): Promise<ReportView> {
  return api.put<ReportView>(`/api/reports/${enc(reportId)}/draft`, body);
}

export function useFinalise(studyUid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ reportId, body }: { reportId: string; body: FinaliseRequest }) => api.post<ReportView>(`/api/reports/${enc(reportId)}/finalise`, body, { credentialCheck: true }),
    onSuccess: () => qc.invalidateQueries({ queryKey: reportKey(studyUid) }),
  });
}

export function useAmend(studyUid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ reportId, body }: { reportId: string; body: AmendRequest }) => api.post<ReportView>(`/api/reports/${enc(reportId)}/amend`, body, { credentialCheck: true }),
    onSuccess: () => qc.invalidateQueries({ queryKey: reportKey(studyUid) }),
  });
}

export function useUnconfirmed(enabled: boolean) {
  return useQuery({ queryKey: ['reports', 'unconfirmed'], queryFn: ({ signal }) => api.get<UnconfirmedReportView[]>('/api/reports/unconfirmed', { signal }), enabled, refetchInterval: 60_000 });
}

export function useConfirmRead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (versionId: string) => api.post<ReportVersionView>(`/api/report-versions/${enc(versionId)}/confirm`, {}),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['reports'] }).then(() => qc.invalidateQueries({ queryKey: ['report'] })),
  });
}

/** Where the signed PDF of a version is downloaded. */
export const pdfUrl = (versionId: string): string => `/api/report-versions/${enc(versionId)}/pdf`;
