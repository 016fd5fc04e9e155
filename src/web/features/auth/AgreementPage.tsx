/**
 * The confidentiality agreement (守秘義務に関する同意, REQUIREMENTS S10): shown at the
 * first login, before anything else, and recorded by the server (`POST /api/me/agreement`).
 * The Japanese text is the one that binds; the English text is a translation.
 */
import { Alert, Button, Checkbox, Group, List, Paper, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { SESSION_KEY, useSessionUser } from './session.ts';
import { useLogout } from './useLogout.ts';

export function AgreementPage() {
  const { t } = useTranslation();
  const user = useSessionUser();
  const queryClient = useQueryClient();
  const logout = useLogout();
  const [agreed, setAgreed] = useState(false);
  const clauses = t('agreement.clauses', { returnObjects: true });
  const translationNote = t('agreement.translationNote');

  const accept = useMutation({
    mutationFn: () => api.post<unknown>('/api/me/agreement', { accept: true }),
    // The session tells what comes next (a password change, or the application).
    onSuccess: () => queryClient.invalidateQueries({ queryKey: SESSION_KEY }),
  });

  return (
    <Paper withBorder p="xl" radius="md">
      <PageHeader title={t('agreement.title')} description={t('agreement.lead', { name: user.displayName })} />
      <Stack gap="md">
        {translationNote ? (
          <Alert color="gray" variant="light">
            {translationNote}
          </Alert>
        ) : null}
        <ScrollArea.Autosize mah={420} type="auto" offsetScrollbars>
          <section
            tabIndex={0}
            aria-labelledby="agreement-heading"
            data-testid="agreement-text"
            style={{ outlineOffset: 2 }}
          >
            <Title order={2} fz="lg" id="agreement-heading" mb="xs">
              {t('agreement.documentTitle')}
            </Title>
            <Text size="sm" c="dimmed" mb="sm">
              {t('agreement.version')}
            </Text>
            <Text mb="sm">{t('agreement.intro')}</Text>
            <List type="ordered" spacing="sm">
              {clauses.map((clause, index) => (
                <List.Item key={index}>{clause}</List.Item>
              ))}
            </List>
            <Text mt="md" size="sm">
              {t('agreement.closing')}
            </Text>
          </section>
        </ScrollArea.Autosize>
        <Checkbox
          checked={agreed}
          onChange={(e) => setAgreed(e.currentTarget.checked)}
          label={t('agreement.checkbox')}
          data-testid="agreement-checkbox"
        />
        <ErrorAlert error={accept.error} testId="agreement-error" />
        <ErrorAlert error={logout.error} title={t('logout.failed')} />
        <Group justify="space-between">
          <Button variant="default" onClick={() => logout.mutate()} loading={logout.isPending} data-testid="agreement-decline">
            {t('agreement.decline')}
          </Button>
          <Button onClick={() => accept.mutate()} disabled={!agreed} loading={accept.isPending} data-testid="agreement-accept">
            {t('agreement.accept')}
          </Button>
        </Group>
        <Text size="xs" c="dimmed">
          {t('agreement.recordedNote')}
        </Text>
      </Stack>
    </Paper>
  );
}
