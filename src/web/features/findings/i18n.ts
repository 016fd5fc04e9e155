/**
 * Translation of the findings screens (alert, page, management view, report-editor
 * control). Their texts live under `findings` in `i18n/ja.json` and `en.json` (English must
 * have every key: `i18n/index.ts`); they are left out of i18next's global key typing
 * (`i18n/i18next.d.ts`, which would grow too deep), except the menu entries, and checked here.
 */
import { useTranslation } from 'react-i18next';
import type ja from '../../i18n/ja.json';

type Leaves<T, P extends string> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];

/** Every key under `findings`, and the few application keys the screens use. */
export type FindingsKey = Leaves<(typeof ja)['findings'], 'findings.'> | 'common.loading' | 'common.close' | 'common.refresh' | 'common.none';

export type FindingsT = (key: FindingsKey, options?: Record<string, unknown>) => string;

/** `useTranslation` with the findings screens' keys. */
export function useFindingsTranslation(): { t: FindingsT; i18n: ReturnType<typeof useTranslation>['i18n'] } {
  const { t, i18n } = useTranslation();
  return { t: t as unknown as FindingsT, i18n };
}
