/**
 * Reading terminals, their status, the daily visual check, registration and constancy tests
 * (`src/shared/api.ts`, Q1/Q2).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  ConstancyRequest,
  ConstancyResult,
  DailyCheck,
  DailyCheckRequest,
  FacilitySummary,
  QcPatternInfo,
  ReadingTerminal,
  SessionTerminal,
  TerminalInput,
  TerminalStatus,
} from '../../../shared/api.ts';
import { api, ApiError } from '../../api/client.ts';
import { isMissingRoute, SESSION_TERMINAL_KEY } from '../viewer/serverApi.ts';

const enc = encodeURIComponent;

export function useTerminals() {
  return useQuery({
    queryKey: ['terminals'],
    queryFn: async ({ signal }) => {
      try {
        return await api.get<ReadingTerminal[]>('/api/terminals', { signal });
      } catch (error) {
        if (isMissingRoute(error)) return null;
        throw error;
      }
    },
  });
}

export function useTerminalStatus(id: string | null | undefined) {
  return useQuery({
    queryKey: ['terminals', id, 'status'],
    queryFn: ({ signal }) => api.get<TerminalStatus>(`/api/terminals/${enc(id!)}/status`, { signal }),
    enabled: !!id,
  });
}

export function usePatterns() {
  return useQuery({
    queryKey: ['qc', 'patterns'],
    queryFn: async ({ signal }) => {
      try {
        return await api.get<QcPatternInfo[]>('/api/qc/patterns', { signal });
      } catch (error) {
        if (isMissingRoute(error)) return null;
        throw error;
      }
    },
    staleTime: Infinity,
  });
}

export function useBindTerminal() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (terminalId: string | null) => api.put<SessionTerminal>('/api/me/terminal', { terminalId }),
    onSuccess: (data) => {
      queryClient.setQueryData(SESSION_TERMINAL_KEY, data);
      void queryClient.invalidateQueries({ queryKey: ['terminals'] });
    },
  });
}

export function useRecordDailyCheck(terminalId: string | null | undefined) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: DailyCheckRequest) => api.post<DailyCheck>(`/api/terminals/${enc(terminalId!)}/daily-checks`, request),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['terminals'] });
      void queryClient.invalidateQueries({ queryKey: SESSION_TERMINAL_KEY });
    },
  });
}

/** The URL of a pattern's PNG; `calibrated` applies the session terminal's display profile. */
export function patternUrl(name: string, calibrated: boolean): string {
  return `/api/qc/patterns/${enc(name)}${calibrated ? '?calibrated=1' : ''}`;
}

/**
 * The facilities a terminal may belong to (`GET /api/admin/facilities`). Only system
 * administrators and the provider's management physician may list them; for anyone else
 * the answer is `null` and the form offers the facilities the terminals already name.
 */
export function useTerminalFacilities(enabled: boolean) {
  return useQuery({
    queryKey: ['admin', 'facilities'],
    queryFn: async ({ signal }) => {
      try {
        return await api.get<FacilitySummary[]>('/api/admin/facilities', { signal });
      } catch (error) {
        if (error instanceof ApiError && (error.status === 403 || error.status === 404)) return null;
        throw error;
      }
    },
    enabled,
    staleTime: 5 * 60_000,
  });
}

/** Registers a terminal (`POST /api/terminals`, managers only). */
export function useRegisterTerminal() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: TerminalInput) => api.post<ReadingTerminal>('/api/terminals', input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['terminals'] }),
  });
}

/** Changes a terminal, or retires / reinstates it with `{ active }` (`PUT /api/terminals/:id`). */
export function useUpdateTerminal() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: string; input: Partial<TerminalInput> }) => api.put<ReadingTerminal>(`/api/terminals/${enc(id)}`, input),
    onSuccess: () =>
      Promise.all([queryClient.invalidateQueries({ queryKey: ['terminals'] }), queryClient.invalidateQueries({ queryKey: SESSION_TERMINAL_KEY })]),
  });
}

/** The constancy tests of a terminal, newest first. */
export function useConstancyTests(terminalId: string | null) {
  return useQuery({
    queryKey: ['terminals', terminalId, 'constancy'],
    queryFn: ({ signal }) => api.get<ConstancyResult[]>(`/api/terminals/${enc(terminalId!)}/constancy?limit=20`, { signal }),
    enabled: !!terminalId,
  });
}

/** Records a constancy test; the server judges it against the terminal's grade. */
export function useRecordConstancy(terminalId: string | null) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: ConstancyRequest) => api.post<ConstancyResult>(`/api/terminals/${enc(terminalId!)}/constancy`, request),
    onSuccess: () =>
      Promise.all([queryClient.invalidateQueries({ queryKey: ['terminals'] }), queryClient.invalidateQueries({ queryKey: SESSION_TERMINAL_KEY })]),
  });
}
