/**
 * Translation of the monitor QC pages. Their texts live under `qc` in `i18n/ja.json` and
 * `en.json` (English must have every key: `i18n/index.ts`). Like the order pages' texts they
 * are left out of i18next's global key typing (`i18n/i18next.d.ts`), which grows too deep for
 * the type checker with every key in one union; the keys are checked here instead.
 */
import { useTranslation } from 'react-i18next';
import type ja from '../../i18n/ja.json';

type Leaves<T, P extends string> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];

/** Every key under `qc`, and the few application keys the QC pages use. */
export type QcKey = Leaves<(typeof ja)['qc'], 'qc.'> | `common.${'cancel' | 'close' | 'loading' | 'remove'}` | 'forms.required' | 'facilities.provider';

export type QcT = (key: QcKey, options?: Record<string, unknown>) => string;

/** `useTranslation` with the QC pages' keys. */
export function useQcTranslation(): { t: QcT; i18n: ReturnType<typeof useTranslation>['i18n'] } {
  const { t, i18n } = useTranslation();
  return { t: t as unknown as QcT, i18n };
}
