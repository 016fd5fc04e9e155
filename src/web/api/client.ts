/**
 * The one way the web application talks to the server (`/api/...`, contract in
 * `src/shared/api.ts`).
 *
 * - The session is an HttpOnly cookie the browser sends by itself; the CSRF token of the
 *   session is kept in this module's memory only (never in localStorage or IndexedDB) and
 *   sent as `x-csrf-token` on every request that is not a GET.
 * - Answers are never cached by the browser (`cache: 'no-store'`): the reading terminal
 *   keeps no medical data (REQUIREMENTS S6).
 * - A 401 means the session has ended: the registered handler sends the user to the login
 *   page. Requests that check a password (login, MFA, re-authentication) opt out with
 *   `credentialCheck`, because for them a 401 may just mean "wrong password".
 * - Errors become {@link ApiError} (the server's `{ error, message }`) or
 *   {@link NetworkError}; `ui/ErrorAlert.tsx` turns both into words for the user.
 */

/** The error body of every `/api` route: `{ error: code, message }`. */
export interface ApiErrorBody {
  error: string;
  message: string;
}

/** The server answered with an error status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status: 400, 401, 403, 404, 409, 423, 429, 5xx. */
    readonly status: number,
    /** The server's machine-readable code (`error`), or `http-<status>` when it sent none. */
    readonly code: string,
    /** The server's explanation, shown to the user as a detail. */
    message: string,
  ) {
    super(message);
  }
}

/** The server could not be reached (offline, server stopped, proxy error page). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

let csrfToken: string | null = null;

/** Remembers (in memory only) the CSRF token of the current session, or forgets it. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The CSRF token of the current session (for requests sent outside this client, e.g. with `keepalive`). */
export function currentCsrfToken(): string | null {
  return csrfToken;
}

/** Tells the application that the server said the session has ended (a 401 outside {@link apiRequest}). */
export function reportUnauthorized(): void {
  unauthorizedHandler?.();
}

let unauthorizedHandler: (() => void) | null = null;

/** Registers what happens when the server says the session has ended (401). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

let csrfRefresher: (() => Promise<string | null>) | null = null;

/**
 * Registers how a fresh CSRF token is fetched when the server refuses a stale one (the
 * session was rotated, e.g. after a password change). Set by the session module.
 */
export function setCsrfRefresher(refresh: (() => Promise<string | null>) | null): void {
  csrfRefresher = refresh;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  /** JSON body. */
  body?: unknown;
  /** Query parameters; `undefined` and empty strings are left out. */
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /**
   * The request checks a password or code: a 401 is an answer to show, not the end of
   * the session.
   */
  credentialCheck?: boolean;
  /** Media type asked for (default `application/json`; DICOMweb answers `application/dicom+json`). */
  accept?: string;
}

/** Builds `/api/...?a=b` from a path and query parameters. */
export function apiUrl(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function looksLikeCsrfRefusal(error: ApiError): boolean {
  return error.status === 403 && /csrf/i.test(error.code);
}

async function send(method: Method, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  try {
    return await fetch(apiUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new NetworkError('The server could not be reached.', { cause });
  }
}

async function readError(response: Response): Promise<ApiError> {
  let code = `http-${response.status}`;
  let message = '';
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      const body = (await response.json()) as Partial<ApiErrorBody> | null;
      if (body && typeof body.error === 'string' && body.error) code = body.error;
      if (body && typeof body.message === 'string') message = body.message;
    } catch {
      // An unreadable body: the status alone tells what happened.
    }
  }
  return new ApiError(response.status, code, message);
}

/**
 * Sends one request to the API and returns the parsed JSON answer (`undefined` for an
 * empty answer such as 204).
 */
export async function apiRequest<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  let response = await send(method, path, options);
  if (!response.ok) {
    let error = await readError(response);
    if (looksLikeCsrfRefusal(error) && method !== 'GET' && csrfRefresher) {
      // One retry with a fresh token; a second refusal is reported as it is.
      const fresh = await csrfRefresher();
      if (fresh) {
        response = await send(method, path, options);
        if (response.ok) return parseBody<T>(response);
        error = await readError(response);
      }
    }
    if (error.status === 401 && !options.credentialCheck) unauthorizedHandler?.();
    throw error;
  }
  return parseBody<T>(response);
}

async function parseBody<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (!text) return undefined as T;
  if (!(response.headers.get('content-type') ?? '').includes('json')) {
    // An HTML page where JSON was expected: a proxy or a missing route, not our API.
    throw new ApiError(response.status, 'unexpected-response', '');
  }
  return JSON.parse(text) as T;
}

/** Shorthands for {@link apiRequest}. */
export const api = {
  get: <T>(path: string, options?: RequestOptions): Promise<T> => apiRequest<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> =>
    apiRequest<T>('POST', path, { ...options, body: body ?? {} }),
  put: <T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> =>
    apiRequest<T>('PUT', path, { ...options, body: body ?? {} }),
  delete: <T>(path: string, options?: RequestOptions): Promise<T> => apiRequest<T>('DELETE', path, options),
};

/** `true` for errors that retrying cannot fix (every 4xx answer). */
export function isClientError(error: unknown): boolean {
  return error instanceof ApiError && error.status >= 400 && error.status < 500;
}
