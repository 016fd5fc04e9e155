/**
 * Structured logging. Log lines carry identifiers (UIDs, AE titles, facility ids, sizes,
 * status codes) and never PHI: no patient names, IDs, birth dates or free text from
 * received objects. The redaction list below is a safety net for accidental fields.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Field names that must never reach a log line. */
export const REDACTED_FIELDS = [
  'patientName',
  'patientId',
  'birthDate',
  'password',
  'authorization',
  'cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** Creates the process logger (JSON lines on stdout). */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' }, base: { svc: 'enkaku' } });
}
