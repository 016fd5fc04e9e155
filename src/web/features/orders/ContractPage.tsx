/**
 * Facility contract administration (L5, A5): scope, due times per priority, retention, the
 * critical-finding contact ladder, report delivery, onward sharing, the monitor check and
 * the opt-out notice, with the version history. System administrators and the management
 * physician change every term; a facility administrator changes the contact ladder only
 * (the server enforces it; the form shows the other terms read-only).
 */
import { ActionIcon, Alert, Button, Checkbox, Group, Loader, NativeSelect, NumberInput, Paper, SimpleGrid, Stack, Table, Text, Textarea, TextInput } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { useOrdersTranslation } from './i18n.ts';
import type { ContactStep, DeliveryRoute, FacilityContractTerms, FacilityContractView } from '../../../shared/api.ts';
import { useSessionUser } from '../auth/session.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { canListFacilities, contractRight, grantFacilities, readsAllContracts } from './access.ts';
import { useAllFacilities, useContract, useContractHistory, useSaveContract } from './api.ts';
import { Panel } from './parts.tsx';

const ROUTES: DeliveryRoute[] = ['hl7', 'fhir', 'manual'];

function termsOf(c: FacilityContractView): FacilityContractTerms {
  return {
    scope: { modalities: [...c.scope.modalities], bodyParts: [...c.scope.bodyParts] },
    dueMinutes: { ...c.dueMinutes },
    retentionDays: c.retentionDays,
    contactLadder: c.contactLadder.map((s) => ({ ...s })),
    delivery: { ...c.delivery },
    onwardSharing: c.onwardSharing,
    monitorCheckRequired: c.monitorCheckRequired,
    doubleReading: c.doubleReading ?? false,
    optOutNotice: c.optOutNotice,
  };
}

const list = (text: string) =>
  text
    .split(/[,、，\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export function ContractPage() {
  const { t } = useOrdersTranslation();
  const user = useSessionUser();
  const lists = canListFacilities(user);
  const all = useAllFacilities(lists);
  const facilities = lists && all.data ? all.data.map((f) => ({ id: f.id, name: f.name })) : readsAllContracts(user) ? grantFacilities(user) : grantFacilities(user, ['facility-admin']);
  const [facilityId, setFacilityId] = useState('');
  useEffect(() => {
    if (!facilityId && facilities.length === 1) setFacilityId(facilities[0]!.id);
  }, [facilityId, facilities]);

  return (
    <>
      <PageHeader title={t('orders.contracts.title')} description={t('orders.contracts.description')} />
      <Stack gap="md">
        {facilities.length > 0 ? (
          <NativeSelect
            label={t('orders.contracts.facility')}
            value={facilityId}
            onChange={(e) => setFacilityId(e.currentTarget.value)}
            data={[{ value: '', label: t('orders.contracts.chooseFacility') }, ...facilities.map((f) => ({ value: f.id, label: f.name }))]}
            w={360}
            data-testid="contract-facility"
          />
        ) : (
          <TextInput label={t('orders.contracts.facility')} value={facilityId} onChange={(e) => setFacilityId(e.currentTarget.value.trim())} w={360} data-testid="contract-facility-id" />
        )}
        {facilityId ? <ContractEditor key={facilityId} facilityId={facilityId} /> : null}
      </Stack>
    </>
  );
}

function ContractEditor({ facilityId }: { facilityId: string }) {
  const { t } = useOrdersTranslation();
  const contract = useContract(facilityId);
  // Kept above the form: a saved contract comes back as a new version and a fresh form.
  const save = useSaveContract(facilityId);
  if (contract.isPending) return <Loader aria-label={t('common.loading')} />;
  if (contract.isError) return <ErrorAlert error={contract.error} title={t('orders.contracts.loadFailed')} testId="contract-load-error" />;
  return <ContractForm key={contract.data.version} facilityId={facilityId} contract={contract.data} save={save} />;
}

function ContractForm({ facilityId, contract, save }: { facilityId: string; contract: FacilityContractView; save: ReturnType<typeof useSaveContract> }) {
  const { t } = useOrdersTranslation();
  const user = useSessionUser();
  const right = contractRight(user, facilityId);
  const termsLocked = right !== 'all';
  const ladderLocked = right === 'none';
  const [terms, setTerms] = useState<FacilityContractTerms>(() => termsOf(contract));
  const [modalities, setModalities] = useState(contract.scope.modalities.join(', '));
  const [bodyParts, setBodyParts] = useState(contract.scope.bodyParts.join(', '));
  const set = <K extends keyof FacilityContractTerms>(key: K, value: FacilityContractTerms[K]) => setTerms((x) => ({ ...x, [key]: value }));
  const setStep = (i: number, patch: Partial<ContactStep>) => set('contactLadder', terms.contactLadder.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const move = (i: number, by: number) => {
    const ladder = [...terms.contactLadder];
    const [step] = ladder.splice(i, 1);
    ladder.splice(i + by, 0, step!);
    set('contactLadder', ladder);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ ...terms, scope: { modalities: list(modalities).map((m) => m.toUpperCase()), bodyParts: list(bodyParts) } });
  };

  return (
    <Stack gap="md" data-testid="contract-form" data-right={right} data-version={contract.version}>
      <Group gap="md">
        <Text size="sm" data-testid="contract-version">
          {t('orders.contracts.version', { version: contract.version })}
        </Text>
        {contract.updatedAt ? (
          <Text size="sm" c="dimmed">
            {t('orders.contracts.updated')}: <DateTime value={contract.updatedAt} /> {contract.updatedBy ?? ''}
          </Text>
        ) : null}
      </Group>
      {!contract.configured ? <Alert color="yellow">{t('orders.contracts.notConfigured')}</Alert> : null}
      {right === 'ladder' ? (
        <Alert color="blue" data-testid="contract-ladder-only">
          {t('orders.contracts.ladderOnly')}
        </Alert>
      ) : right === 'none' ? (
        <Alert color="gray" data-testid="contract-read-only">
          {t('orders.contracts.readOnly')}
        </Alert>
      ) : null}
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <Paper withBorder p="md">
            <Text fw={600} mb="xs">
              {t('orders.contracts.scope')}
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput label={t('orders.contracts.modalities')} value={modalities} onChange={(e) => setModalities(e.currentTarget.value)} disabled={termsLocked} data-testid="contract-modalities" />
              <TextInput label={t('orders.contracts.bodyParts')} value={bodyParts} onChange={(e) => setBodyParts(e.currentTarget.value)} disabled={termsLocked} data-testid="contract-body-parts" />
            </SimpleGrid>
            <Text fw={600} mt="md" mb="xs">
              {t('orders.contracts.due')}
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 4 }}>
              {(['stat', 'urgent', 'routine'] as const).map((p) => (
                <NumberInput
                  key={p}
                  label={t(`orders.priority.${p}`)}
                  value={terms.dueMinutes[p]}
                  min={1}
                  allowDecimal={false}
                  onChange={(v) => set('dueMinutes', { ...terms.dueMinutes, [p]: typeof v === 'number' ? v : Number(v) || 0 })}
                  disabled={termsLocked}
                  data-testid={`contract-due-${p}`}
                />
              ))}
              <NumberInput
                label={t('orders.contracts.retention')}
                value={terms.retentionDays}
                min={1}
                allowDecimal={false}
                onChange={(v) => set('retentionDays', typeof v === 'number' ? v : Number(v) || 0)}
                disabled={termsLocked}
                data-testid="contract-retention"
              />
            </SimpleGrid>
          </Paper>

          <Panel title={t('orders.contracts.ladder')} testId="contract-ladder">
            <Table fz="sm" verticalSpacing={4}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>#</Table.Th>
                  <Table.Th>{t('orders.contracts.ladderName')}</Table.Th>
                  <Table.Th>{t('orders.contracts.ladderRole')}</Table.Th>
                  <Table.Th>{t('orders.contracts.ladderPhone')}</Table.Th>
                  <Table.Th>{t('orders.contracts.ladderHours')}</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {terms.contactLadder.map((step, i) => (
                  <Table.Tr key={i} data-testid="contract-ladder-row">
                    <Table.Td>{i + 1}</Table.Td>
                    {(['name', 'role', 'phone', 'hours'] as const).map((field) => (
                      <Table.Td key={field}>
                        <TextInput
                          size="xs"
                          aria-label={`${t(`orders.contracts.ladder${field[0]!.toUpperCase()}${field.slice(1)}` as 'orders.contracts.ladderName')} ${i + 1}`}
                          value={step[field]}
                          onChange={(e) => setStep(i, { [field]: e.currentTarget.value })}
                          disabled={ladderLocked}
                          data-testid={`contract-ladder-${field}-${i}`}
                        />
                      </Table.Td>
                    ))}
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <ActionIcon variant="default" size="sm" aria-label={t('orders.contracts.ladderUp')} disabled={ladderLocked || i === 0} onClick={() => move(i, -1)} data-testid={`contract-ladder-up-${i}`}>
                          ↑
                        </ActionIcon>
                        <ActionIcon
                          variant="default"
                          size="sm"
                          aria-label={t('orders.contracts.ladderDown')}
                          disabled={ladderLocked || i === terms.contactLadder.length - 1}
                          onClick={() => move(i, 1)}
                          data-testid={`contract-ladder-down-${i}`}
                        >
                          ↓
                        </ActionIcon>
                        <ActionIcon
                          variant="default"
                          color="red"
                          size="sm"
                          aria-label={t('orders.contracts.ladderRemove')}
                          disabled={ladderLocked}
                          onClick={() => set('contactLadder', terms.contactLadder.filter((_, j) => j !== i))}
                          data-testid={`contract-ladder-remove-${i}`}
                        >
                          ×
                        </ActionIcon>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Button
              variant="default"
              w="fit-content"
              disabled={ladderLocked}
              onClick={() => set('contactLadder', [...terms.contactLadder, { name: '', role: '', phone: '', hours: '' }])}
              data-testid="contract-ladder-add"
            >
              {t('orders.contracts.ladderAdd')}
            </Button>
          </Panel>

          <Paper withBorder p="md">
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <NativeSelect
                label={t('orders.contracts.delivery')}
                value={terms.delivery.route}
                onChange={(e) => set('delivery', { ...terms.delivery, route: e.currentTarget.value as DeliveryRoute })}
                data={ROUTES.map((r) => ({ value: r, label: t(`orders.contracts.routes.${r}`) }))}
                disabled={termsLocked}
                data-testid="contract-delivery-route"
              />
              <TextInput
                label={t('orders.contracts.confirmer')}
                value={terms.delivery.transcriptionConfirmer}
                onChange={(e) => set('delivery', { ...terms.delivery, transcriptionConfirmer: e.currentTarget.value })}
                disabled={termsLocked || terms.delivery.route !== 'manual'}
                data-testid="contract-confirmer"
              />
            </SimpleGrid>
            <Stack gap="xs" mt="md">
              <Checkbox label={t('orders.contracts.onwardSharing')} checked={terms.onwardSharing} onChange={(e) => set('onwardSharing', e.currentTarget.checked)} disabled={termsLocked} data-testid="contract-onward-sharing" />
              <Checkbox
                label={t('orders.contracts.monitorCheck')}
                checked={terms.monitorCheckRequired}
                onChange={(e) => set('monitorCheckRequired', e.currentTarget.checked)}
                disabled={termsLocked}
                data-testid="contract-monitor-check"
              />
              <Checkbox
                label={t('orders.contracts.doubleReading')}
                checked={terms.doubleReading ?? false}
                onChange={(e) => set('doubleReading', e.currentTarget.checked)}
                disabled={termsLocked}
                data-testid="contract-double-reading"
              />
              <Textarea label={t('orders.contracts.optOutNotice')} value={terms.optOutNotice} onChange={(e) => set('optOutNotice', e.currentTarget.value)} autosize minRows={2} disabled={termsLocked} data-testid="contract-opt-out-notice" />
            </Stack>
          </Paper>

          <ErrorAlert error={save.error} title={t('orders.contracts.failed')} testId="contract-error" />
          {save.isSuccess ? (
            <Alert color="teal" role="status" data-testid="contract-saved">
              {t('orders.contracts.saved')}
            </Alert>
          ) : null}
          {right !== 'none' ? (
            <Button type="submit" w="fit-content" loading={save.isPending} data-testid="contract-save">
              {t('orders.contracts.save')}
            </Button>
          ) : null}
        </Stack>
      </form>
      <History facilityId={facilityId} />
    </Stack>
  );
}

function History({ facilityId }: { facilityId: string }) {
  const { t } = useOrdersTranslation();
  const history = useContractHistory(facilityId);
  return (
    <Panel title={t('orders.contracts.history')} testId="contract-history">
      <ErrorAlert error={history.error} />
      <Table fz="sm" verticalSpacing={4}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('orders.contracts.historyColumns.version')}</Table.Th>
            <Table.Th>{t('orders.contracts.historyColumns.changedAt')}</Table.Th>
            <Table.Th>{t('orders.contracts.historyColumns.changedBy')}</Table.Th>
            <Table.Th>{t('orders.contracts.historyColumns.summary')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(history.data ?? []).map((v) => (
            <Table.Tr key={v.version} data-testid="contract-history-row" data-version={v.version}>
              <Table.Td>{v.version}</Table.Td>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                <DateTime value={v.changedAt} />
              </Table.Td>
              <Table.Td>{v.changedBy}</Table.Td>
              <Table.Td>
                <Text size="xs">
                  {t('orders.priority.stat')} {v.terms.dueMinutes.stat} / {t('orders.priority.urgent')} {v.terms.dueMinutes.urgent} / {t('orders.priority.routine')} {v.terms.dueMinutes.routine} ·{' '}
                  {t(`orders.contracts.routes.${v.terms.delivery.route}`)} · {v.terms.contactLadder.map((s) => s.name).join(' → ')}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Panel>
  );
}
