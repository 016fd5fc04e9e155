/**
 * Creating a personal account (REQUIREMENTS A1: personal accounts only): username, name,
 * an initial password the user must change at first login, and the roles per facility.
 */
import { Alert, Button, Group, Modal, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { FacilitySummary } from '../../../shared/api.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { generatePassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/password.ts';
import { useCreateUser } from './api.ts';
import { emptyDraft, GrantsEditor, grantsFromDrafts, type GrantDraft, type GrantsProblem } from './GrantsEditor.tsx';

export function CreateUserDialog({
  opened,
  onClose,
  facilities,
}: {
  opened: boolean;
  onClose: (created: string | null) => void;
  facilities: FacilitySummary[];
}) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={() => onClose(null)} title={t('admin.create.title')} size="lg" closeButtonProps={{ 'aria-label': t('common.close') }}>
      {/* Mounted only while open, so every opening starts from an empty form. */}
      {opened ? <CreateUserForm facilities={facilities} onDone={onClose} /> : null}
    </Modal>
  );
}

function CreateUserForm({ facilities, onDone }: { facilities: FacilitySummary[]; onDone: (created: string | null) => void }) {
  const { t } = useTranslation();
  const create = useCreateUser();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [drafts, setDrafts] = useState<GrantDraft[]>(() => [emptyDraft()]);
  const [touched, setTouched] = useState(false);
  const [grantsProblem, setGrantsProblem] = useState<GrantsProblem | null>(null);

  const passwordProblem =
    password.length < MIN_PASSWORD_LENGTH ? 'tooShort' : password.length > MAX_PASSWORD_LENGTH ? 'tooLong' : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    const result = grantsFromDrafts(drafts);
    setGrantsProblem(result.problem);
    if (!username.trim() || !displayName.trim() || passwordProblem || !result.grants) return;
    create.mutate(
      { username: username.trim(), displayName: displayName.trim(), password, grants: result.grants },
      { onSuccess: () => onDone(username.trim()) },
    );
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="md">
        <TextInput
          label={t('fields.username')}
          description={t('admin.create.usernameHelp')}
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          // The administrator types someone else's account: the browser must not fill in their own.
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          required
          data-autofocus
          error={touched && !username.trim() ? t('forms.required') : null}
          data-testid="create-user-username"
        />
        <TextInput
          label={t('fields.displayName')}
          description={t('fields.displayNameHelp')}
          value={displayName}
          onChange={(e) => setDisplayName(e.currentTarget.value)}
          autoComplete="off"
          required
          error={touched && !displayName.trim() ? t('forms.required') : null}
          data-testid="create-user-display-name"
        />
        <Stack gap={4}>
          <Group align="flex-end" gap="sm" wrap="nowrap">
            <PasswordInput
              label={t('admin.create.initialPassword')}
              description={t('admin.create.initialPasswordHelp', { min: MIN_PASSWORD_LENGTH })}
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              autoComplete="new-password"
              required
              style={{ flex: 1 }}
              error={touched && passwordProblem ? t(`password.problems.${passwordProblem}`, { min: MIN_PASSWORD_LENGTH }) : null}
              data-testid="create-user-password"
            />
            <Button variant="light" onClick={() => setPassword(generatePassword())} data-testid="create-user-generate-password">
              {t('admin.create.generate')}
            </Button>
          </Group>
          <Text size="xs" c="dimmed">
            {t('admin.create.handOver')}
          </Text>
        </Stack>
        <GrantsEditor value={drafts} onChange={setDrafts} facilities={facilities} problem={grantsProblem} testIdPrefix="create-user" />
        <Alert color="blue" variant="light">
          {t('admin.create.firstLoginNote')}
        </Alert>
        <ErrorAlert
          error={create.error}
          title={t('admin.create.failed')}
          messages={{ 409: t('admin.create.usernameTaken') }}
          testId="create-user-error"
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={() => onDone(null)} data-testid="create-user-cancel">
            {t('common.cancel')}
          </Button>
          <Button type="submit" loading={create.isPending} data-testid="create-user-submit">
            {t('admin.create.submit')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
