/**
 * Times of the orders module: stored as ISO 8601 UTC, dates meant in Japan read as
 * Asia/Tokyo (ARCHITECTURE rule 7). Japan keeps no daylight saving time, so Tokyo is
 * always UTC+9.
 */

const TOKYO_OFFSET_MS = 9 * 3600 * 1000;

/** The Tokyo calendar date of an instant, as DICOM DA (YYYYMMDD). */
export function tokyoDicomDate(iso: string): string {
  const d = new Date(new Date(iso).getTime() + TOKYO_OFFSET_MS);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

/** The UTC instant at which a Tokyo date (YYYY-MM-DD) begins. */
export function tokyoDayStart(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00+09:00`)).toISOString();
}

/** Whether a YYYY-MM-DD string is a real calendar date. */
export function isCalendarDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const d = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date;
}

/**
 * Reads a time as interfaces send it, leniently (ARCHITECTURE rule 5), and returns ISO 8601
 * UTC, or undefined when it is not a time:
 * - ISO 8601 with a zone (`2025-04-01T09:30:00+09:00`, `...Z`);
 * - ISO 8601 without a zone, a date (`2025-04-01`), or HL7 DTM without a zone
 *   (`20250401`, `202504010930`, `20250401093000`): taken as Tokyo time;
 * - HL7 DTM with a zone (`20250401093000+0900`).
 */
export function readTime(value: string): string | undefined {
  const v = value.trim();
  if (!v) return undefined;
  const hl7 = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?)?([+-]\d{4})?$/.exec(v);
  if (hl7) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = hl7;
    const z = zone ? `${zone.slice(0, 3)}:${zone.slice(3)}` : '+09:00';
    return checked(`${y}-${mo}-${d}T${h}:${mi}:${s}${z}`, `${y}-${mo}-${d}`);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return checked(`${v}T00:00:00+09:00`, v);
  const iso = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  if (iso) return checked(iso[4] ? v : `${v}+09:00`, iso[1]!);
  return undefined;
}

function checked(text: string, date: string): string | undefined {
  if (!isCalendarDate(date)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Age in whole years on a day, from a DICOM birth date (YYYYMMDD); undefined when unknown. */
export function ageOn(birthDate: string, onIso: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(birthDate);
  if (!m) return undefined;
  const on = tokyoDicomDate(onIso);
  const years = Number(on.slice(0, 4)) - Number(m[1]);
  const beforeBirthday = on.slice(4) < `${m[2]}${m[3]}`;
  return years - (beforeBirthday ? 1 : 0);
}
