/**
 * Changing a user's roles and facilities (`PUT /api/admin/users/:id/grants`). A sensitive
 * act: the administrator types their own password again (re-authentication).
 */
import { Button, Group, Modal, PasswordInput, Stack, Text } from '@mantine/core';
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { AdminUser, FacilitySummary } from '../../../shared/api.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { useSetGrants } from './api.ts';
import { draftsFromGrants, GrantsEditor, grantsFromDrafts, type GrantDraft, type GrantsProblem } from './GrantsEditor.tsx';

export function EditGrantsDialog({
  user,
  onClose,
  facilities,
}: {
  user: AdminUser | null;
  onClose: (saved: boolean) => void;
  facilities: FacilitySummary[];
}) {
  const { t } = useTranslation();
  return (
    <Modal
      opened={user !== null}
      onClose={() => onClose(false)}
      title={user ? t('admin.grants.title', { name: user.displayName, username: user.username }) : ''}
      size="lg"
      closeButtonProps={{ 'aria-label': t('common.close') }}
    >
      {user ? <EditGrantsForm key={user.id} user={user} facilities={facilities} onDone={onClose} /> : null}
    </Modal>
  );
}

function EditGrantsForm({
  user,
  facilities,
  onDone,
}: {
  user: AdminUser;
  facilities: FacilitySummary[];
  onDone: (saved: boolean) => void;
}) {
  const { t } = useTranslation();
  const setGrants = useSetGrants();
  const [drafts, setDrafts] = useState<GrantDraft[]>(() => draftsFromGrants(user.grants));
  const [reauthPassword, setReauthPassword] = useState('');
  const [touched, setTouched] = useState(false);
  const [problem, setProblem] = useState<GrantsProblem | null>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    const result = grantsFromDrafts(drafts);
    setProblem(result.problem);
    if (!result.grants || !reauthPassword) return;
    setGrants.mutate(
      { id: user.id, request: { grants: result.grants, reauthPassword } },
      {
        onSuccess: () => onDone(true),
        onError: () => {
          setReauthPassword('');
          passwordRef.current?.focus();
        },
      },
    );
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="md">
        <GrantsEditor value={drafts} onChange={setDrafts} facilities={facilities} problem={problem} testIdPrefix="grants" />
        <Stack gap={4}>
          <Text size="sm" fw={500} id="grants-reauth-heading">
            {t('admin.grants.reauthHeading')}
          </Text>
          <Text size="xs" c="dimmed">
            {t('admin.grants.reauthHelp')}
          </Text>
          <PasswordInput
            ref={passwordRef}
            label={t('admin.grants.reauthPassword')}
            value={reauthPassword}
            onChange={(e) => setReauthPassword(e.currentTarget.value)}
            autoComplete="current-password"
            required
            error={touched && !reauthPassword && !setGrants.isError ? t('forms.required') : null}
            data-testid="grants-password"
          />
        </Stack>
        <ErrorAlert
          error={setGrants.error}
          title={t('admin.grants.failed')}
          messages={{ 401: t('admin.grants.wrongPassword'), 403: t('admin.grants.forbidden') }}
          testId="grants-error"
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={() => onDone(false)} data-testid="grants-cancel">
            {t('common.cancel')}
          </Button>
          <Button type="submit" loading={setGrants.isPending} data-testid="grants-submit">
            {t('admin.grants.submit')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
