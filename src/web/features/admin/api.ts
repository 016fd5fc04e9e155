/** Queries and changes of user administration (`/api/admin/...`). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AdminUser, CreateUserRequest, FacilitySummary, SetGrantsRequest } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
import { SESSION_KEY } from '../auth/session.ts';

const USERS_KEY = ['admin', 'users'] as const;
const FACILITIES_KEY = ['admin', 'facilities'] as const;

export function useAdminUsers() {
  return useQuery({ queryKey: USERS_KEY, queryFn: () => api.get<AdminUser[]>('/api/admin/users') });
}

export function useFacilities() {
  return useQuery({
    queryKey: FACILITIES_KEY,
    queryFn: () => api.get<FacilitySummary[]>('/api/admin/facilities'),
    staleTime: 5 * 60_000,
  });
}

const userPath = (id: string, action: string) => `/api/admin/users/${encodeURIComponent(id)}/${action}`;

export function useCreateUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: CreateUserRequest) => api.post<unknown>('/api/admin/users', request),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}

export function useSetGrants() {
  const queryClient = useQueryClient();
  return useMutation({
    // A wrong re-authentication password is an answer to show, not the end of the session.
    mutationFn: ({ id, request }: { id: string; request: SetGrantsRequest }) =>
      api.put<unknown>(userPath(id, 'grants'), request, { credentialCheck: true }),
    // The administrator may have changed their own roles: the session shows them too.
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: USERS_KEY }),
        queryClient.invalidateQueries({ queryKey: SESSION_KEY }),
      ]),
  });
}

export function useUnlockUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.post<unknown>(userPath(id, 'unlock')),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}
