/**
 * A patient record of one facility (W3, S1): demographics, links to other facilities'
 * records (stewards link and unlink), and the opt-out record (record and withdraw). The
 * path carries the internal id only.
 */
import { Alert, Badge, Button, Group, Loader, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useOrdersTranslation } from './i18n.ts';
import type { PatientDetail } from '../../../shared/api.ts';
import { useSessionUser } from '../auth/session.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { tokyoToday } from '../../ui/time.ts';
import { canRecordOptOut, isMpiSteward } from './access.ts';
import { usePatient, usePatientLink, usePatientUnlink, useRecordOptOut, useWithdrawOptOut } from './api.ts';
import { formatBirthDate, nameGroup, Panel, PatientName } from './parts.tsx';

export function PatientPage({ patientId }: { patientId: string }) {
  const { t } = useOrdersTranslation();
  const patient = usePatient(patientId);
  if (patient.isPending) return <Loader aria-label={t('common.loading')} />;
  if (patient.isError)
    return (
      <>
        <PageHeader title={t('orders.patient.title')} />
        <ErrorAlert error={patient.error} title={t('orders.patient.loadFailed')} testId="patient-error" />
      </>
    );
  return <PatientView patient={patient.data} />;
}

function PatientView({ patient }: { patient: PatientDetail }) {
  const { t, i18n } = useOrdersTranslation();
  const user = useSessionUser();
  const steward = isMpiSteward(user);
  return (
    <>
      <PageHeader title={t('orders.patient.title')} />
      <Stack gap="md" data-testid="patient-page" data-patient-id={patient.id}>
        <Panel title={t('orders.patient.demographics')} testId="patient-demographics">
          <PatientName name={patient.name} />
          <Text size="sm">{nameGroup(patient.name.alphabetic)}</Text>
          <Group gap="xl">
            <Text size="sm">
              {t('orders.detail.patientId')}: {patient.patientId}
              {patient.issuer ? ` (${t('orders.patient.issuer')}: ${patient.issuer})` : ''}
            </Text>
            <Text size="sm">
              {t('orders.detail.sex')}: {patient.sex || '—'}
            </Text>
            <Text size="sm">
              {t('orders.detail.birthDate')}: {formatBirthDate(patient.birthDate, i18n.language)}
            </Text>
            <Text size="sm">
              {t('orders.common.facility')}: {patient.facilityName}
            </Text>
          </Group>
          <Group gap="xs">
            <Text size="sm">{t('orders.patient.sharing')}:</Text>
            <Badge color={patient.sharingAllowed ? 'teal' : 'gray'} tt="none" data-testid="patient-sharing" data-allowed={String(patient.sharingAllowed)}>
              {patient.sharingAllowed ? t('orders.patient.sharingAllowed') : t('orders.patient.sharingBlocked')}
            </Badge>
          </Group>
        </Panel>
        <Links patient={patient} steward={steward} />
        <OptOuts patient={patient} allowed={canRecordOptOut(user, patient.facilityId)} />
      </Stack>
    </>
  );
}

function Links({ patient, steward }: { patient: PatientDetail; steward: boolean }) {
  const { t } = useOrdersTranslation();
  const link = usePatientLink();
  const unlink = usePatientUnlink();
  const [other, setOther] = useState('');
  const [reason, setReason] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    link.mutate({ patientA: patient.id, patientB: other.trim(), reason: reason.trim() }, { onSuccess: () => setOther('') });
  };
  return (
    <Panel title={t('orders.patient.links')} testId="patient-links">
      {patient.links.length === 0 ? (
        <Text c="dimmed" size="sm">
          {t('orders.patient.noLinks')}
        </Text>
      ) : (
        <Table fz="sm" verticalSpacing={4}>
          <Table.Tbody>
            {patient.links.map((l) => (
              <Table.Tr key={l.id} data-testid="patient-link-row" data-active={String(l.active)}>
                <Table.Td>
                  {l.other ? (
                    <>
                      <PatientName name={l.other.name} />
                      <Text size="xs" c="dimmed">
                        {l.other.facilityName} · {l.other.patientId}
                      </Text>
                    </>
                  ) : (
                    <Text size="sm" c="dimmed">
                      {t('orders.patient.hidden')}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Badge color={l.active ? 'teal' : 'gray'} tt="none">
                    {l.active ? t('orders.patient.active') : t('orders.patient.ended')}
                  </Badge>{' '}
                  {l.active ? <Badge color={l.shared ? 'blue' : 'gray'} tt="none">{l.shared ? t('orders.patient.sharingAllowed') : t('orders.patient.sharingBlocked')}</Badge> : null}
                </Table.Td>
                <Table.Td>
                  <Text size="xs">{l.reason}</Text>
                  <Text size="xs" c="dimmed">
                    {l.linkedBy} · <DateTime value={l.linkedAt} />
                    {l.unlinkedAt ? (
                      <>
                        {' '}
                        → {l.unlinkedBy} · <DateTime value={l.unlinkedAt} /> {l.unlinkReason ?? ''}
                      </>
                    ) : null}
                  </Text>
                </Table.Td>
                <Table.Td>
                  {steward && l.active ? (
                    <Button size="compact-xs" variant="default" color="red" loading={unlink.isPending} onClick={() => unlink.mutate({ linkId: l.id, reason: reason.trim() })} data-testid={`patient-unlink-${l.id}`}>
                      {t('orders.patient.unlink')}
                    </Button>
                  ) : null}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <ErrorAlert error={link.error ?? unlink.error} title={t('orders.patient.failed')} testId="patient-link-error" />
      {steward ? (
        <form onSubmit={submit} noValidate>
          <Group align="flex-end">
            <TextInput label={t('orders.patient.linkOther')} value={other} onChange={(e) => setOther(e.currentTarget.value)} autoComplete="off" data-testid="patient-link-other" />
            <TextInput label={t('orders.patient.linkReason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="patient-link-reason" />
            <Button type="submit" disabled={!other.trim()} loading={link.isPending} data-testid="patient-link-submit">
              {t('orders.patient.link')}
            </Button>
          </Group>
        </form>
      ) : null}
    </Panel>
  );
}

function OptOuts({ patient, allowed }: { patient: PatientDetail; allowed: boolean }) {
  const { t } = useOrdersTranslation();
  const record = useRecordOptOut(patient.id);
  const withdraw = useWithdrawOptOut(patient.id);
  const [date, setDate] = useState(tokyoToday());
  const [source, setSource] = useState('');
  const [note, setNote] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (patient.optedOut) withdraw.mutate({ date, ...(source.trim() ? { source: source.trim() } : {}) });
    else record.mutate({ date, source: source.trim(), ...(note.trim() ? { note: note.trim() } : {}) });
  };
  return (
    <Panel title={t('orders.patient.optOut')} testId="patient-opt-out">
      <Alert color={patient.optedOut ? 'orange' : 'gray'} data-testid="patient-opt-out-state" data-opted-out={String(patient.optedOut)}>
        {patient.optedOut ? t('orders.patient.optedOut') : t('orders.patient.notOptedOut')}
      </Alert>
      {patient.optOuts.length ? (
        <Table fz="sm" verticalSpacing={4}>
          <Table.Tbody>
            {patient.optOuts.map((o) => (
              <Table.Tr key={o.id} data-testid="patient-opt-out-row" data-active={String(o.active)}>
                <Table.Td>
                  {o.declaredOn} · {o.source} {o.note ? `· ${o.note}` : ''}
                </Table.Td>
                <Table.Td>
                  <Text size="xs" c="dimmed">
                    {o.recordedBy} · <DateTime value={o.recordedAt} />
                  </Text>
                </Table.Td>
                <Table.Td>
                  {o.withdrawnOn ? (
                    <Text size="xs">
                      {t('orders.patient.withdrawn')}: {o.withdrawnOn} {o.withdrawnSource ?? ''} · {o.withdrawnBy ?? ''}
                    </Text>
                  ) : null}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      <ErrorAlert error={record.error ?? withdraw.error} title={t('orders.patient.failed')} testId="patient-opt-out-error" />
      {allowed ? (
        <form onSubmit={submit} noValidate>
          <Group align="flex-end">
            <TextInput type="date" label={t('orders.patient.optOutDate')} value={date} onChange={(e) => setDate(e.currentTarget.value)} data-testid="patient-opt-out-date" />
            <TextInput label={t('orders.patient.optOutSource')} value={source} onChange={(e) => setSource(e.currentTarget.value)} placeholder="書面" data-testid="patient-opt-out-source" />
            {!patient.optedOut ? <TextInput label={t('orders.patient.optOutNote')} value={note} onChange={(e) => setNote(e.currentTarget.value)} data-testid="patient-opt-out-note" /> : null}
            <Button type="submit" color={patient.optedOut ? 'gray' : 'orange'} loading={record.isPending || withdraw.isPending} data-testid={patient.optedOut ? 'patient-opt-out-withdraw' : 'patient-opt-out-record'}>
              {patient.optedOut ? t('orders.patient.withdraw') : t('orders.patient.record')}
            </Button>
          </Group>
        </form>
      ) : null}
    </Panel>
  );
}
