/** Pages for states rather than features: loading, unknown address, no permission, server unreachable. */
import { Alert, Button, Center, Loader, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { describeError } from '../ui/ErrorAlert.tsx';
import { PageHeader } from '../ui/PageHeader.tsx';
import { linkProps } from './router.tsx';

export function FullPageLoader() {
  const { t } = useTranslation();
  return (
    <Center mih="60vh">
      <Loader aria-label={t('common.loading')} />
    </Center>
  );
}

export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <>
      <PageHeader title={t('status.notFound.title')} />
      <Text mb="md">{t('status.notFound.text')}</Text>
      <Button component="a" {...linkProps('/')} variant="light">
        {t('status.backHome')}
      </Button>
    </>
  );
}

export function ForbiddenPage() {
  const { t } = useTranslation();
  return (
    <>
      <PageHeader title={t('status.forbidden.title')} />
      <Alert color="orange" mb="md" data-testid="forbidden">
        {t('status.forbidden.text')}
      </Alert>
      <Button component="a" {...linkProps('/')} variant="light">
        {t('status.backHome')}
      </Button>
    </>
  );
}

export function ServerUnavailablePage({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t } = useTranslation();
  const described = describeError(t, error);
  return (
    <Stack gap="md">
      <PageHeader title={t('status.unavailable.title')} />
      <Alert color="red" role="alert" title={described.title}>
        {described.detail || t('status.unavailable.text')}
      </Alert>
      <Button onClick={onRetry} data-testid="retry">
        {t('common.retry')}
      </Button>
    </Stack>
  );
}
