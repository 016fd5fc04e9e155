/**
 * Validation of the reporting requests: anything malformed is refused with a message that
 * says which field is wrong (400), and nothing is written.
 */
import { ASSESSMENTS, type Assessment, type ReaderLocationView } from '../../shared/reports.ts';
import { AppError } from '../platform/errors.ts';
import { SECTION_KEYS, type ReportSections } from './document.ts';

const LOCATIONS: readonly ReaderLocationView[] = ['on-site', 'home', 'other'];
/** A report section is long prose but bounded (a whole report stays under a megabyte). */
const SECTION_MAX = 20_000;

const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new AppError('bad_request', `${what} must be an object`);
  return v as Record<string, unknown>;
};

/** A string field, trimmed of nothing (report text keeps its white space). */
export function text(v: unknown, field: string, max: number, required = false): string {
  if (v === undefined || v === null) {
    if (required) throw new AppError('bad_request', `${field} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new AppError('bad_request', `${field} must be a string`);
  if (v.length > max) throw new AppError('bad_request', `${field} is longer than ${max} characters`);
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(v)) throw new AppError('bad_request', `${field} contains control characters`);
  if (required && !v.trim()) throw new AppError('bad_request', `${field} is required`);
  return v;
}

export function sections(v: unknown): ReportSections {
  const o = obj(v, 'sections');
  const out = {} as ReportSections;
  for (const k of SECTION_KEYS) out[k] = text(o[k], `sections.${k}`, SECTION_MAX).replace(/\r\n?/g, '\n');
  return out;
}

export function revision(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new AppError('bad_request', 'revision must be the non-negative integer of the draft being saved');
  return v;
}

export function location(v: unknown, required: boolean): ReaderLocationView | null {
  if (v === undefined || v === null) {
    if (required) throw new AppError('bad_request', `location is required: one of ${LOCATIONS.join(', ')}`);
    return null;
  }
  if (!LOCATIONS.includes(v as ReaderLocationView)) throw new AppError('bad_request', `location must be one of ${LOCATIONS.join(', ')}`);
  return v as ReaderLocationView;
}

export function assessment(v: unknown): Assessment | null {
  if (v === undefined || v === null) return null;
  if (!ASSESSMENTS.includes(v as Assessment)) throw new AppError('bad_request', `assessment must be one of ${ASSESSMENTS.join(', ')}`);
  return v as Assessment;
}

export function totp(v: unknown): string {
  if (typeof v !== 'string' || !/^\s*\d{6}\s*$/.test(v)) throw new AppError('bad_request', 'totp must be the 6-digit code of your authenticator app');
  return v.trim();
}

export function body(v: unknown): Record<string, unknown> {
  return obj(v ?? {}, 'the request body');
}
