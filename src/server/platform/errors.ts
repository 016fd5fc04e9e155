/**
 * The one error type of Enkaku. Services throw `AppError`; HTTP routes map the code to
 * a status with {@link httpStatusOf}; DICOMweb, FHIR and DIMSE render their own formats.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'locked'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  locked: 423,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  unavailable: 503,
  internal: 500,
};

/** An error whose message is safe to show to the client (it never contains PHI). */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** HTTP status for an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code];
}
