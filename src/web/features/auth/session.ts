/**
 * The logged-in session as the application knows it: `GET /api/session`, cached by
 * TanStack Query under {@link SESSION_KEY} (`null` when nobody is logged in). The CSRF
 * token travels from here to the API client, in memory only.
 */
import { useQuery, type QueryClient } from '@tanstack/react-query';
import type { SessionInfo, SessionUser, SetupStatus } from '../../../shared/api.ts';
import { api, ApiError, setCsrfToken } from '../../api/client.ts';

export const SESSION_KEY = ['session'] as const;
export const SETUP_KEY = ['setup'] as const;

/** Reads the session; `null` when the server says nobody is logged in. */
export async function fetchSession(): Promise<SessionInfo | null> {
  try {
    const session = await api.get<SessionInfo>('/api/session', { credentialCheck: true });
    setCsrfToken(session.csrfToken);
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw error;
  }
}

/** The session query (`data` is `null` when logged out). */
export function useSession() {
  return useQuery({ queryKey: SESSION_KEY, queryFn: fetchSession, staleTime: 60_000 });
}

/** Whether the first administrator still has to be created (`GET /api/setup`). */
export function useSetupStatus() {
  return useQuery({
    queryKey: SETUP_KEY,
    queryFn: () => api.get<SetupStatus>('/api/setup'),
    staleTime: Infinity,
  });
}

/**
 * The logged-in user. Only for pages that the session guard renders for a logged-in user.
 */
export function useSessionUser(): SessionUser {
  const { data } = useSession();
  if (!data) throw new Error('useSessionUser() outside a logged-in page');
  return data.user;
}

/** Stores a session received from the login, MFA or setup answers. */
export function storeSession(queryClient: QueryClient, session: SessionInfo): void {
  setCsrfToken(session.csrfToken);
  queryClient.setQueryData(SESSION_KEY, session);
}

/**
 * Forgets the session and every piece of data fetched under it, so that nothing of the
 * previous user stays in memory.
 */
export function forgetSession(queryClient: QueryClient): void {
  setCsrfToken(null);
  queryClient.cancelQueries({ predicate: (query) => !isPublicQuery(query.queryKey) }).catch(() => undefined);
  queryClient.removeQueries({ predicate: (query) => !isPublicQuery(query.queryKey) });
  queryClient.setQueryData(SESSION_KEY, null);
}

function isPublicQuery(key: readonly unknown[]): boolean {
  return key[0] === SESSION_KEY[0] || key[0] === SETUP_KEY[0];
}
