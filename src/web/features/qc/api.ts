/** Reading terminals, their status and the daily visual check (`src/shared/api.ts`, Q1/Q2). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { DailyCheck, DailyCheckRequest, QcPatternInfo, ReadingTerminal, SessionTerminal, TerminalStatus } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
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
