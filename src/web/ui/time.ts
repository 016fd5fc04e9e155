/**
 * Times: the server sends UTC ISO strings; the application shows them in Japan time
 * (ARCHITECTURE rule 7), whatever the terminal's own time zone.
 */

export const TIME_ZONE = 'Asia/Tokyo';

const parts = new Intl.DateTimeFormat('en-US', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** `2025/11/25 21:34:05` (Japanese) or `2025-11-25 21:34:05` (English), in Japan time. */
export function formatDateTime(iso: string, language: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const p: Record<string, string> = {};
  for (const part of parts.formatToParts(date)) p[part.type] = part.value;
  const sep = language === 'ja' ? '/' : '-';
  return `${p['year']}${sep}${p['month']}${sep}${p['day']} ${p['hour']}:${p['minute']}:${p['second']}`;
}

/** Today's date in Japan as `YYYY-MM-DD`. */
export function tokyoToday(now: Date = new Date()): string {
  const p: Record<string, string> = {};
  for (const part of parts.formatToParts(now)) p[part.type] = part.value;
  return `${p['year']}-${p['month']}-${p['day']}`;
}

/** The first instant (UTC ISO) of a Japanese calendar day `YYYY-MM-DD`. */
export function tokyoDayStart(day: string): string {
  return new Date(`${day}T00:00:00.000+09:00`).toISOString();
}

/** The last millisecond (UTC ISO) of a Japanese calendar day `YYYY-MM-DD`. */
export function tokyoDayEnd(day: string): string {
  return new Date(`${day}T23:59:59.999+09:00`).toISOString();
}

/** Whether `value` is a valid `YYYY-MM-DD` date. */
export function isIsoDay(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(new Date(`${value}T00:00:00Z`).getTime());
}

/** A calendar day `YYYY-MM-DD` as shown: `2025/11/25` (Japanese) or `2025-11-25` (English). */
export function formatDay(day: string, language: string): string {
  return language === 'ja' && isIsoDay(day) ? day.replaceAll('-', '/') : day;
}
