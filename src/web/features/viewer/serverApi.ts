/**
 * The viewer's calls to the JSON API (`src/shared/api.ts`): viewing sessions, measurements
 * computed on the server from the original pixels, key images, and the reading terminal of
 * the session. A server without one of these routes answers 404; the viewer then shows the
 * images without that function and says so.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  KeyImage,
  KeyImageRequest,
  MeasurementRequest,
  MeasurementResult,
  SessionTerminal,
  ViewerSession,
} from '../../../shared/api.ts';
import { ApiError, api, currentCsrfToken } from '../../api/client.ts';

const enc = encodeURIComponent;

/** Whether an error means "this server has no such route (yet)". */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405 || error.status === 501);
}

/** Opens a viewing session (audited `study.view`); 423 when reading is blocked at the terminal. */
export function openViewerSession(studyUid: string): Promise<ViewerSession> {
  return api.post<ViewerSession>('/api/viewer/sessions', { studyUid });
}

/**
 * Ends a viewing session. Sent with `keepalive` so that it also leaves when the page is
 * being closed.
 */
export function endViewerSession(id: string): void {
  const csrfToken = currentCsrfToken();
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (csrfToken) headers['x-csrf-token'] = csrfToken;
  void fetch(`/api/viewer/sessions/${enc(id)}/end`, { method: 'POST', headers, body: '{}', credentials: 'same-origin', cache: 'no-store', keepalive: true }).catch(() => undefined);
}

export function measure(request: MeasurementRequest): Promise<MeasurementResult> {
  return api.post<MeasurementResult>('/api/measurements', request);
}

export function keyImagesKey(studyUid: string) {
  return ['key-images', studyUid] as const;
}

export function useKeyImages(studyUid: string, enabled = true) {
  return useQuery({
    enabled,
    queryKey: keyImagesKey(studyUid),
    queryFn: async ({ signal }) => {
      try {
        return { available: true, images: await api.get<KeyImage[]>(`/api/studies/${enc(studyUid)}/key-images`, { signal }) };
      } catch (error) {
        if (isMissingRoute(error)) return { available: false, images: [] as KeyImage[] };
        throw error;
      }
    },
  });
}

export function useToggleKeyImage(studyUid: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (input: { existing: KeyImage | undefined; request: KeyImageRequest }) => {
      if (input.existing) await api.delete(`/api/studies/${enc(studyUid)}/key-images/${enc(input.existing.id)}`);
      else await api.post<KeyImage>(`/api/studies/${enc(studyUid)}/key-images`, input.request);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: keyImagesKey(studyUid) }),
  });
}

export const SESSION_TERMINAL_KEY = ['me', 'terminal'] as const;

/** The reading terminal bound to this session and its display profile (null when the server has no terminals yet). */
export function useSessionTerminal() {
  return useQuery({
    queryKey: SESSION_TERMINAL_KEY,
    queryFn: async ({ signal }) => {
      try {
        return await api.get<SessionTerminal>('/api/me/terminal', { signal });
      } catch (error) {
        if (isMissingRoute(error)) return null;
        throw error;
      }
    },
  });
}
