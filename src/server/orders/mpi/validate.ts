/**
 * Checks of patient demographics as interfaces and the web form deliver them
 * ({@link PatientInput}). Read leniently (ARCHITECTURE rule 5): HL7 administrative sex
 * codes are mapped to DICOM's, ISO dates to DICOM DA; what cannot be understood is a 400
 * naming the field.
 */
import { AppError } from '../../platform/errors.ts';
import type { PatientInput } from '../model.ts';
import { isCalendarDate } from '../time.ts';

const CONTROL = /[\u0000-\u001f\u007f]/;

function field(v: unknown, name: string, max: number, required: boolean): string {
  if (v === undefined || v === null) {
    if (required) throw new AppError('bad_request', `${name} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new AppError('bad_request', `${name} must be a string`);
  const t = v.trim();
  if (required && !t) throw new AppError('bad_request', `${name} is required`);
  if (t.length > max) throw new AppError('bad_request', `${name} must be at most ${max} characters`);
  if (CONTROL.test(t)) throw new AppError('bad_request', `${name} must not contain control characters`);
  return t;
}

/** DICOM sex (M, F, O or '') from DICOM or HL7 v2 table 0001 codes (U unknown → '', A/N → O). */
function sexOf(v: unknown, name: string): string {
  const s = field(v, name, 1, false).toUpperCase();
  if (s === '' || s === 'M' || s === 'F' || s === 'O') return s;
  if (s === 'U') return '';
  if (s === 'A' || s === 'N') return 'O';
  throw new AppError('bad_request', `${name} must be M, F, O or empty (HL7 U, A and N are accepted)`);
}

/** DICOM DA (YYYYMMDD) or '' from YYYYMMDD or YYYY-MM-DD. */
function birthDateOf(v: unknown, name: string): string {
  const s = field(v, name, 10, false);
  if (!s) return '';
  const iso = /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s;
  if (!isCalendarDate(iso)) throw new AppError('bad_request', `${name} must be a date (YYYYMMDD or YYYY-MM-DD)`);
  return iso.replace(/-/g, '');
}

/**
 * A checked, normalised copy of patient demographics.
 * @param prefix - how the fields are named in error messages (`patient`)
 * @throws AppError bad_request naming the field at fault
 */
export function validatePatient(p: unknown, prefix = 'patient'): PatientInput {
  if (!p || typeof p !== 'object') throw new AppError('bad_request', `${prefix} is required`);
  const x = p as Record<string, unknown>;
  const name = (x.name ?? {}) as Record<string, unknown>;
  if (typeof name !== 'object') throw new AppError('bad_request', `${prefix}.name must be an object`);
  return {
    patientId: field(x.patientId, `${prefix}.patientId`, 64, true),
    issuer: field(x.issuer, `${prefix}.issuer`, 64, false),
    name: {
      alphabetic: field(name.alphabetic, `${prefix}.name.alphabetic`, 200, false),
      ideographic: field(name.ideographic, `${prefix}.name.ideographic`, 200, false),
      phonetic: field(name.phonetic, `${prefix}.name.phonetic`, 200, false),
    },
    sex: sexOf(x.sex, `${prefix}.sex`),
    birthDate: birthDateOf(x.birthDate, `${prefix}.birthDate`),
  };
}
