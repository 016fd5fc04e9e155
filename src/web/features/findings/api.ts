/**
 * Queries and changes of the findings module (`/api/findings/...`, contract in
 * `src/shared/findings.ts`). Every change refreshes the cached findings lists, the study's
 * findings under the report editor and the management figures.
 */
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { CancelFindingRequest, FindingListStatus, FindingStats, FindingView, FollowUpRequest, PhoneContactRequest, RaiseFindingRequest } from '../../../shared/findings.ts';
import { api } from '../../api/client.ts';

const enc = (v: string) => encodeURIComponent(v);

/** The root of every findings query key (one invalidation refreshes them all). */
export const FINDINGS_KEY = ['findings'] as const;

/**
 * Filters of `GET /api/findings`: `status` open (the server's default) | overdue (an open
 * notice past a deadline, or a follow-up past its due date) | all. `studyUid` keeps the
 * study's findings: sent to the server, and applied here as well.
 */
export interface FindingsFilter {
  status?: FindingListStatus;
  studyUid?: string;
  limit?: number;
}

/** Fetches the findings the user may see (`GET /api/findings`), newest first. */
export async function fetchFindings(filter: FindingsFilter, signal?: AbortSignal): Promise<FindingView[]> {
  const list = await api.get<FindingView[]>('/api/findings', { query: { status: filter.status, studyUid: filter.studyUid, limit: filter.limit }, signal });
  return filter.studyUid ? list.filter((f) => f.studyUid === filter.studyUid) : list;
}

/** The findings the user may see, filtered. */
export function useFindings(filter: FindingsFilter, options: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: [...FINDINGS_KEY, 'list', filter] as const,
    queryFn: ({ signal }) => fetchFindings(filter, signal),
    enabled: options.enabled ?? true,
    staleTime: 10_000,
  });
}

/** One finding with its recipients, phone contacts, follow-up and history. */
export function useFinding(id: string | null) {
  return useQuery({
    queryKey: [...FINDINGS_KEY, 'one', id] as const,
    queryFn: ({ signal }) => api.get<FindingView>(`/api/findings/${enc(id!)}`, { signal }),
    enabled: id !== null,
    staleTime: 10_000,
  });
}

/** The management figures (L3). */
export function useFindingStats(enabled = true) {
  return useQuery({
    queryKey: [...FINDINGS_KEY, 'stats'] as const,
    queryFn: ({ signal }) => api.get<FindingStats>('/api/findings/stats', { signal }),
    enabled,
  });
}

/** The page of one finding (the outside prompts link to the same path): `/findings/<id>`. */
export function findingPath(id: string): string {
  return `/findings/${encodeURIComponent(id)}`;
}

/** Refreshes every cached findings query (after a change or a live event). */
export function refreshFindings(queryClient: QueryClient): Promise<void> {
  return queryClient.invalidateQueries({ queryKey: FINDINGS_KEY });
}

function useFindingMutation<V>(mutationFn: (vars: V) => Promise<FindingView>, mutationKey?: readonly unknown[], after?: (finding: FindingView) => void) {
  const qc = useQueryClient();
  return useMutation({
    mutationKey,
    mutationFn,
    onSuccess: (finding) => {
      after?.(finding);
      qc.setQueryData([...FINDINGS_KEY, 'one', finding.id], finding);
      return refreshFindings(qc);
    },
  });
}

/** The key of the raise mutation (the alert waits while one is running: see {@link raisedHere}). */
export const RAISE_KEY = [...FINDINGS_KEY, 'raise'] as const;

const raisedOnThisScreen = new Set<string>();

/**
 * Whether this screen raised the finding: the server also sends the reader the `raised`
 * alert of their own finding (it may reach the screen before the answer to the POST), and
 * the reader needs no alert for what they have just sent.
 */
export function raisedHere(findingId: string): boolean {
  return raisedOnThisScreen.has(findingId);
}

/** Raises a finding on a study (`POST /api/findings`). */
export function useRaiseFinding() {
  return useFindingMutation((body: RaiseFindingRequest) => api.post<FindingView>('/api/findings', body), RAISE_KEY, (f) => raisedOnThisScreen.add(f.id));
}

/** Acknowledges a notice in Enkaku (closes the loop, C2). */
export function useAcknowledge() {
  return useFindingMutation((id: string) => api.post<FindingView>(`/api/findings/${enc(id)}/acknowledge`, {}));
}

/** Logs a telephone contact (C1). */
export function usePhoneContact() {
  return useFindingMutation(({ id, body }: { id: string; body: PhoneContactRequest }) => api.post<FindingView>(`/api/findings/${enc(id)}/phone`, body));
}

/** Records the follow-up action of an incidental finding (C3). */
export function useFollowUp() {
  return useFindingMutation(({ id, body }: { id: string; body: FollowUpRequest }) => api.post<FindingView>(`/api/findings/${enc(id)}/follow-up`, body));
}

/** Withdraws a notice with a reason (the reader who raised it, or the management physician). */
export function useCancelFinding() {
  return useFindingMutation(({ id, body }: { id: string; body: CancelFindingRequest }) => api.post<FindingView>(`/api/findings/${enc(id)}/cancel`, body));
}
