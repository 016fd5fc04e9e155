/**
 * Physician credentials (`/api/admin/users/:id/credentials` and the records beside it):
 * licences, specialist certifications, training, and the qualification check built on them.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { QualificationCheck, UserCredentials } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';

export const LICENCE_KINDS = ['jp-medical', 'foreign-medical'] as const;
export type LicenceKind = (typeof LICENCE_KINDS)[number];

export const CERTIFICATION_KINDS = ['diagnostic-radiology-specialist', 'nuclear-medicine-specialist', 'mammography-reader'] as const;
export type CertificationKind = (typeof CERTIFICATION_KINDS)[number];

/** Modalities offered in the qualification check (DICOM codes). */
export const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'MG', 'NM', 'PT', 'US', 'XA', 'RF'] as const;
export type Modality = (typeof MODALITIES)[number];

export interface LicenceRequest {
  kind: LicenceKind;
  number: string;
  /** `JP` for a Japanese licence; an ISO 3166-1 alpha-2 code otherwise. */
  country: string;
  evidence: string;
}

export interface CertificationRequest {
  kind: CertificationKind;
  number: string;
  /** `YYYY-MM-DD`. */
  issuedOn: string;
  expiresOn: string;
  evidence: string;
}

export interface TrainingRequest {
  course: string;
  dueOn: string;
  completedOn?: string;
}

export interface QualificationQuery {
  modality: Modality;
  facilityId: string;
}

const credentialsKey = (userId: string) => ['admin', 'credentials', userId] as const;
const qualificationKey = (userId: string) => ['admin', 'qualification', userId] as const;
const userPath = (userId: string, what: string) => `/api/admin/users/${encodeURIComponent(userId)}/${what}`;

export function useCredentials(userId: string) {
  return useQuery({
    queryKey: credentialsKey(userId),
    queryFn: ({ signal }) => api.get<UserCredentials>(userPath(userId, 'credentials'), { signal }),
  });
}

/** After any change, the records and every answer of the qualification check are out of date. */
function useInvalidate(userId: string) {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: credentialsKey(userId) }),
      queryClient.invalidateQueries({ queryKey: qualificationKey(userId) }),
    ]);
}

export function useRecordLicence(userId: string) {
  const invalidate = useInvalidate(userId);
  return useMutation({
    mutationFn: (request: LicenceRequest) => api.post<{ id: string }>(userPath(userId, 'licences'), request),
    onSuccess: invalidate,
  });
}

export function useRevokeLicence(userId: string) {
  const invalidate = useInvalidate(userId);
  return useMutation({
    mutationFn: (licenceId: string) => api.post<unknown>(`/api/admin/licences/${encodeURIComponent(licenceId)}/revoke`, {}),
    onSuccess: invalidate,
  });
}

export function useRecordCertification(userId: string) {
  const invalidate = useInvalidate(userId);
  return useMutation({
    mutationFn: (request: CertificationRequest) => api.post<{ id: string }>(userPath(userId, 'certifications'), request),
    onSuccess: invalidate,
  });
}

export function useRecordTraining(userId: string) {
  const invalidate = useInvalidate(userId);
  return useMutation({
    mutationFn: (request: TrainingRequest) => api.post<{ id: string }>(userPath(userId, 'trainings'), request),
    onSuccess: invalidate,
  });
}

/** The qualification check, asked for on demand (`query` null until the first check). */
export function useQualification(userId: string, query: QualificationQuery | null) {
  return useQuery({
    queryKey: [...qualificationKey(userId), query?.modality ?? '', query?.facilityId ?? ''],
    queryFn: ({ signal }) =>
      api.get<QualificationCheck>(userPath(userId, 'qualification'), {
        query: { modality: query?.modality, facilityId: query?.facilityId },
        signal,
      }),
    enabled: query !== null,
    staleTime: 0,
  });
}
