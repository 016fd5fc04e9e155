/**
 * Security settings of the logged-in user: passkeys (WebAuthn) that may replace the
 * authenticator app's code at login. Registering asks the browser to create a key bound
 * to this site; deleting asks for confirmation first.
 */
import { Alert, Button, Group, Loader, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { PasskeySummary } from '../../../shared/api.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { PasskeyErrorAlert } from './PasskeyErrorAlert.tsx';
import { MAX_PASSKEY_NAME_LENGTH, passkeysSupported, useDeletePasskey, usePasskeys, useRegisterPasskey } from './passkeys.ts';

export function SecurityPage() {
  const { t } = useTranslation();
  return (
    <>
      <PageHeader title={t('security.title')} description={t('security.description')} />
      <PasskeysSection />
    </>
  );
}

function PasskeysSection() {
  const { t } = useTranslation();
  const passkeys = usePasskeys();
  const register = useRegisterPasskey();
  const remove = useDeletePasskey();
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<PasskeySummary | null>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const supported = passkeysSupported();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    setNotice(null);
    remove.reset();
    const trimmed = name.trim();
    if (!trimmed) {
      nameRef.current?.focus();
      return;
    }
    register.mutate(trimmed, {
      onSuccess: () => {
        setName('');
        setTouched(false);
        setNotice(t('passkeys.registered', { name: trimmed }));
      },
    });
  };

  const confirmDelete = (passkey: PasskeySummary) => {
    setNotice(null);
    register.reset();
    remove.mutate(passkey.id, {
      onSuccess: () => {
        setConfirming(null);
        setNotice(t('passkeys.deleted', { name: passkey.name }));
      },
    });
  };

  const list = passkeys.data ?? [];

  return (
    <Paper withBorder p="lg" radius="md" component="section" aria-labelledby="passkeys-heading">
      <Stack gap="md">
        <Title order={2} fz="h3" id="passkeys-heading">
          {t('passkeys.heading')}
        </Title>
        <Text size="sm">{t('passkeys.intro')}</Text>
        <Text size="sm" c="dimmed">
          {t('passkeys.sharedNote')}
        </Text>
        {!supported ? (
          <Alert color="yellow" role="status" data-testid="passkey-unsupported">
            {t('passkeys.errors.unsupported')}
          </Alert>
        ) : null}
        {notice ? (
          <Alert color="teal" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel={t('common.close')} data-testid="passkey-notice">
            {notice}
          </Alert>
        ) : null}

        {passkeys.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : passkeys.isError ? (
          <ErrorAlert error={passkeys.error} title={t('passkeys.loadFailed')} testId="passkey-load-error" />
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table striped verticalSpacing="sm" data-testid="passkeys-table">
              <Table.Caption>{t('passkeys.caption')}</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">{t('passkeys.columns.name')}</Table.Th>
                  <Table.Th scope="col">{t('passkeys.columns.createdAt')}</Table.Th>
                  <Table.Th scope="col">{t('passkeys.columns.lastUsedAt')}</Table.Th>
                  <Table.Th scope="col">{t('passkeys.columns.actions')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.length === 0 ? (
                  <Table.Tr>
                    <Table.Td colSpan={4}>
                      <Text c="dimmed" ta="center" py="sm" data-testid="passkeys-empty">
                        {t('passkeys.none')}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ) : null}
                {list.map((passkey, index) => (
                  <Table.Tr key={passkey.id} data-testid="passkey-row">
                    <Table.Td>{passkey.name}</Table.Td>
                    <Table.Td>
                      <DateTime value={passkey.createdAt} />
                    </Table.Td>
                    <Table.Td>
                      <DateTime value={passkey.lastUsedAt} />
                    </Table.Td>
                    <Table.Td>
                      {confirming?.id === passkey.id ? (
                        <Stack gap={6} role="group" aria-label={t('passkeys.confirmDelete', { name: passkey.name })}>
                          <Text size="sm">{t('passkeys.confirmDelete', { name: passkey.name })}</Text>
                          <Group gap="xs" wrap="nowrap">
                            <Button
                              size="compact-sm"
                              color="red"
                              loading={remove.isPending}
                              onClick={() => confirmDelete(passkey)}
                              autoFocus
                              data-testid="passkey-delete-confirm"
                            >
                              {t('passkeys.deleteConfirm')}
                            </Button>
                            <Button size="compact-sm" variant="default" onClick={() => setConfirming(null)} data-testid="passkey-delete-cancel">
                              {t('common.cancel')}
                            </Button>
                          </Group>
                        </Stack>
                      ) : (
                        <Button
                          size="compact-sm"
                          variant="light"
                          color="red"
                          onClick={() => {
                            remove.reset();
                            setConfirming(passkey);
                          }}
                          aria-label={t('passkeys.deleteFor', { name: passkey.name })}
                          data-testid={`passkey-delete-${index}`}
                        >
                          {t('passkeys.delete')}
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <ErrorAlert error={remove.error} title={t('passkeys.deleteFailed')} testId="passkey-error" />

        <form onSubmit={submit} noValidate aria-labelledby="passkey-register-heading">
          <Stack gap="sm">
            <Title order={3} fz="h5" id="passkey-register-heading">
              {t('passkeys.registerHeading')}
            </Title>
            <Group align="flex-start" gap="sm" wrap="wrap">
              <TextInput
                ref={nameRef}
                label={t('passkeys.name')}
                description={t('passkeys.nameHelp')}
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
                maxLength={MAX_PASSKEY_NAME_LENGTH}
                autoComplete="off"
                required
                error={touched && !name.trim() ? t('forms.required') : null}
                style={{ flex: '1 1 18rem' }}
                data-testid="passkey-name"
              />
            </Group>
            <PasskeyErrorAlert error={register.error} title={t('passkeys.registerFailed')} testId="passkey-error" />
            <Group>
              <Button type="submit" loading={register.isPending} disabled={!supported} data-testid="passkey-register">
                {t('passkeys.register')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Stack>
    </Paper>
  );
}
