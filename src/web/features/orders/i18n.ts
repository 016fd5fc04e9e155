/**
 * Translation of the order pages. Their texts live under `orders` in `i18n/ja.json` and
 * `en.json` (English must have every key: `i18n/index.ts`). Apart from `orders.nav`, they
 * are left out of i18next's global key typing (`i18n/i18next.d.ts`), which grows too deep
 * for the type checker with every key in one union; the keys are checked here instead.
 */
import { useTranslation } from 'react-i18next';
import type ja from '../../i18n/ja.json';

type Leaves<T, P extends string> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];

/** Every key under `orders`, and the few application keys the order pages use. */
export type OrdersKey = Leaves<(typeof ja)['orders'], 'orders.'> | 'common.loading' | 'pagination.label' | 'pagination.page' | `pagination.${'first' | 'last' | 'next' | 'previous'}`;

export type OrdersT = (key: OrdersKey, options?: Record<string, unknown>) => string;

/** `useTranslation` with the order pages' keys. */
export function useOrdersTranslation(): { t: OrdersT; i18n: ReturnType<typeof useTranslation>['i18n'] } {
  const { t, i18n } = useTranslation();
  return { t: t as unknown as OrdersT, i18n };
}
