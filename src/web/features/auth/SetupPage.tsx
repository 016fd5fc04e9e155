/**
 * First-administrator setup (`POST /api/setup`): reached through the one-time link
 * `/setup?token=...` that `npm start` prints. The token is taken out of the address bar at
 * once so that it stays in no history entry.
 */
import { Button, Paper, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { SetupRequest, SetupStatus } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
import { setFlash } from '../../app/flash.ts';
import { navigate, useLocation } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { checkNewPassword, MIN_PASSWORD_LENGTH, type PasswordProblem } from './password.ts';
import { SETUP_KEY } from './session.ts';

export function SetupPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const { search } = useLocation();
  const [token, setToken] = useState(() => search.get('token') ?? '');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [problem, setProblem] = useState<PasswordProblem | null>(null);
  const [touched, setTouched] = useState(false);

  useEffect(() => {
    if (search.has('token')) navigate('/setup', { replace: true });
  }, [search]);

  const setup = useMutation({
    mutationFn: (request: SetupRequest) => api.post<unknown>('/api/setup', request, { credentialCheck: true }),
    onSuccess: () => {
      queryClient.setQueryData<SetupStatus>(SETUP_KEY, { needed: false });
      setFlash('setupDone');
      navigate('/login');
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    const found = checkNewPassword(password, confirmation, username);
    setProblem(found);
    if (found || !token.trim() || !username.trim() || !displayName.trim()) return;
    setup.mutate({ token: token.trim(), username: username.trim(), displayName: displayName.trim(), password });
  };

  const required = (value: string) => (touched && !value.trim() ? t('forms.required') : null);

  return (
    <Paper withBorder p="xl" radius="md">
      <PageHeader title={t('setup.title')} description={t('setup.description')} />
      <form onSubmit={submit} noValidate aria-describedby="setup-help">
        <Stack gap="md">
          <Text id="setup-help" size="sm">
            {t('setup.tokenHelp')}
          </Text>
          <TextInput
            label={t('setup.token')}
            value={token}
            onChange={(e) => setToken(e.currentTarget.value)}
            autoComplete="off"
            spellCheck={false}
            required
            error={required(token)}
            data-testid="setup-token"
          />
          <TextInput
            label={t('fields.username')}
            description={t('setup.usernameHelp')}
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            error={required(username)}
            data-testid="setup-username"
          />
          <TextInput
            label={t('fields.displayName')}
            description={t('fields.displayNameHelp')}
            value={displayName}
            onChange={(e) => setDisplayName(e.currentTarget.value)}
            autoComplete="name"
            required
            error={required(displayName)}
            data-testid="setup-display-name"
          />
          <PasswordInput
            label={t('fields.newPassword')}
            description={t('password.rules', { min: MIN_PASSWORD_LENGTH })}
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            autoComplete="new-password"
            required
            error={problem && problem !== 'mismatch' ? t(`password.problems.${problem}`, { min: MIN_PASSWORD_LENGTH }) : null}
            data-testid="setup-password"
          />
          <PasswordInput
            label={t('fields.confirmPassword')}
            value={confirmation}
            onChange={(e) => setConfirmation(e.currentTarget.value)}
            autoComplete="new-password"
            required
            error={problem === 'mismatch' ? t('password.problems.mismatch') : null}
            data-testid="setup-password-confirm"
          />
          <ErrorAlert
            error={setup.error}
            messages={{ 401: t('setup.invalidToken'), 403: t('setup.invalidToken'), 409: t('setup.alreadyDone') }}
            testId="setup-error"
          />
          <Button type="submit" loading={setup.isPending} data-testid="setup-submit">
            {t('setup.submit')}
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}
