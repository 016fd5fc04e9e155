/**
 * Queries and changes of the worklist (`/api/worklist`, contract in src/shared/worklist.ts).
 * Pages are keyset-paginated (an infinite query: "load more"); live events patch the
 * cached rows in place (see events.ts).
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type InfiniteData, type QueryClient } from '@tanstack/react-query';
import type { WorklistEvent, WorklistFilters, WorklistItem, WorklistPage, WorklistView, WorklistViewRequest } from '../../../shared/worklist.ts';
import { api } from '../../api/client.ts';

export const WORKLIST_PAGE_SIZE = 50;
export const LIST_KEY = ['worklist', 'list'] as const;
const VIEWS_KEY = ['worklist', 'views'] as const;

/** A page as loaded, with the difference between the server's clock and this terminal's. */
export type LoadedPage = WorklistPage & { clockOffsetMs: number };

/** The query string of a set of filters (empty values left out). */
export function filtersToQuery(f: WorklistFilters): Record<string, string | undefined> {
  return {
    facilityId: f.facilityId,
    modality: f.modality?.trim().toUpperCase() || undefined,
    bodyPart: f.bodyPart?.trim() || undefined,
    priority: f.priority?.length ? f.priority.join(',') : undefined,
    status: Array.isArray(f.status) ? f.status.join(',') : f.status,
    who: f.who && f.who !== 'all' ? f.who : undefined,
    overdue: f.overdue ? 'true' : undefined,
    accession: f.accession?.trim() || undefined,
    sort: f.sort && f.sort !== 'due' ? f.sort : undefined,
  };
}

/** The worklist under `filters`, page by page. */
export function useWorklist(filters: WorklistFilters) {
  return useInfiniteQuery({
    queryKey: [...LIST_KEY, filters],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }): Promise<LoadedPage> => {
      const sent = Date.now();
      const page = await api.get<WorklistPage>('/api/worklist', { query: { ...filtersToQuery(filters), limit: WORKLIST_PAGE_SIZE, cursor: pageParam }, signal });
      const received = Date.now();
      return { ...page, clockOffsetMs: Date.parse(page.serverTime) - (sent + received) / 2 };
    },
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 0,
  });
}

type Pages = InfiniteData<LoadedPage, string | undefined>;

function mapItems(queryClient: QueryClient, fn: (item: WorklistItem) => WorklistItem): void {
  queryClient.setQueriesData<Pages>({ queryKey: LIST_KEY }, (data) =>
    data ? { ...data, pages: data.pages.map((p) => ({ ...p, items: p.items.map(fn) })) } : data,
  );
}

/** Applies a live `changed` event to the cached rows (only when it is newer than what they show). */
export function applyEvent(queryClient: QueryClient, e: Extract<WorklistEvent, { type: 'changed' }>): void {
  mapItems(queryClient, (item) => (item.id === e.id && item.version < e.version ? { ...item, ...e.changes, version: e.version } : item));
}

/** Puts an item as the server answered it into the cached rows. */
export function applyItem(queryClient: QueryClient, fresh: WorklistItem): void {
  mapItems(queryClient, (item) => (item.id === fresh.id && item.version <= fresh.version ? fresh : item));
}

function useItemAction(action: 'claim' | 'release' | 'renew') {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.post<WorklistItem>(`/api/worklist/${encodeURIComponent(id)}/${action}`),
    onSuccess: (item) => applyItem(queryClient, item),
    // Whatever happened (a claim lost to another reader, say), the list shows the truth next.
    onSettled: () => queryClient.invalidateQueries({ queryKey: LIST_KEY }),
  });
}

/** Claims a study (the reading lock). */
export const useClaim = () => useItemAction('claim');
/** Releases a claim (one's own; a management physician any). */
export const useRelease = () => useItemAction('release');

/** Renews one's claim without refreshing the list (the reader is still at work). */
export function useRenew() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.post<WorklistItem>(`/api/worklist/${encodeURIComponent(id)}/renew`),
    onSuccess: (item) => applyItem(queryClient, item),
  });
}

/** The user's saved views. */
export function useViews() {
  return useQuery({ queryKey: VIEWS_KEY, queryFn: ({ signal }) => api.get<WorklistView[]>('/api/worklist/views', { signal }) });
}

export function useSaveView() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: WorklistViewRequest) => api.post<WorklistView>('/api/worklist/views', body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: VIEWS_KEY }),
  });
}

export function useDeleteView() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete<{ ok: true }>(`/api/worklist/views/${encodeURIComponent(id)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: VIEWS_KEY }),
  });
}
