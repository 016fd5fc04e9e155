/**
 * Password change (`POST /api/me/password`): forced after an administrator set the
 * password (`mustChangePassword`), and available to every user from the navigation.
 */
import { Alert, Button, Group, Paper, PasswordInput, Stack } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { PasswordChangeRequest } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
import { navigate } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { checkNewPassword, MIN_PASSWORD_LENGTH, type PasswordProblem } from './password.ts';
import { SESSION_KEY, useSessionUser } from './session.ts';
import { useLogout } from './useLogout.ts';

export function ChangePasswordPage() {
  const { t } = useTranslation();
  const user = useSessionUser();
  const forced = user.mustChangePassword;
  const queryClient = useQueryClient();
  const logout = useLogout();
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [problem, setProblem] = useState<PasswordProblem | 'sameAsCurrent' | null>(null);
  const [touched, setTouched] = useState(false);
  const [done, setDone] = useState(false);
  const currentRef = useRef<HTMLInputElement>(null);

  const change = useMutation({
    mutationFn: (request: PasswordChangeRequest) => api.post<unknown>('/api/me/password', request, { credentialCheck: true }),
    onSuccess: async () => {
      setCurrentPassword('');
      setNewPassword('');
      setConfirmation('');
      setTouched(false);
      setDone(true);
      // The server may have rotated the session (new CSRF token) and cleared mustChangePassword.
      await queryClient.invalidateQueries({ queryKey: SESSION_KEY });
      // After the change required at first login, the application starts at home.
      if (forced) navigate('/', { replace: true });
    },
    onError: () => {
      setCurrentPassword('');
      currentRef.current?.focus();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    setDone(false);
    let found: PasswordProblem | 'sameAsCurrent' | null = checkNewPassword(newPassword, confirmation, user.username);
    if (!found && newPassword === currentPassword) found = 'sameAsCurrent';
    setProblem(found);
    if (found || !currentPassword) return;
    change.mutate({ currentPassword, newPassword });
  };

  const newPasswordError =
    problem && problem !== 'mismatch' ? t(`password.problems.${problem}`, { min: MIN_PASSWORD_LENGTH }) : null;

  return (
    <Paper withBorder p="xl" radius="md" maw={560}>
      <PageHeader title={t('password.title')} description={forced ? t('password.forcedLead') : t('password.lead')} />
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          {/* Lets password managers file the new password under the right account. */}
          <input type="text" name="username" autoComplete="username" value={user.username} readOnly hidden />
          <PasswordInput
            ref={currentRef}
            label={t('fields.currentPassword')}
            value={currentPassword}
            onChange={(e) => setCurrentPassword(e.currentTarget.value)}
            autoComplete="current-password"
            required
            error={touched && !currentPassword && !change.isError ? t('forms.required') : null}
            data-testid="password-current"
          />
          <PasswordInput
            label={t('fields.newPassword')}
            description={t('password.rules', { min: MIN_PASSWORD_LENGTH })}
            value={newPassword}
            onChange={(e) => setNewPassword(e.currentTarget.value)}
            autoComplete="new-password"
            required
            error={newPasswordError}
            data-testid="password-new"
          />
          <PasswordInput
            label={t('fields.confirmPassword')}
            value={confirmation}
            onChange={(e) => setConfirmation(e.currentTarget.value)}
            autoComplete="new-password"
            required
            error={problem === 'mismatch' ? t('password.problems.mismatch') : null}
            data-testid="password-confirm"
          />
          <ErrorAlert error={change.error} messages={{ 401: t('password.wrongCurrent') }} testId="password-error" />
          {done && !forced ? (
            <Alert color="teal" role="status" data-testid="password-done">
              {t('password.done')}
            </Alert>
          ) : null}
          <Group justify={forced ? 'space-between' : 'flex-end'}>
            {forced ? (
              <Button variant="default" onClick={() => logout.mutate()} loading={logout.isPending} data-testid="password-logout">
                {t('logout.action')}
              </Button>
            ) : null}
            <Button type="submit" loading={change.isPending} data-testid="password-submit">
              {t('password.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
