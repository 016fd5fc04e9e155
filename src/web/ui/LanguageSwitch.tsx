import { Button } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { currentLanguage, setLanguage } from '../i18n/index.ts';

/** Switches between Japanese and English; the button names the other language in that language. */
export function LanguageSwitch() {
  const { t } = useTranslation();
  const next = currentLanguage() === 'ja' ? 'en' : 'ja';
  const name = next === 'en' ? 'English' : '日本語';
  return (
    <Button
      variant="subtle"
      size="compact-sm"
      onClick={() => setLanguage(next)}
      aria-label={t('language.switchTo', { language: name })}
      data-testid="lang-switch"
      data-language={currentLanguage()}
    >
      <span lang={next}>{name}</span>
    </Button>
  );
}
