/**
 * User administration: every personal account with its roles per facility, MFA and lock
 * state; creating accounts, changing roles (with re-authentication) and unlocking; and,
 * for system administrators and the management physician, each physician's credentials.
 */
import { Alert, Badge, Button, Group, Loader, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AdminUser } from '../../../shared/api.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { grantLabel } from '../../ui/grants.ts';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { canManageCredentials, canManageUsers } from '../../app/access.ts';
import { useSessionUser } from '../auth/session.ts';
import { useAdminUsers, useFacilities, useUnlockUser } from './api.ts';
import { CreateUserDialog } from './CreateUserDialog.tsx';
import { CredentialsDrawer } from './CredentialsDrawer.tsx';
import { EditGrantsDialog } from './EditGrantsDialog.tsx';

export function UsersPage() {
  const { t } = useTranslation();
  const me = useSessionUser();
  const managesAccounts = canManageUsers(me);
  const managesCredentials = canManageCredentials(me);
  const users = useAdminUsers();
  const facilities = useFacilities();
  const unlock = useUnlockUser();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<AdminUser | null>(null);
  const [credentialsOf, setCredentialsOf] = useState<AdminUser | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [filter, setFilter] = useState('');

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const all = users.data ?? [];
    if (!needle) return all;
    return all.filter(
      (user) => user.username.toLowerCase().includes(needle) || user.displayName.toLowerCase().includes(needle),
    );
  }, [users.data, filter]);

  const facilityList = facilities.data ?? [];

  return (
    <>
      <PageHeader
        title={t('admin.users.title')}
        description={t('admin.users.description')}
        actions={
          managesAccounts ? (
            <Button
              onClick={() => {
                setNotice(null);
                setCreating(true);
              }}
              disabled={facilities.isPending}
              data-testid="create-user-open"
            >
              {t('admin.create.open')}
            </Button>
          ) : null
        }
      />
      <Stack gap="md">
        {notice ? (
          <Alert color="teal" role="status" withCloseButton onClose={() => setNotice(null)} closeButtonLabel={t('common.close')} data-testid="admin-notice">
            {notice}
          </Alert>
        ) : null}
        {managesAccounts ? <ErrorAlert error={facilities.error} title={t('admin.users.facilitiesFailed')} /> : null}
        <ErrorAlert error={unlock.error} title={t('admin.users.unlockFailed')} testId="unlock-error" />
        <TextInput
          label={t('admin.users.filter')}
          value={filter}
          onChange={(e) => setFilter(e.currentTarget.value)}
          autoComplete="off"
          maw={360}
          data-testid="users-filter"
        />
        {users.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : users.isError ? (
          <ErrorAlert error={users.error} title={t('admin.users.loadFailed')} />
        ) : (
          <Table.ScrollContainer minWidth={900}>
            <Table striped highlightOnHover verticalSpacing="sm" data-testid="users-table">
              <Table.Caption>{t('admin.users.caption', { shown: shown.length, total: users.data.length })}</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">{t('fields.username')}</Table.Th>
                  <Table.Th scope="col">{t('fields.displayName')}</Table.Th>
                  <Table.Th scope="col">{t('admin.users.grants')}</Table.Th>
                  <Table.Th scope="col">{t('admin.users.mfa')}</Table.Th>
                  <Table.Th scope="col">{t('admin.users.status')}</Table.Th>
                  <Table.Th scope="col">{t('admin.users.lastLogin')}</Table.Th>
                  <Table.Th scope="col">{t('admin.users.actions')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.length === 0 ? (
                  <Table.Tr>
                    <Table.Td colSpan={7}>
                      <Text c="dimmed" ta="center" py="md">
                        {t('admin.users.empty')}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ) : null}
                {shown.map((user) => (
                  <Table.Tr key={user.id} data-testid={`user-row-${user.username}`}>
                    <Table.Td>
                      <Text ff="monospace" size="sm">
                        {user.username}
                      </Text>
                    </Table.Td>
                    <Table.Td>{user.displayName}</Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {user.grants.length === 0 ? (
                          <Text size="sm" c="dimmed">
                            {t('grants.none')}
                          </Text>
                        ) : (
                          user.grants.map((grant) => (
                            <Badge key={`${grant.role}:${grant.facilityId ?? ''}`} variant="light" tt="none" radius="sm">
                              {grantLabel(t, grant)}
                            </Badge>
                          ))
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {user.mfaEnrolled ? (
                        <Badge color="teal" variant="light" tt="none">
                          {t('admin.users.mfaEnrolled')}
                        </Badge>
                      ) : (
                        <Badge color="gray" variant="light" tt="none">
                          {t('admin.users.mfaNotEnrolled')}
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge user={user} />
                    </Table.Td>
                    <Table.Td>
                      <DateTime value={user.lastLoginAt} />
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        {managesAccounts ? (
                          <Button
                            size="compact-sm"
                            variant="light"
                            onClick={() => {
                              setNotice(null);
                              setEditing(user);
                            }}
                            disabled={facilities.isPending}
                            aria-label={t('admin.users.editGrantsFor', { name: user.displayName })}
                            data-testid={`grants-open-${user.username}`}
                          >
                            {t('admin.users.editGrants')}
                          </Button>
                        ) : null}
                        {managesCredentials ? (
                          <Button
                            size="compact-sm"
                            variant="light"
                            color="grape"
                            onClick={() => {
                              setNotice(null);
                              setCredentialsOf(user);
                            }}
                            aria-label={t('admin.credentials.openFor', { name: user.displayName })}
                            data-testid={`credentials-open-${user.username}`}
                          >
                            {t('admin.credentials.open')}
                          </Button>
                        ) : null}
                        {managesAccounts && user.locked ? (
                          <Button
                            size="compact-sm"
                            variant="light"
                            color="orange"
                            loading={unlock.isPending && unlock.variables === user.id}
                            onClick={() =>
                              unlock.mutate(user.id, {
                                onSuccess: () => setNotice(t('admin.users.unlocked', { name: user.displayName })),
                              })
                            }
                            aria-label={t('admin.users.unlockFor', { name: user.displayName })}
                            data-testid={`unlock-${user.username}`}
                          >
                            {t('admin.users.unlock')}
                          </Button>
                        ) : null}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Stack>
      <CreateUserDialog
        opened={creating}
        facilities={facilityList}
        onClose={(created) => {
          setCreating(false);
          if (created) setNotice(t('admin.create.done', { username: created }));
        }}
      />
      <CredentialsDrawer
        user={credentialsOf}
        users={users.data ?? []}
        facilities={facilityList}
        facilitiesError={facilities.error}
        onClose={() => setCredentialsOf(null)}
      />
      <EditGrantsDialog
        user={editing}
        facilities={facilityList}
        onClose={(saved) => {
          const name = editing?.displayName ?? '';
          setEditing(null);
          if (saved) setNotice(t('admin.grants.done', { name }));
        }}
      />
    </>
  );
}

function StatusBadge({ user }: { user: AdminUser }) {
  const { t } = useTranslation();
  if (user.disabled)
    return (
      <Badge color="gray" tt="none">
        {t('admin.users.disabled')}
      </Badge>
    );
  if (user.locked)
    return (
      <Badge color="orange" tt="none">
        {t('admin.users.locked')}
      </Badge>
    );
  return (
    <Badge color="teal" variant="outline" tt="none">
      {t('admin.users.active')}
    </Badge>
  );
}
