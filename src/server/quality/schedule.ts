/**
 * When monitor QC is due (Q1). The daily visual check of JESRA X-0093 (日常点検, before use on
 * each day a terminal is used; AAPM TG18 OR-03 §5 daily checks with TG18-QC) counts per
 * calendar day in Asia/Tokyo (ARCHITECTURE: store UTC, show Asia/Tokyo): a check made at
 * 23:59 JST is overdue one minute later. Constancy tests (不変性試験, JESRA X-0093 §6.5.4)
 * fall due a number of months after the last one, or after the acceptance test.
 */
import { tokyoDate } from '../security/index.ts';

export { tokyoDate };

/** Default months between constancy tests of an LCD: 6 (JESRA X-0093; DOMAIN-NOTES: every 6 or 12 months). */
export const DEFAULT_CONSTANCY_INTERVAL_MONTHS = 6;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether a text is a real calendar date `YYYY-MM-DD`. */
export function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}

/**
 * A calendar date plus whole months; a day past the end of the target month becomes its
 * last day (2025-08-31 + 6 months = 2026-02-28).
 * @throws RangeError when `date` is not `YYYY-MM-DD`
 */
export function addMonths(date: string, months: number): string {
  if (!isDate(date)) throw new RangeError(`${date} is not a date (YYYY-MM-DD)`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, last));
  return first.toISOString().slice(0, 10);
}

/** The state of a terminal's daily check on a given Tokyo day. */
export interface DailyState {
  /** No passed check today: missing, from an earlier day, or today's last one failed. */
  overdue: boolean;
  /** Today's last check found a problem. */
  failed: boolean;
}

/**
 * The daily-check state from the terminal's newest check (its Tokyo day and outcome).
 * @param lastOn Tokyo day of the newest check, or null when there is none
 * @param lastPassed whether every item of it was seen OK
 * @param today today in Asia/Tokyo
 */
export function dailyState(lastOn: string | null, lastPassed: boolean | null, today: string): DailyState {
  const checkedToday = lastOn === today;
  const failed = checkedToday && lastPassed === false;
  return { overdue: !checkedToday || failed, failed };
}
