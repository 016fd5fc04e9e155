import { useTranslation } from 'react-i18next';
import { formatDateTime } from './time.ts';

/** A time shown in Japan time, machine-readable through `<time dateTime>`. */
export function DateTime({ value }: { value: string | null | undefined }) {
  const { t, i18n } = useTranslation();
  if (!value) return <span aria-label={t('common.none')}>—</span>;
  return (
    <time dateTime={value} title={t('common.timeZoneNote')}>
      {formatDateTime(value, i18n.language)}
    </time>
  );
}
