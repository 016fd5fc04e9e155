/**
 * One finding as its recipients, its reader and the management physician see it: category,
 * facility, message, deadline, ladder step and recipients, acknowledgement, the telephone
 * log (C1), the follow-up of an incidental finding (C3) and the whole history.
 */
import { Alert, Badge, Button, Card, Collapse, Group, NativeSelect, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import type { FindingView, FollowUpRequest, PhoneContactRequest } from '../../../shared/findings.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { DateTime } from '../../ui/DateTime.tsx';
import { formatDay } from '../../ui/time.ts';
import { useSessionUser } from '../auth/session.ts';
import { useAcknowledge, useFollowUp, usePhoneContact } from './api.ts';
import { DeadlineCountdown } from './countdown.tsx';
import { useFindingsTranslation, type FindingsT } from './i18n.ts';
import { CategoryBadge, FollowUpBadge, StatusBadge } from './parts.tsx';

const OUTCOMES: PhoneContactRequest['outcome'][] = ['reached', 'no-answer', 'left-message'];
const FOLLOW_UP_ACTIONS: FollowUpRequest['state'][] = ['exam-ordered', 'referred', 'not-needed'];

/** The full card of a finding. `highlight` marks the one an alert opened. */
export function FindingCard({ finding, highlight = false, canAct = true }: { finding: FindingView; highlight?: boolean; canAct?: boolean }) {
  const { t } = useFindingsTranslation();
  const user = useSessionUser();
  const ack = useAcknowledge();
  const [phoneOpen, setPhoneOpen] = useState(false);
  // Only a notice's recipients acknowledge it (the server refuses anyone else).
  const recipient = finding.recipients.some((r) => r.userId === user.id);
  const [historyOpen, setHistoryOpen] = useState(highlight);
  const open = finding.status === 'open';
  return (
    <Card
      withBorder
      radius="md"
      padding="md"
      shadow={highlight ? 'md' : undefined}
      style={highlight ? { outline: '3px solid var(--mantine-color-blue-5)' } : undefined}
      data-testid="finding-card"
      data-finding-id={finding.id}
      data-category={finding.category}
      data-status={finding.status}
      data-step={finding.step}
      data-escalations={finding.escalations}
      component="article"
      aria-labelledby={`finding-${finding.id}-title`}
    >
      <Stack gap="xs">
        <Group justify="space-between" align="flex-start" wrap="wrap">
          <Group gap="xs">
            <CategoryBadge category={finding.category} t={t} />
            <StatusBadge status={finding.status} t={t} />
            {finding.escalations > 0 ? (
              <Badge color="red" variant="outline" tt="none" data-testid="finding-escalations">
                {t('findings.card.escalations', { count: finding.escalations })}
              </Badge>
            ) : null}
            <Title order={3} fz="md" id={`finding-${finding.id}-title`} data-testid="finding-facility">
              {finding.facilityName}
            </Title>
          </Group>
          {open ? <DeadlineCountdown deadlineAt={finding.deadlineAt} /> : null}
        </Group>
        <Text style={{ whiteSpace: 'pre-wrap' }} fw={500} data-testid="finding-message">
          {finding.message}
        </Text>
        <Text size="xs" c="dimmed">
          {t('findings.card.raisedBy', { name: finding.raisedBy.name })} <DateTime value={finding.raisedAt} />
        </Text>
        {finding.acknowledgedBy ? (
          <Text size="sm" c="teal" fw={700} data-testid="finding-acknowledged-by">
            {t('findings.card.acknowledgedBy', { name: finding.acknowledgedBy.name })} <DateTime value={finding.acknowledgedAt} />
          </Text>
        ) : null}

        <Recipients finding={finding} t={t} />

        {finding.followUp ? <FollowUp finding={finding} canAct={canAct} t={t} /> : null}

        {finding.phoneContacts.length ? <PhoneContacts finding={finding} t={t} /> : null}

        {canAct ? (
          <Group gap="xs">
            {open && recipient ? (
              <Button color="red" onClick={() => ack.mutate(finding.id)} loading={ack.isPending} data-testid="finding-ack">
                {t('findings.actions.acknowledge')}
              </Button>
            ) : null}
            <Button variant="light" onClick={() => setPhoneOpen((o) => !o)} aria-expanded={phoneOpen} data-testid="finding-phone-toggle">
              {t('findings.phone.log')}
            </Button>
            <Button variant="subtle" onClick={() => setHistoryOpen((o) => !o)} aria-expanded={historyOpen} data-testid="finding-history-toggle">
              {t('findings.history.title')} ({finding.events.length})
            </Button>
          </Group>
        ) : (
          <Button variant="subtle" size="compact-sm" onClick={() => setHistoryOpen((o) => !o)} aria-expanded={historyOpen} data-testid="finding-history-toggle">
            {t('findings.history.title')} ({finding.events.length})
          </Button>
        )}
        {ack.error ? <ErrorAlert error={ack.error} title={t('findings.alert.ackFailed')} testId="finding-ack-error" /> : null}
        <Collapse expanded={phoneOpen}>{phoneOpen ? <PhoneForm finding={finding} onDone={() => setPhoneOpen(false)} t={t} /> : null}</Collapse>
        <Collapse expanded={historyOpen}>
          <History finding={finding} t={t} />
        </Collapse>
      </Stack>
    </Card>
  );
}

function Recipients({ finding, t }: { finding: FindingView; t: FindingsT }) {
  if (!finding.recipients.length) return null;
  return (
    <div>
      <Text size="sm" fw={700}>
        {t('findings.card.ladder', { step: finding.step + 1 })}
      </Text>
      <Table withRowBorders={false} verticalSpacing={2} fz="sm" data-testid="finding-recipients">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('findings.fields.step')}</Table.Th>
            <Table.Th>{t('findings.fields.name')}</Table.Th>
            <Table.Th>{t('findings.fields.role')}</Table.Th>
            <Table.Th>{t('findings.fields.notifiedAt')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {finding.recipients.map((r, i) => (
            <Table.Tr key={`${r.step}-${i}`} data-testid="finding-recipient" data-step={r.step} data-current={String(r.step === finding.step)} fw={r.step === finding.step ? 700 : undefined}>
              <Table.Td>{r.step + 1}</Table.Td>
              <Table.Td>
                {r.name}
                {r.userId ? null : (
                  <Text span size="xs" c="dimmed">
                    {' '}
                    ({t('findings.card.phoneOnly')})
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{r.role}</Table.Td>
              <Table.Td>{r.notifiedAt ? <DateTime value={r.notifiedAt} /> : <Text span size="xs" c="dimmed">{t('findings.card.notYet')}</Text>}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}

function PhoneContacts({ finding, t }: { finding: FindingView; t: FindingsT }) {
  return (
    <div>
      <Text size="sm" fw={700}>
        {t('findings.phone.title')}
      </Text>
      <Table verticalSpacing={2} fz="sm" data-testid="finding-phone-contacts">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('findings.phone.at')}</Table.Th>
            <Table.Th>{t('findings.phone.calledBy')}</Table.Th>
            <Table.Th>{t('findings.phone.called')}</Table.Th>
            <Table.Th>{t('findings.phone.phone')}</Table.Th>
            <Table.Th>{t('findings.phone.outcome')}</Table.Th>
            <Table.Th>{t('findings.phone.readBack')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {finding.phoneContacts.map((p) => (
            <Table.Tr key={p.id} data-testid="finding-phone-row" data-outcome={p.outcome}>
              <Table.Td>
                <DateTime value={p.at} />
              </Table.Td>
              <Table.Td>{p.calledBy.name}</Table.Td>
              <Table.Td>
                {p.calledName}
                {p.calledRole ? `（${p.calledRole}）` : ''}
              </Table.Td>
              <Table.Td>{p.phone}</Table.Td>
              <Table.Td>{t(`findings.phone.outcomes.${p.outcome}`)}</Table.Td>
              <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{p.readBack}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}

/** The telephone log form: who was called, the number, the outcome and the read-back. */
function PhoneForm({ finding, onDone, t }: { finding: FindingView; onDone: () => void; t: FindingsT }) {
  const phone = usePhoneContact();
  // The current step's contact is the likely callee.
  const current = finding.recipients.find((r) => r.step === finding.step);
  const [form, setForm] = useState<PhoneContactRequest>({ calledName: current?.name ?? '', calledRole: current?.role ?? '', phone: '', readBack: '', outcome: 'reached' });
  const set = (k: keyof PhoneContactRequest) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const needsReadBack = form.outcome === 'reached';
  const valid = form.calledName.trim() !== '' && (!needsReadBack || form.readBack.trim() !== '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return;
    phone.mutate({ id: finding.id, body: { ...form, calledName: form.calledName.trim(), calledRole: form.calledRole.trim(), phone: form.phone.trim(), readBack: form.readBack.trim() } }, { onSuccess: onDone });
  };
  return (
    <form onSubmit={submit} data-testid="finding-phone-form">
      <Stack gap="xs" p="sm" bg="var(--mantine-color-gray-0)" style={{ borderRadius: 8 }}>
        <Group grow>
          <TextInput label={t('findings.phone.calledName')} value={form.calledName} onChange={(e) => set('calledName')(e.currentTarget.value)} required data-testid="finding-phone-name" />
          <TextInput label={t('findings.phone.calledRole')} value={form.calledRole} onChange={(e) => set('calledRole')(e.currentTarget.value)} data-testid="finding-phone-role" />
        </Group>
        <Group grow>
          <TextInput label={t('findings.phone.phone')} type="tel" autoComplete="off" value={form.phone} onChange={(e) => set('phone')(e.currentTarget.value)} data-testid="finding-phone-number" />
          <NativeSelect
            label={t('findings.phone.outcome')}
            data={OUTCOMES.map((o) => ({ value: o, label: t(`findings.phone.outcomes.${o}`) }))}
            value={form.outcome}
            onChange={(e) => set('outcome')(e.currentTarget.value)}
            data-testid="finding-phone-outcome"
          />
        </Group>
        <Textarea
          label={t('findings.phone.readBack')}
          description={t('findings.phone.readBackHint')}
          value={form.readBack}
          onChange={(e) => set('readBack')(e.currentTarget.value)}
          required={needsReadBack}
          autosize
          minRows={2}
          data-testid="finding-phone-readback"
        />
        {phone.error ? <ErrorAlert error={phone.error} title={t('findings.phone.failed')} testId="finding-phone-error" /> : null}
        <Group>
          <Button type="submit" disabled={!valid} loading={phone.isPending} data-testid="finding-phone-submit">
            {t('findings.phone.submit')}
          </Button>
          <Button variant="subtle" onClick={onDone}>
            {t('findings.actions.cancel')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The follow-up of an incidental finding: its state and due date, and the form that records the action (C3). */
function FollowUp({ finding, canAct, t }: { finding: FindingView; canAct: boolean; t: FindingsT }) {
  const { i18n } = useFindingsTranslation();
  const followUp = finding.followUp!;
  const record = useFollowUp();
  const [state, setState] = useState<FollowUpRequest['state']>('exam-ordered');
  const [note, setNote] = useState('');
  const pending = followUp.state === 'pending';
  return (
    <Stack gap={6} data-testid="finding-follow-up" data-state={followUp.state}>
      <Group gap="xs">
        <Text size="sm" fw={700}>
          {t('findings.followUp.title')}
        </Text>
        <FollowUpBadge state={followUp.state} t={t} />
        <Text size="sm">
          {t('findings.followUp.dueOn', { date: formatDay(followUp.dueOn, i18n.language) })}
        </Text>
      </Group>
      {followUp.recordedBy ? (
        <Text size="xs" c="dimmed">
          {t('findings.followUp.recorded', { name: followUp.recordedBy })} <DateTime value={followUp.recordedAt} />
          {followUp.note ? ` — ${followUp.note}` : ''}
        </Text>
      ) : null}
      {pending && canAct ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (state === 'not-needed' && !note.trim()) return;
            record.mutate({ id: finding.id, body: { state, note: note.trim() } }, { onSuccess: () => setNote('') });
          }}
          data-testid="finding-follow-up-form"
        >
          <Group align="flex-end" gap="xs" wrap="wrap">
            <NativeSelect
              label={t('findings.followUp.action')}
              data={FOLLOW_UP_ACTIONS.map((s) => ({ value: s, label: t(`findings.followUp.states.${s}`) }))}
              value={state}
              onChange={(e) => setState(e.currentTarget.value as FollowUpRequest['state'])}
              data-testid="finding-follow-up-state-select"
            />
            <TextInput label={t('findings.followUp.note')} description={state === 'not-needed' ? t('findings.followUp.reasonRequired') : undefined} required={state === 'not-needed'} value={note} onChange={(e) => setNote(e.currentTarget.value)} style={{ flex: 1, minWidth: 200 }} data-testid="finding-follow-up-note" />
            <Button type="submit" disabled={state === 'not-needed' && !note.trim()} loading={record.isPending} data-testid="finding-follow-up-submit">
              {t('findings.followUp.submit')}
            </Button>
          </Group>
          {record.error ? <ErrorAlert error={record.error} title={t('findings.followUp.failed')} testId="finding-follow-up-error" /> : null}
        </form>
      ) : null}
    </Stack>
  );
}

const KIND_COLOUR: Partial<Record<FindingView['events'][number]['kind'], string>> = { escalated: 'red', acknowledged: 'teal', cancelled: 'gray', phone: 'blue', 'follow-up': 'grape' };

/**
 * Every step of the notice, oldest first: raised, notified, escalated, phone, acknowledged,
 * follow-up. `compact` (the narrow report panel) lists them one under another.
 */
export function History({ finding, t, compact = false }: { finding: FindingView; t: FindingsT; compact?: boolean }) {
  if (!finding.events.length) {
    return (
      <Alert color="gray" p="xs">
        {t('findings.history.empty')}
      </Alert>
    );
  }
  const kind = (k: FindingView['events'][number]['kind']) => (
    <Text span size="xs" fw={700} c={KIND_COLOUR[k] ?? 'dimmed'} style={{ whiteSpace: 'nowrap' }}>
      {t(`findings.history.kinds.${k}`)}
    </Text>
  );
  if (compact) {
    return (
      <Stack gap={6} data-testid="finding-history">
        {finding.events.map((e, i) => (
          <div key={`${e.at}-${i}`} data-testid="finding-event" data-kind={e.kind} style={{ borderLeft: '2px solid var(--mantine-color-gray-3)', paddingLeft: 8 }}>
            <Text size="xs">
              <DateTime value={e.at} /> · {kind(e.kind)} · {e.actor}
            </Text>
            <Text size="xs" c="dimmed" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
              {e.detail}
            </Text>
          </div>
        ))}
      </Stack>
    );
  }
  return (
    <Table verticalSpacing={2} fz="sm" data-testid="finding-history">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t('findings.history.at')}</Table.Th>
          <Table.Th>{t('findings.history.kind')}</Table.Th>
          <Table.Th>{t('findings.history.actor')}</Table.Th>
          <Table.Th>{t('findings.history.detail')}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {finding.events.map((e, i) => (
          <Table.Tr key={`${e.at}-${i}`} data-testid="finding-event" data-kind={e.kind}>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>
              <DateTime value={e.at} />
            </Table.Td>
            <Table.Td>{kind(e.kind)}</Table.Td>
            <Table.Td>{e.actor}</Table.Td>
            <Table.Td style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{e.detail}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
