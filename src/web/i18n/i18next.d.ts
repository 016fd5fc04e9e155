import type ja from './ja.json';

// Translation keys are checked by the type checker against the Japanese resources.
declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: { translation: typeof ja };
    returnNull: false;
  }
}
