/**
 * Translations: Japanese is the default, English the alternative. The language choice is
 * the only thing the application keeps in localStorage; `<html lang>` follows it.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import ja from './ja.json';

export const LANGUAGES = ['ja', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const STORAGE_KEY = 'enkaku.language';

/** English must have every key Japanese has (checked by the type checker). */
const english: typeof ja = en;

function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

function storedLanguage(): Language {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return isLanguage(value) ? value : 'ja';
  } catch {
    return 'ja'; // storage disabled by policy: stay with the default
  }
}

export const i18n = i18next.createInstance();

void i18n.use(initReactI18next).init({
  resources: { ja: { translation: ja }, en: { translation: english } },
  lng: storedLanguage(),
  fallbackLng: 'ja',
  supportedLngs: [...LANGUAGES],
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
  initAsync: false,
});

document.documentElement.lang = i18n.language;

i18n.on('languageChanged', (language) => {
  document.documentElement.lang = language;
  try {
    window.localStorage.setItem(STORAGE_KEY, language);
  } catch {
    // storage disabled: the choice lasts until the page is closed
  }
});

/** The current language. */
export function currentLanguage(): Language {
  return isLanguage(i18n.language) ? i18n.language : 'ja';
}

/** Switches the language of the whole application and remembers the choice. */
export function setLanguage(language: Language): void {
  void i18n.changeLanguage(language);
}
