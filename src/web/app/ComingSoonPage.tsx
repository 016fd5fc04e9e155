/**
 * A page that is announced but not built yet. It says so plainly and shows no sample or
 * made-up content: a reader must never mistake it for real data.
 */
import { Alert, List, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { PageHeader } from '../ui/PageHeader.tsx';

export type ComingFeature = 'worklist' | 'reports';

export function ComingSoonPage({ feature }: { feature: ComingFeature }) {
  const { t } = useTranslation();
  const planned = t(`coming.${feature}.planned`, { returnObjects: true });
  return (
    <>
      <PageHeader title={t(`coming.${feature}.title`)} />
      <Alert color="gray" variant="light" title={t('coming.notice')} data-testid="coming-soon">
        <Text size="sm" mb="sm">
          {t('coming.explanation')}
        </Text>
        <Text size="sm" fw={600} mb={4}>
          {t('coming.plannedHeading')}
        </Text>
        <List size="sm" spacing={4}>
          {planned.map((line, index) => (
            <List.Item key={index}>{line}</List.Item>
          ))}
        </List>
      </Alert>
    </>
  );
}
