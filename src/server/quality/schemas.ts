/**
 * Validation of the request bodies of the QC routes (contract: src/shared/api.ts). Bodies
 * are read strictly (ARCHITECTURE rule 5: write strictly): unknown item names, impossible
 * luminances and malformed dates are refused with 400 and a message naming the field.
 */
import {
  DAILY_CHECK_ITEMS,
  DISPLAY_PROFILES,
  JESRA_GRADES,
  QC_PATTERNS,
  type ConstancyRequest,
  type DailyCheckItem,
  type DailyCheckRequest,
  type DisplayNativeResponse,
  type DisplayProfileKind,
  type JesraGradeName,
  type QcPatternName,
} from '../../shared/api.ts';
import { AppError } from '../platform/errors.ts';
import { isDate } from './schedule.ts';

/** Largest luminance accepted anywhere, cd/m² (above the GSDF's 3993 cd/m², below nonsense). */
const MAX_LUMINANCE = 10_000;

function bad(message: string): never {
  throw new AppError('bad_request', message);
}

function body(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad('a JSON object is required');
  return v as Record<string, unknown>;
}

function text(v: unknown, name: string, max: number, required = true): string {
  if (typeof v !== 'string') bad(`${name} must be text`);
  const t = v.trim();
  if (required && t === '') bad(`${name} is required`);
  if (t.length > max) bad(`${name} is longer than ${max} characters`);
  return t;
}

function luminance(v: unknown, name: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${name} must be a number (cd/m²)`);
  if (allowZero ? v < 0 : v <= 0) bad(`${name} must be ${allowZero ? '0 or more' : 'above 0'} cd/m²`);
  if (v > MAX_LUMINANCE) bad(`${name} above ${MAX_LUMINANCE} cd/m² is not a display luminance`);
  return v;
}

function oneOf<T extends string>(v: unknown, name: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) bad(`${name} must be one of ${values.join(', ')}`);
  return v as T;
}

function date(v: unknown, name: string, today: string): string {
  if (typeof v !== 'string' || !isDate(v)) bad(`${name} must be a date YYYY-MM-DD`);
  if (v > today) bad(`${name} lies in the future`);
  return v;
}

/** A display's native response: a gamma from 1 to 4, or 2 to 256 measured points. */
export function nativeResponse(v: unknown): DisplayNativeResponse {
  const b = body(v);
  if (b.kind === 'gamma') {
    if (typeof b.gamma !== 'number' || !Number.isFinite(b.gamma) || b.gamma < 1 || b.gamma > 4) bad('native.gamma must be a number from 1 to 4');
    return { kind: 'gamma', gamma: b.gamma };
  }
  if (b.kind === 'measured') {
    const { ddl, luminance: lum } = b;
    if (!Array.isArray(ddl) || !Array.isArray(lum) || ddl.length !== lum.length || ddl.length < 2 || ddl.length > 256) {
      bad('native.ddl and native.luminance must be lists of equal length, 2 to 256 points');
    }
    if (!ddl.every((d) => Number.isInteger(d))) bad('native.ddl must hold whole numbers');
    return { kind: 'measured', ddl: ddl as number[], luminance: lum.map((l, i) => luminance(l, `native.luminance[${i}]`)) };
  }
  return bad("native.kind must be 'gamma' or 'measured'");
}

/** The fields of a terminal after validation (defaults applied for a new one). */
export interface TerminalFields {
  name: string;
  location: string;
  displayModel: string;
  displaySerial: string;
  grade: JesraGradeName;
  lmax: number;
  lmin: number;
  lamb: number;
  acceptanceTestedOn: string;
  native: DisplayNativeResponse;
  facilityId: string | null;
  requireDailyCheck: boolean;
  profile: DisplayProfileKind;
  constancyIntervalMonths: number;
  active: boolean;
}

/**
 * Validates `POST /api/terminals` (every field but the optional ones) or `PUT
 * /api/terminals/:id` (any subset, merged over `current`).
 * @throws AppError bad_request naming the first bad field
 */
export function terminalFields(input: unknown, today: string, current?: TerminalFields): TerminalFields {
  const b = body(input);
  const has = (k: string): boolean => b[k] !== undefined;
  const need = (k: string): boolean => has(k) || !current;
  const out: TerminalFields = current
    ? { ...current }
    : ({ native: { kind: 'gamma', gamma: 2.2 }, facilityId: null, requireDailyCheck: false, profile: 'gsdf', constancyIntervalMonths: 6, active: true } as TerminalFields);
  if (need('name')) out.name = text(b.name, 'name', 100);
  if (need('location')) out.location = text(b.location ?? '', 'location', 200, false);
  if (need('displayModel')) out.displayModel = text(b.displayModel, 'displayModel', 100);
  if (need('displaySerial')) out.displaySerial = text(b.displaySerial, 'displaySerial', 100);
  if (need('grade')) out.grade = oneOf(b.grade, 'grade', JESRA_GRADES);
  if (need('lmax')) out.lmax = luminance(b.lmax, 'lmax');
  if (need('lmin')) out.lmin = luminance(b.lmin, 'lmin');
  if (need('lamb')) out.lamb = luminance(b.lamb, 'lamb', true);
  if (need('acceptanceTestedOn')) out.acceptanceTestedOn = date(b.acceptanceTestedOn, 'acceptanceTestedOn', today);
  if (has('native')) out.native = nativeResponse(b.native);
  if (has('facilityId')) {
    if (b.facilityId !== null && typeof b.facilityId !== 'string') bad('facilityId must be a facility id or null (the reading provider)');
    out.facilityId = (b.facilityId as string | null) || null;
  }
  if (has('requireDailyCheck')) {
    if (typeof b.requireDailyCheck !== 'boolean') bad('requireDailyCheck must be true or false');
    out.requireDailyCheck = b.requireDailyCheck;
  }
  if (has('profile')) out.profile = oneOf(b.profile, 'profile', DISPLAY_PROFILES);
  if (has('constancyIntervalMonths')) {
    const m = b.constancyIntervalMonths;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 12) bad('constancyIntervalMonths must be a whole number from 1 to 12');
    out.constancyIntervalMonths = m;
  }
  if (has('active')) {
    if (!current) bad('active can only be changed on an existing terminal');
    if (typeof b.active !== 'boolean') bad('active must be true or false');
    out.active = b.active;
  }
  if (out.lmax <= out.lmin) bad(`lmax (${out.lmax}) must be greater than lmin (${out.lmin})`);
  return out;
}

/**
 * Validates `POST /api/terminals/:id/daily-checks`: the pattern and every item, OK or not.
 * @throws AppError bad_request
 */
export function dailyCheckRequest(input: unknown): Required<DailyCheckRequest> {
  const b = body(input);
  const pattern: QcPatternName = oneOf(b.pattern, 'pattern', QC_PATTERNS);
  const items = body(b.items);
  const unknown = Object.keys(items).filter((k) => !(DAILY_CHECK_ITEMS as readonly string[]).includes(k));
  if (unknown.length) bad(`unknown check items: ${unknown.join(', ')}; the items are ${DAILY_CHECK_ITEMS.join(', ')}`);
  const out = {} as Record<DailyCheckItem, boolean>;
  for (const item of DAILY_CHECK_ITEMS) {
    if (typeof items[item] !== 'boolean') bad(`items.${item} must be true (seen OK) or false`);
    out[item] = items[item];
  }
  return { pattern, items: out, note: b.note === undefined ? '' : text(b.note, 'note', 1000, false) };
}

/**
 * Validates `POST /api/terminals/:id/constancy` (the judgement itself is the service's).
 * @throws AppError bad_request
 */
export function constancyRequest(input: unknown, today: string): Required<ConstancyRequest> {
  const b = body(input);
  if (!Array.isArray(b.readings) || b.readings.length < 3 || b.readings.length > 64) bad('readings must be a list of 3 to 64 { ddl, luminance } (TG18-LN uses 18)');
  const readings = b.readings.map((r: unknown, i: number) => {
    const x = body(r);
    if (typeof x.ddl !== 'number' || !Number.isInteger(x.ddl) || x.ddl < 0 || x.ddl > 4095) bad(`readings[${i}].ddl must be a whole driving level 0..4095`);
    return { ddl: x.ddl, luminance: luminance(x.luminance, `readings[${i}].luminance`) };
  });
  return {
    lmax: luminance(b.lmax, 'lmax'),
    lmin: luminance(b.lmin, 'lmin'),
    lamb: luminance(b.lamb, 'lamb', true),
    readings,
    testedOn: b.testedOn === undefined ? today : date(b.testedOn, 'testedOn', today),
    note: b.note === undefined ? '' : text(b.note, 'note', 1000, false),
  };
}
