/**
 * One order (W1, W4, W5): protocol check warnings first, then the request with the JJ1017
 * code in words, the patient, the clinical context (diagnoses, allergies, creatinine and
 * eGFR by date, medication), the linked study, related orders (priors), the protocol
 * instructions (radiologists write; others read), the consultation thread and the history.
 */
import { Alert, Anchor, Badge, Button, Grid, Group, List, Loader, Stack, Table, Text, Textarea } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useOrdersTranslation, type OrdersT } from './i18n.ts';
import type { ClinicalEntry, LabTrend, OrderDetail, ProtocolWarning } from '../../../shared/api.ts';
import { linkProps } from '../../app/router.tsx';
import { useSessionUser } from '../auth/session.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { formatDateTime } from '../../ui/time.ts';
import { canReadImages } from '../../app/access.ts';
import { canWriteProtocol } from './access.ts';
import { useOrder, useOrderMessages, usePostMessage, useSetProtocol } from './api.ts';
import { examWords } from './OrderListPage.tsx';
import { formatBirthDate, Jj1017Words, Panel, PatientName, PriorityBadge, StatusBadge } from './parts.tsx';

export function OrderDetailPage({ orderId }: { orderId: string }) {
  const { t } = useOrdersTranslation();
  const order = useOrder(orderId);
  if (order.isPending) return <Loader aria-label={t('common.loading')} />;
  if (order.isError) {
    return (
      <>
        <PageHeader title={t('orders.detail.title')} />
        <ErrorAlert error={order.error} title={t('orders.detail.loadFailed')} testId="order-error" />
      </>
    );
  }
  return <OrderView order={order.data} />;
}

function OrderView({ order }: { order: OrderDetail }) {
  const { t, i18n } = useOrdersTranslation();
  const user = useSessionUser();
  return (
    <>
      <PageHeader
        title={`${t('orders.detail.title')}: ${examWords(order)}`}
        description={
          <Anchor {...linkProps('/orders')} size="sm" data-testid="order-back">
            {t('orders.detail.back')}
          </Anchor>
        }
        actions={
          <Group gap="xs">
            <StatusBadge status={order.status} />
            <PriorityBadge priority={order.priority} />
            {order.contrast ? (
              <Badge color="grape" variant="light" tt="none">
                {t('orders.common.contrast')}
              </Badge>
            ) : null}
          </Group>
        }
      />
      <Stack gap="md" data-testid="order-detail" data-order-id={order.id}>
        <Warnings warnings={order.warnings} />
        {order.optedOut ? (
          <Alert color="gray" data-testid="order-opted-out">
            {t('orders.detail.optedOut')}
          </Alert>
        ) : null}
        {order.outOfScope.length ? (
          <Alert color="orange" title={t('orders.detail.outOfScope')} data-testid="order-out-of-scope">
            {order.outOfScope.join(', ')}
          </Alert>
        ) : null}
        <Grid>
          <Grid.Col span={{ base: 12, md: 7 }}>
            <Panel title={t('orders.detail.request')} testId="order-request">
              <Field label={t('orders.detail.reason')} testId="order-reason">
                {order.reason || '—'}
              </Field>
              <Field label={t('orders.detail.clinicalNotes')}>{order.clinicalNotes || '—'}</Field>
              <Field label={t('orders.detail.requester')} testId="order-requester">
                {[order.requester.name, order.requester.department].filter(Boolean).join(' / ') || '—'}
              </Field>
              <Field label={t('orders.detail.jj1017')}>{order.jj1017 ? <Jj1017Words jj={order.jj1017} /> : '—'}</Field>
              <Field label={t('orders.detail.procedure')}>{[order.procedureText, order.modality, order.bodyPart].filter(Boolean).join(' / ')}</Field>
              <Group gap="xl">
                <Field label={t('orders.detail.placer')}>{order.placerOrderNumber || '—'}</Field>
                <Field label={t('orders.detail.accession')}>{order.accessionNumber || '—'}</Field>
                <Field label={t('orders.detail.source')}>{order.source}</Field>
              </Group>
              <Group gap="xl">
                <Field label={t('orders.detail.requestedAt')}>
                  <DateTime value={order.requestedAt} />
                </Field>
                <Field label={t('orders.detail.scheduledAt')}>
                  <DateTime value={order.scheduledAt} />
                </Field>
                <Field label={t('orders.detail.due')}>{t('orders.common.minutes', { count: order.dueMinutes })}</Field>
              </Group>
            </Panel>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 5 }}>
            <Panel title={t('orders.detail.patient')} testId="order-patient">
              <PatientName name={order.patient.name} />
              <Group gap="xl">
                <Field label={t('orders.detail.patientId')}>{order.patient.patientId}</Field>
                <Field label={t('orders.detail.sex')}>{order.patient.sex || '—'}</Field>
                <Field label={t('orders.detail.birthDate')}>{formatBirthDate(order.patient.birthDate, i18n.language)}</Field>
              </Group>
              <Field label={t('orders.common.facility')}>{order.facilityName}</Field>
              <Anchor {...linkProps(`/patients/${encodeURIComponent(order.patient.id)}`)} data-testid="order-patient-link">
                {t('orders.detail.patientPage')}
              </Anchor>
            </Panel>
          </Grid.Col>
        </Grid>

        <Clinical order={order} />

        <Grid>
          <Grid.Col span={{ base: 12, md: 6 }}>
            <Panel title={t('orders.detail.study')} testId="order-study">
              {order.study ? (
                <Stack gap={4}>
                  <Text>{[order.study.description, order.study.modalities].filter(Boolean).join(' / ')}</Text>
                  <Text size="sm" c="dimmed">
                    {order.study.studyDate} {order.study.accessionNumber ? `· ${order.study.accessionNumber}` : ''} · {t(`orders.detail.linkMethod.${order.study.method}`)}
                  </Text>
                  {canReadImages(user) ? (
                    <Button component="a" size="compact-sm" w="fit-content" {...linkProps(`/viewer/studies/${encodeURIComponent(order.study.studyUid)}`)} data-testid="order-open-viewer">
                      {t('orders.detail.openViewer')}
                    </Button>
                  ) : null}
                </Stack>
              ) : (
                <Text c="dimmed">{t('orders.detail.noStudy')}</Text>
              )}
            </Panel>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 6 }}>
            <Panel title={t('orders.detail.priors')} testId="order-priors">
              {order.relatedOrders.length === 0 ? (
                <Text c="dimmed">{t('orders.detail.noPriors')}</Text>
              ) : (
                <Table fz="sm" verticalSpacing={4}>
                  <Table.Tbody>
                    {order.relatedOrders.map((r) => (
                      <Table.Tr key={r.id} data-testid="order-prior-row">
                        <Table.Td style={{ whiteSpace: 'nowrap' }}>
                          <DateTime value={r.requestedAt} />
                        </Table.Td>
                        <Table.Td>
                          <Anchor {...linkProps(`/orders/${encodeURIComponent(r.id)}`)}>{examWords(r)}</Anchor>
                        </Table.Td>
                        <Table.Td>{r.facilityName}</Table.Td>
                        <Table.Td>
                          <StatusBadge status={r.status} />
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              )}
            </Panel>
          </Grid.Col>
        </Grid>

        <Protocol order={order} editable={canWriteProtocol(user, order.facilityId)} />
        <Consultation orderId={order.id} />

        <Panel title={t('orders.detail.history')} testId="order-history">
          <Table.ScrollContainer minWidth={700}>
            <Table fz="sm" verticalSpacing={4}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('orders.detail.historyColumns.receivedAt')}</Table.Th>
                  <Table.Th>{t('orders.detail.historyColumns.control')}</Table.Th>
                  <Table.Th>{t('orders.detail.historyColumns.outcome')}</Table.Th>
                  <Table.Th>{t('orders.detail.historyColumns.source')}</Table.Th>
                  <Table.Th>{t('orders.detail.historyColumns.changed')}</Table.Th>
                  <Table.Th>{t('orders.detail.historyColumns.by')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {order.history.map((h) => (
                  <Table.Tr key={h.id} data-testid="order-history-row">
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <DateTime value={h.receivedAt} />
                    </Table.Td>
                    <Table.Td ff="monospace">{h.control}</Table.Td>
                    <Table.Td ff="monospace">{h.outcome}</Table.Td>
                    <Table.Td>{h.source}</Table.Td>
                    <Table.Td>{h.changed.map((c) => changedWords(c, t)).join(', ') || '—'}</Table.Td>
                    <Table.Td>{h.by}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Panel>
      </Stack>
    </>
  );
}

function Field({ label, children, testId }: { label: string; children: React.ReactNode; testId?: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <div data-testid={testId} style={{ whiteSpace: 'pre-wrap' }}>
        {children}
      </div>
    </div>
  );
}

const SEVERITY_COLOURS: Record<ProtocolWarning['severity'], string> = { danger: 'red', warning: 'orange', info: 'blue' };

function Warnings({ warnings }: { warnings: ProtocolWarning[] }) {
  const { t, i18n } = useOrdersTranslation();
  if (warnings.length === 0) return null;
  return (
    <Stack gap="xs" data-testid="order-warnings" aria-label={t('orders.detail.warnings')}>
      {warnings.map((w) => (
        <Alert
          key={w.code}
          color={SEVERITY_COLOURS[w.severity]}
          variant={w.severity === 'danger' ? 'filled' : 'light'}
          title={i18n.language === 'en' ? w.message.en : w.message.ja}
          role="alert"
          data-testid={`order-warning-${w.code}`}
          data-severity={w.severity}
        >
          {w.evidence.length ? (
            <Text size="sm">
              {t('orders.detail.evidence')}:{' '}
              {w.evidence
                .map((e) => [e.text, e.value !== null ? `${e.value} ${e.unit}` : '', e.observedAt ? formatDateTime(e.observedAt, i18n.language).slice(0, 10) : ''].filter(Boolean).join(' '))
                .join(' / ')}
            </Text>
          ) : null}
        </Alert>
      ))}
    </Stack>
  );
}

function Entries({ entries, testId }: { entries: ClinicalEntry[]; testId: string }) {
  const { t, i18n } = useOrdersTranslation();
  if (entries.length === 0)
    return (
      <Text size="sm" c="dimmed" data-testid={testId}>
        {t('orders.detail.noData')}
      </Text>
    );
  return (
    <List size="sm" spacing={2} data-testid={testId}>
      {entries.map((e) => (
        <List.Item key={e.id}>
          {e.text || e.code}
          <Text component="span" size="xs" c="dimmed">
            {' '}
            {formatDateTime(e.observedAt, i18n.language).slice(0, 10)}
            {e.linked ? ` · ${t('orders.common.linkedRecord')}` : ''}
          </Text>
        </List.Item>
      ))}
    </List>
  );
}

/** A lab trend as a small table with a bar per value (newest first). */
function Trend({ label, trend, testId }: { label: string; trend: LabTrend; testId: string }) {
  const { t, i18n } = useOrdersTranslation();
  const max = Math.max(1, ...trend.points.map((p) => p.value));
  return (
    <div data-testid={testId} data-latest={trend.latest?.value ?? ''}>
      <Text size="sm" fw={600}>
        {label}
        {trend.latest ? ` ${trend.latest.value} ${trend.latest.unit}` : ''}
        {trend.change !== null ? ` (${trend.change > 0 ? '+' : ''}${Math.round(trend.change * 100) / 100})` : ''}
      </Text>
      {trend.points.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('orders.detail.noData')}
        </Text>
      ) : (
        <Table fz="xs" verticalSpacing={2}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('orders.detail.date')}</Table.Th>
              <Table.Th>{t('orders.detail.value')}</Table.Th>
              <Table.Th w="40%" />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {trend.points.map((p, i) => (
              <Table.Tr key={`${p.observedAt}-${i}`} data-testid={`${testId}-point`}>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(p.observedAt, i18n.language).slice(0, 10)}</Table.Td>
                <Table.Td>
                  {p.value} {p.unit} {p.derived ? t('orders.detail.derived') : ''}
                </Table.Td>
                <Table.Td>
                  <div aria-hidden style={{ height: 8, width: `${(p.value / max) * 100}%`, background: 'var(--mantine-color-blue-4)', borderRadius: 2 }} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </div>
  );
}

function Clinical({ order }: { order: OrderDetail }) {
  const { t } = useOrdersTranslation();
  const c = order.clinical;
  return (
    <Panel title={t('orders.detail.clinical')} testId="order-clinical">
      <Grid>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Text size="sm" fw={600}>
            {t('orders.detail.diagnoses')}
          </Text>
          <Entries entries={c.diagnoses} testId="order-diagnoses" />
          <Text size="sm" fw={600} mt="sm">
            {t('orders.detail.allergies')}
          </Text>
          <Entries entries={c.allergies} testId="order-allergies" />
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Trend label={t('orders.detail.egfr')} trend={c.egfr} testId="order-egfr" />
          <Trend label={t('orders.detail.creatinine')} trend={c.creatinine} testId="order-creatinine" />
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Text size="sm" fw={600}>
            {t('orders.detail.medication')}
          </Text>
          <Entries entries={[...c.prescriptions, ...c.injections]} testId="order-medication" />
        </Grid.Col>
      </Grid>
    </Panel>
  );
}

function Protocol({ order, editable }: { order: OrderDetail; editable: boolean }) {
  const { t } = useOrdersTranslation();
  const save = useSetProtocol(order.id);
  const [text, setText] = useState(order.protocol?.text ?? '');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(text.trim());
  };
  return (
    <Panel title={t('orders.detail.protocol')} testId="order-protocol">
      {order.protocol ? (
        <Stack gap={2}>
          <Text style={{ whiteSpace: 'pre-wrap' }} data-testid="order-protocol-text">
            {order.protocol.text}
          </Text>
          <Text size="xs" c="dimmed">
            {order.protocol.author} · <DateTime value={order.protocol.recordedAt} />
          </Text>
        </Stack>
      ) : (
        <Text c="dimmed" data-testid="order-protocol-empty">
          {t('orders.detail.noProtocol')}
        </Text>
      )}
      {editable ? (
        <form onSubmit={submit} noValidate>
          <Stack gap="xs">
            <Textarea label={t('orders.detail.protocolEdit')} value={text} onChange={(e) => setText(e.currentTarget.value)} autosize minRows={3} data-testid="order-protocol-input" />
            <ErrorAlert error={save.error} title={t('orders.detail.protocolFailed')} testId="order-protocol-error" />
            {save.isSuccess ? (
              <Text size="sm" c="teal" role="status" data-testid="order-protocol-saved">
                {t('orders.detail.protocolSaved')}
              </Text>
            ) : null}
            <Button type="submit" w="fit-content" loading={save.isPending} disabled={!text.trim()} data-testid="order-protocol-save">
              {t('orders.detail.protocolSave')}
            </Button>
          </Stack>
        </form>
      ) : null}
      {order.protocol?.earlier.length ? (
        <details>
          <summary>{t('orders.detail.earlier')}</summary>
          <List size="sm">
            {order.protocol.earlier.map((e, i) => (
              <List.Item key={i}>
                {e.text}{' '}
                <Text component="span" size="xs" c="dimmed">
                  {e.author} · <DateTime value={e.recordedAt} />
                </Text>
              </List.Item>
            ))}
          </List>
        </details>
      ) : null}
    </Panel>
  );
}

function Consultation({ orderId }: { orderId: string }) {
  const { t } = useOrdersTranslation();
  const messages = useOrderMessages(orderId);
  const post = usePostMessage(orderId);
  const [text, setText] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!text.trim()) return;
    post.mutate(text.trim(), { onSuccess: () => setText('') });
  };
  return (
    <Panel title={t('orders.detail.consultation')} testId="order-consultation">
      <ErrorAlert error={messages.error} />
      {messages.data?.length === 0 ? (
        <Text c="dimmed" size="sm">
          {t('orders.detail.noMessages')}
        </Text>
      ) : null}
      <Stack gap="xs">
        {(messages.data ?? []).map((m) => (
          <div key={m.id} data-testid="consultation-message">
            <Text size="xs" c="dimmed">
              {m.author} {m.roles ? `(${m.roles})` : ''} · <DateTime value={m.postedAt} />
            </Text>
            <Text style={{ whiteSpace: 'pre-wrap' }}>{m.text}</Text>
          </div>
        ))}
      </Stack>
      <form onSubmit={submit} noValidate>
        <Stack gap="xs">
          <Textarea label={t('orders.detail.message')} value={text} onChange={(e) => setText(e.currentTarget.value)} autosize minRows={2} data-testid="consultation-input" />
          <ErrorAlert error={post.error} title={t('orders.detail.postFailed')} testId="consultation-error" />
          <Button type="submit" w="fit-content" loading={post.isPending} disabled={!text.trim()} data-testid="consultation-post">
            {t('orders.detail.post')}
          </Button>
        </Stack>
      </form>
    </Panel>
  );
}

const STATUSES = new Set(['scheduled', 'in-progress', 'completed', 'cancelled']);

/**
 * A changed field of the history in words. Status changes Enkaku makes itself (source
 * `enkaku`: a study linked or unlinked, the report final) read `status=<status>`.
 */
function changedWords(field: string, t: OrdersT): string {
  const m = /^status=(.+)$/.exec(field);
  if (m && STATUSES.has(m[1]!)) return `${t('orders.list.status')}: ${t(`orders.status.${m[1] as 'scheduled' | 'in-progress' | 'completed' | 'cancelled'}`)}`;
  return field;
}
