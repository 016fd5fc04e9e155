/**
 * Translation of the worklist page. Its texts live under `worklist` in `i18n/ja.json` and
 * `en.json` (English must have every key: `i18n/index.ts`); they are left out of i18next's
 * global key typing (`i18n/i18next.d.ts`, which would grow too deep) and checked here.
 */
import { useTranslation } from 'react-i18next';
import type ja from '../../i18n/ja.json';

type Leaves<T, P extends string> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];

/** Every key under `worklist`, and the few application keys the page uses. */
export type WorklistKey = Leaves<(typeof ja)['worklist'], 'worklist.'> | 'common.loading' | 'common.close' | 'common.refresh';

export type WorklistT = (key: WorklistKey, options?: Record<string, unknown>) => string;

/** `useTranslation` with the worklist's keys. */
export function useWorklistTranslation(): { t: WorklistT; i18n: ReturnType<typeof useTranslation>['i18n'] } {
  const { t, i18n } = useTranslation();
  return { t: t as unknown as WorklistT, i18n };
}
