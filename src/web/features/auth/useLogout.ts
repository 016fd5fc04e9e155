import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../../api/client.ts';
import { setFlash } from '../../app/flash.ts';
import { navigate } from '../../app/router.tsx';
import { forgetSession } from './session.ts';

/**
 * Logs out (`POST /api/auth/logout`) and forgets everything fetched under the session.
 * If the server cannot be reached, the user stays logged in and sees why: clearing only
 * the browser's side would leave a live session behind.
 */
export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      try {
        await api.post<unknown>('/api/auth/logout', {}, { credentialCheck: true });
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return; // already logged out
        throw error;
      }
    },
    onSuccess: () => {
      setFlash('loggedOut');
      forgetSession(queryClient);
      navigate('/login', { replace: true });
    },
  });
}
