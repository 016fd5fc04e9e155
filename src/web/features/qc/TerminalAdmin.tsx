/**
 * The register of reading terminals (Q1): every terminal the user may see with its display,
 * grade, acceptance values and state; managers register, change, retire and reinstate
 * terminals, and managers and the facility's technologists record constancy tests. A retired
 * terminal keeps its QC history and can no longer be chosen for reading.
 */
import { Badge, Button, Group, Modal, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import type { ReadingTerminal, SessionUser } from '../../../shared/api.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { canManageTerminals, canRecordConstancy } from './access.ts';
import { useTerminalFacilities, useUpdateTerminal } from './api.ts';
import { ConstancyDialog } from './ConstancyDialog.tsx';
import { TerminalFormDialog, type OwnerOption } from './TerminalForm.tsx';
import { useQcTranslation } from './i18n.ts';

export function TerminalAdmin({ terminals, user }: { terminals: ReadingTerminal[]; user: SessionUser }) {
  const { t } = useQcTranslation();
  const manager = canManageTerminals(user);
  const facilities = useTerminalFacilities(manager);
  const update = useUpdateTerminal();
  const [editing, setEditing] = useState<ReadingTerminal | 'new' | null>(null);
  const [retiring, setRetiring] = useState<ReadingTerminal | null>(null);
  const [retireOpen, setRetireOpen] = useState(false);
  const [testing, setTesting] = useState<ReadingTerminal | null>(null);

  // The reading provider first, then the facilities (from the list, else those the terminals name).
  const owners = useMemo<OwnerOption[]>(() => {
    const named = new Map<string, string>();
    for (const f of facilities.data ?? []) named.set(f.id, f.name);
    if (!facilities.data) for (const x of terminals) if (x.facilityId) named.set(x.facilityId, x.facilityName ?? x.facilityId);
    return [{ value: '', label: t('facilities.provider') }, ...[...named].map(([value, label]) => ({ value, label }))];
  }, [facilities.data, terminals, t]);

  const sorted = [...terminals].sort((a, b) => Number(b.active) - Number(a.active) || a.name.localeCompare(b.name, 'ja'));
  const testable = sorted.filter((x) => canRecordConstancy(user, x));
  if (!manager && testable.length === 0) return null;

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="qc-admin-heading" data-testid="qc-admin">
      <Group justify="space-between" align="flex-start" mb="xs">
        <Title order={2} fz="h4" id="qc-admin-heading">
          {t('qc.admin.heading')}
        </Title>
        {manager ? (
          <Button onClick={() => setEditing('new')} data-testid="qc-admin-register">
            {t('qc.admin.register')}
          </Button>
        ) : null}
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        {manager ? t('qc.admin.help') : t('qc.admin.helpTechnologist')}
      </Text>
      <ErrorAlert error={update.error} title={t('qc.admin.stateFailed')} testId="qc-admin-error" />
      {sorted.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid="qc-admin-empty">
          {t('qc.admin.empty')}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table fz="sm" verticalSpacing={4} striped data-testid="qc-admin-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('qc.admin.columns.name')}</Table.Th>
                <Table.Th>{t('qc.admin.columns.display')}</Table.Th>
                <Table.Th>{t('qc.admin.columns.grade')}</Table.Th>
                <Table.Th>{t('qc.admin.columns.luminance')}</Table.Th>
                <Table.Th>{t('qc.admin.columns.owner')}</Table.Th>
                <Table.Th>{t('qc.admin.columns.profile')}</Table.Th>
                <Table.Th>{t('qc.admin.columns.state')}</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {sorted.map((x) => (
                <Table.Tr key={x.id} data-testid="qc-admin-row" data-terminal-id={x.id} data-name={x.name} data-active={x.active}>
                  <Table.Td>
                    <Text size="sm" fw={500} miw="6em">
                      {x.name}
                    </Text>
                    {x.location ? (
                      <Text size="xs" c="dimmed">
                        {x.location}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    {x.displayModel}
                    <Text size="xs" c="dimmed">
                      {t('qc.admin.serial', { serial: x.displaySerial })}
                    </Text>
                  </Table.Td>
                  <Table.Td>{x.grade}</Table.Td>
                  <Table.Td>
                    {t('qc.status.luminanceValue', { lmax: x.lmax, lmin: x.lmin, lamb: x.lamb })}
                    <Text size="xs" c="dimmed">
                      {t('qc.admin.acceptedOn', { date: x.acceptanceTestedOn })}
                    </Text>
                  </Table.Td>
                  <Table.Td>{x.facilityId ? (x.facilityName ?? x.facilityId) : t('facilities.provider')}</Table.Td>
                  <Table.Td>
                    <Text size="xs">{x.profile.label}</Text>
                    {x.requireDailyCheck ? (
                      <Text size="xs" c="dimmed">
                        {t('qc.admin.requiresDaily')}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    <Badge color={x.active ? 'teal' : 'gray'} variant="light" tt="none" miw="max-content" data-testid="qc-admin-state">
                      {x.active ? t('qc.admin.active') : t('qc.admin.retired')}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap" justify="flex-end">
                      {manager ? (
                        <Button size="compact-xs" variant="default" onClick={() => setEditing(x)} data-testid="qc-admin-edit">
                          {t('qc.admin.edit')}
                        </Button>
                      ) : null}
                      {canRecordConstancy(user, x) && x.active ? (
                        <Button size="compact-xs" variant="default" onClick={() => setTesting(x)} data-testid="qc-admin-constancy">
                          {t('qc.admin.constancy')}
                        </Button>
                      ) : null}
                      {manager ? (
                        x.active ? (
                          <Button
                            size="compact-xs"
                            variant="subtle"
                            color="red"
                            onClick={() => {
                              setRetiring(x);
                              setRetireOpen(true);
                            }}
                            data-testid="qc-admin-retire"
                          >
                            {t('qc.admin.retire')}
                          </Button>
                        ) : (
                          <Button
                            size="compact-xs"
                            variant="subtle"
                            loading={update.isPending && update.variables?.id === x.id}
                            onClick={() => update.mutate({ id: x.id, input: { active: true } })}
                            data-testid="qc-admin-reinstate"
                          >
                            {t('qc.admin.reinstate')}
                          </Button>
                        )
                      ) : null}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <TerminalFormDialog opened={editing !== null} terminal={editing === 'new' ? null : editing} owners={owners} onClose={() => setEditing(null)} />
      <ConstancyDialog terminal={testing} onClose={() => setTesting(null)} />
      <Modal opened={retireOpen} onClose={() => setRetireOpen(false)} title={t('qc.admin.retireTitle')} closeButtonProps={{ 'aria-label': t('common.close') }}>
        <Stack gap="md">
          <Text size="sm">{t('qc.admin.retireConfirm', { name: retiring?.name ?? '' })}</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRetireOpen(false)} data-testid="qc-retire-cancel">
              {t('common.cancel')}
            </Button>
            <Button
              color="red"
              loading={update.isPending}
              onClick={() => retiring && update.mutate({ id: retiring.id, input: { active: false } }, { onSettled: () => setRetireOpen(false) })}
              data-testid="qc-retire-confirm"
            >
              {t('qc.admin.retire')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Paper>
  );
}
