import type ja from './ja.json';

// Translation keys are checked by the type checker against the Japanese resources.
declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    // The order pages' texts (except their menu entries) are typed in features/orders/i18n.ts,
    // the worklist's in features/worklist/i18n.ts, monitor QC's in features/qc/i18n.ts, the
    // findings screens' (except their menu entries) in features/findings/i18n.ts:
    // one union of every key grows too deep for the type checker.
    resources: { translation: Omit<typeof ja, 'orders' | 'report' | 'worklist' | 'qc' | 'findings'> & { orders: { nav: (typeof ja)['orders']['nav'] } } & { findings: { nav: (typeof ja)['findings']['nav'] } } };
    returnNull: false;
  }
}
