/**
 * Passkeys (WebAuthn) as a second factor instead of the authenticator app's code
 * (contract in `src/shared/api.ts`). The browser's WebAuthn ceremony runs through
 * `@simplewebauthn/browser`; nothing of it is kept outside memory.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import type { TFunction } from 'i18next';
import type { LoginResponse, PasskeySummary } from '../../../shared/api.ts';
import { api, ApiError, NetworkError } from '../../api/client.ts';

export const PASSKEYS_KEY = ['me', 'passkeys'] as const;

/** The server keeps at most this many characters of a passkey's name. */
export const MAX_PASSKEY_NAME_LENGTH = 60;

/** Whether this browser can use passkeys at all (WebAuthn API present, secure context). */
export function passkeysSupported(): boolean {
  try {
    return browserSupportsWebAuthn() && window.isSecureContext;
  } catch {
    return false;
  }
}

/** `GET /api/me/passkeys`. */
export function usePasskeys() {
  return useQuery({
    queryKey: PASSKEYS_KEY,
    queryFn: ({ signal }) => api.get<PasskeySummary[]>('/api/me/passkeys', { signal }),
  });
}

/** Options from the server, the authenticator's answer, then the server's verification. */
export function useRegisterPasskey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (name: string) => {
      const optionsJSON = await api.post<PublicKeyCredentialCreationOptionsJSON>('/api/me/passkeys/options');
      const response = await startRegistration({ optionsJSON });
      return api.post<{ id: string }>('/api/me/passkeys', { name, response });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: PASSKEYS_KEY }),
  });
}

/** `DELETE /api/me/passkeys/:id`. */
export function useDeletePasskey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete<unknown>(`/api/me/passkeys/${encodeURIComponent(id)}`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: PASSKEYS_KEY }),
  });
}

/**
 * A failure of the login step before the authenticator was asked: the login itself has
 * expired (401 on the options), as opposed to a passkey the server did not accept.
 */
export class PasskeyLoginExpired extends Error {
  override readonly name = 'PasskeyLoginExpired';
}

/** The second login step with a passkey; answers like `POST /api/auth/mfa`. */
export async function loginWithPasskey(): Promise<LoginResponse> {
  let optionsJSON: PublicKeyCredentialRequestOptionsJSON;
  try {
    optionsJSON = await api.post<PublicKeyCredentialRequestOptionsJSON>('/api/auth/passkey/options', undefined, { credentialCheck: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw new PasskeyLoginExpired(error.message);
    throw error;
  }
  const response = await startAuthentication({ optionsJSON });
  return api.post<LoginResponse>('/api/auth/passkey', { response }, { credentialCheck: true });
}

/** DOMException names of the WebAuthn ceremony (kept by `@simplewebauthn/browser`'s WebAuthnError). */
const CEREMONY_ERRORS = {
  NotAllowedError: 'passkeys.errors.notAllowed',
  AbortError: 'passkeys.errors.notAllowed',
  InvalidStateError: 'passkeys.errors.invalidState',
  SecurityError: 'passkeys.errors.security',
  NotSupportedError: 'passkeys.errors.notSupported',
  ConstraintError: 'passkeys.errors.notSupported',
} as const;

/**
 * Words for a failure of the browser's passkey ceremony (cancelled, timed out, key
 * already registered...), or `null` when the error came from the server or the network.
 */
export function describeCeremonyError(t: TFunction, error: unknown): { title: string; detail: string } | null {
  if (!error || error instanceof ApiError || error instanceof NetworkError) return null;
  if (error instanceof Error) {
    const key = (CEREMONY_ERRORS as Record<string, (typeof CEREMONY_ERRORS)[keyof typeof CEREMONY_ERRORS] | undefined>)[error.name];
    if (key) return { title: t(key), detail: error.name };
    if (/not supported/i.test(error.message)) return { title: t('passkeys.errors.unsupported'), detail: '' };
    return { title: t('passkeys.errors.unknown'), detail: error.message };
  }
  return { title: t('passkeys.errors.unknown'), detail: '' };
}
