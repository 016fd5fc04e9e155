/**
 * The reconciliation queue (W2): studies that found no order beside orders that have no
 * study; the user selects one of each and links them after a confirmation, or ends a link.
 * The server decides which facilities' queues the user works and audits every action.
 */
import { Alert, Button, Grid, Group, Loader, Modal, NativeSelect, Radio, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useOrdersTranslation } from './i18n.ts';
import { useSessionUser } from '../auth/session.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { grantFacilities } from './access.ts';
import { useAllFacilities, useReconcileLink, useReconciliation, useReconcileUnlink } from './api.ts';
import { examWords } from './OrderListPage.tsx';
import { Panel, PatientName, PriorityBadge } from './parts.tsx';

const RECONCILE_ROLES = ['facility-admin', 'technologist', 'attending-physician', 'radiologist'];

export function ReconciliationPage() {
  const { t } = useOrdersTranslation();
  const user = useSessionUser();
  const admin = user.grants.some((g) => g.role === 'system-admin');
  const all = useAllFacilities(admin);
  const facilities = admin && all.data ? all.data.map((f) => ({ id: f.id, name: f.name })) : grantFacilities(user, RECONCILE_ROLES);
  const [facilityId, setFacilityId] = useState('');
  const queue = useReconciliation(facilityId);
  const link = useReconcileLink();
  const unlink = useReconcileUnlink();
  const [studyId, setStudyId] = useState('');
  const [orderId, setOrderId] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [unlinkStudy, setUnlinkStudy] = useState('');
  const [unlinkReason, setUnlinkReason] = useState('');

  const study = queue.data?.studies.find((s) => s.studyId === studyId);
  const order = queue.data?.orders.find((o) => o.id === orderId);

  const doLink = () => {
    link.mutate(
      { studyId, orderId },
      {
        onSettled: () => setConfirming(false),
        onSuccess: () => {
          setStudyId('');
          setOrderId('');
        },
      },
    );
  };
  const doUnlink = (event: FormEvent) => {
    event.preventDefault();
    if (!unlinkStudy.trim()) return;
    unlink.mutate({ studyId: unlinkStudy.trim(), ...(unlinkReason.trim() ? { reason: unlinkReason.trim() } : {}) }, { onSuccess: () => setUnlinkStudy('') });
  };

  return (
    <>
      <PageHeader title={t('orders.reconciliation.title')} description={t('orders.reconciliation.description')} />
      <Stack gap="md">
        {facilities.length > 1 ? (
          <NativeSelect
            label={t('orders.reconciliation.facility')}
            value={facilityId}
            onChange={(e) => setFacilityId(e.currentTarget.value)}
            data={[{ value: '', label: t('orders.common.all') }, ...facilities.map((f) => ({ value: f.id, label: f.name }))]}
            w={320}
            data-testid="recon-facility"
          />
        ) : null}
        <ErrorAlert error={queue.error} title={t('orders.reconciliation.loadFailed')} testId="recon-load-error" />
        <ErrorAlert error={link.error ?? unlink.error} title={t('orders.reconciliation.failed')} testId="recon-error" />
        {link.isSuccess ? (
          <Alert color="teal" role="status" data-testid="recon-linked">
            {t('orders.reconciliation.linked')}
          </Alert>
        ) : null}
        {unlink.isSuccess ? (
          <Alert color="teal" role="status" data-testid="recon-unlinked">
            {t('orders.reconciliation.unlinked')}
          </Alert>
        ) : null}
        {queue.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : queue.data ? (
          <>
            <Group>
              <Button disabled={!study || !order} onClick={() => setConfirming(true)} data-testid="recon-link">
                {t('orders.reconciliation.link')}
              </Button>
            </Group>
            <Grid>
              <Grid.Col span={{ base: 12, lg: 6 }}>
                <Panel title={t('orders.reconciliation.studies')} testId="recon-studies">
                  {queue.data.studies.length === 0 ? (
                    <Text c="dimmed" data-testid="recon-studies-empty">
                      {t('orders.reconciliation.noStudies')}
                    </Text>
                  ) : (
                    <Radio.Group value={studyId} onChange={setStudyId} aria-label={t('orders.reconciliation.studies')}>
                      <Table fz="sm" verticalSpacing={4}>
                        <Table.Tbody>
                          {queue.data.studies.map((s) => (
                            <Table.Tr key={s.studyId} data-testid="recon-study-row" data-study-id={s.studyId}>
                              <Table.Td>
                                <Radio value={s.studyId} aria-label={t('orders.reconciliation.select')} data-testid={`recon-study-${s.studyId}`} />
                              </Table.Td>
                              <Table.Td>
                                <PatientName name={s.patient.name} />
                                <Text size="xs" c="dimmed">
                                  {s.patient.patientId}
                                </Text>
                              </Table.Td>
                              <Table.Td>
                                {s.modalities} {s.description}
                                <Text size="xs" c="dimmed">
                                  {t('orders.reconciliation.studyDate')} {s.studyDate} · {t('orders.reconciliation.accession')} {s.accessionNumber || '—'}
                                </Text>
                              </Table.Td>
                              <Table.Td>
                                <Text size="xs">{t(`orders.reconciliation.reasons.${s.reason}`)}</Text>
                                <Text size="xs" c="dimmed">
                                  {s.facilityName} · <DateTime value={s.queuedAt} />
                                </Text>
                              </Table.Td>
                            </Table.Tr>
                          ))}
                        </Table.Tbody>
                      </Table>
                    </Radio.Group>
                  )}
                </Panel>
              </Grid.Col>
              <Grid.Col span={{ base: 12, lg: 6 }}>
                <Panel title={t('orders.reconciliation.orders')} testId="recon-orders">
                  {queue.data.orders.length === 0 ? (
                    <Text c="dimmed" data-testid="recon-orders-empty">
                      {t('orders.reconciliation.noOrders')}
                    </Text>
                  ) : (
                    <Radio.Group value={orderId} onChange={setOrderId} aria-label={t('orders.reconciliation.orders')}>
                      <Table fz="sm" verticalSpacing={4}>
                        <Table.Tbody>
                          {queue.data.orders.map((o) => (
                            <Table.Tr key={o.id} data-testid="recon-order-row" data-order-id={o.id}>
                              <Table.Td>
                                <Radio value={o.id} aria-label={t('orders.reconciliation.select')} data-testid={`recon-order-${o.id}`} />
                              </Table.Td>
                              <Table.Td>
                                <PatientName name={o.patient.name} />
                                <Text size="xs" c="dimmed">
                                  {o.patient.patientId}
                                </Text>
                              </Table.Td>
                              <Table.Td>
                                {o.modality} {examWords(o)}
                                <Text size="xs" c="dimmed">
                                  {t('orders.reconciliation.accession')} {o.accessionNumber || '—'} · <DateTime value={o.requestedAt} />
                                </Text>
                              </Table.Td>
                              <Table.Td>
                                <PriorityBadge priority={o.priority} />
                                <Text size="xs" c="dimmed">
                                  {o.facilityName}
                                </Text>
                              </Table.Td>
                            </Table.Tr>
                          ))}
                        </Table.Tbody>
                      </Table>
                    </Radio.Group>
                  )}
                </Panel>
              </Grid.Col>
            </Grid>
          </>
        ) : null}

        <Panel title={t('orders.reconciliation.unlink')} testId="recon-unlink">
          <form onSubmit={doUnlink} noValidate>
            <Group align="flex-end">
              <TextInput label={t('orders.reconciliation.unlinkStudyId')} value={unlinkStudy} onChange={(e) => setUnlinkStudy(e.currentTarget.value)} autoComplete="off" data-testid="recon-unlink-study" />
              <TextInput label={t('orders.reconciliation.unlinkReason')} value={unlinkReason} onChange={(e) => setUnlinkReason(e.currentTarget.value)} data-testid="recon-unlink-reason" />
              <Button type="submit" variant="default" color="red" disabled={!unlinkStudy.trim()} loading={unlink.isPending} data-testid="recon-unlink-submit">
                {t('orders.reconciliation.unlink')}
              </Button>
            </Group>
          </form>
        </Panel>
      </Stack>

      <Modal opened={confirming} onClose={() => setConfirming(false)} title={t('orders.reconciliation.confirmTitle')} data-testid="recon-confirm-dialog">
        <Stack>
          <Text>{t('orders.reconciliation.confirmText')}</Text>
          {study ? (
            <Text size="sm" data-testid="recon-confirm-study">
              {study.modalities} {study.description} · {study.studyDate} · {study.patient.patientId}
            </Text>
          ) : null}
          {order ? (
            <Text size="sm" data-testid="recon-confirm-order">
              {order.modality} {examWords(order)} · {order.patient.patientId}
            </Text>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)} data-testid="recon-confirm-cancel">
              {t('orders.common.cancel')}
            </Button>
            <Button onClick={doLink} loading={link.isPending} data-testid="recon-confirm">
              {t('orders.common.confirm')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
