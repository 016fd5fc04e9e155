/**
 * Translation of the report editor and the confirmation page. Their texts live under
 * `report` in `i18n/ja.json` and `en.json`; like the order pages they are left out of
 * i18next's global key typing (too deep a union), and checked here instead.
 */
import { useTranslation } from 'react-i18next';
import type ja from '../../i18n/ja.json';

type Leaves<T, P extends string> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];

export type ReportKey = Leaves<(typeof ja)['report'], 'report.'> | 'common.loading';
export type ReportT = (key: ReportKey, options?: Record<string, unknown>) => string;

/** `useTranslation` with the report pages' keys. */
export function useReportTranslation(): { t: ReportT; i18n: ReturnType<typeof useTranslation>['i18n'] } {
  const { t, i18n } = useTranslation();
  return { t: t as unknown as ReportT, i18n };
}
