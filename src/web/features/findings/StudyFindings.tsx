/**
 * The findings of a study under the report editor (W7 beside the viewer): the "raise
 * finding" control (critical / urgent / incidental, a short message, the follow-up due date
 * of an incidental finding), which also works before the report is final (a preliminary
 * notice), and the study's findings with their status and history, so the report carries
 * the whole communication record.
 */
import { Alert, Badge, Button, Collapse, Group, NativeSelect, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { FINDING_CATEGORIES, type FindingCategory, type FindingView } from '../../../shared/findings.ts';
import { linkProps } from '../../app/router.tsx';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { isIsoDay, tokyoToday } from '../../ui/time.ts';
import { useSessionUser } from '../auth/session.ts';
import { canManageFindings, canRaiseFindings } from './access.ts';
import { findingPath, useCancelFinding, useFindings, useRaiseFinding } from './api.ts';
import { DeadlineCountdown } from './countdown.tsx';
import { History } from './FindingCard.tsx';
import { useFindingsTranslation, type FindingsT } from './i18n.ts';
import { CategoryBadge, FollowUpBadge, StatusBadge } from './parts.tsx';

/** A short message: the alert and the lists show it whole. */
const MESSAGE_MAX = 500;

/** The study's findings and, for the physicians who read, the control that raises one. */
export function StudyFindings({ studyUid, reportId }: { studyUid: string; reportId: string | null }) {
  const { t } = useFindingsTranslation();
  const user = useSessionUser();
  const findings = useFindings({ status: 'all', studyUid, limit: 500 });
  const [open, setOpen] = useState(false);
  const [raised, setRaised] = useState<FindingView | null>(null);
  const list = findings.data ?? [];
  return (
    <Stack gap={6} data-testid="study-findings" data-count={list.length}>
      <Group justify="space-between" gap="xs">
        <Text size="sm" fw={700}>
          {t('findings.study.title')}
        </Text>
        {canRaiseFindings(user) ? (
          <Button
            size="compact-sm"
            color="red"
            variant={open ? 'light' : 'filled'}
            onClick={() => {
              setOpen((o) => !o);
              setRaised(null);
            }}
            aria-expanded={open}
            data-testid="finding-raise-open"
          >
            {t('findings.raise.open')}
          </Button>
        ) : null}
      </Group>
      <Collapse expanded={open}>
        {open ? (
          <RaiseForm
            studyUid={studyUid}
            reportId={reportId}
            onRaised={(f) => {
              setRaised(f);
              setOpen(false);
            }}
            onCancel={() => setOpen(false)}
            t={t}
          />
        ) : null}
      </Collapse>
      {raised ? (
        <Alert color="teal" p="xs" withCloseButton onClose={() => setRaised(null)} data-testid="finding-raise-done">
          {t('findings.raise.done', { category: t(`findings.categories.${raised.category}`) })}
        </Alert>
      ) : null}
      {findings.error ? <ErrorAlert error={findings.error} title={t('findings.page.loadFailed')} /> : null}
      {list.length === 0 && findings.data ? (
        <Text size="xs" c="dimmed" data-testid="study-findings-empty">
          {t('findings.study.none')}
        </Text>
      ) : null}
      {list.map((f) => (
        <StudyFinding key={f.id} finding={f} t={t} />
      ))}
    </Stack>
  );
}

function RaiseForm({ studyUid, reportId, onRaised, onCancel, t }: { studyUid: string; reportId: string | null; onRaised: (f: FindingView) => void; onCancel: () => void; t: FindingsT }) {
  const raise = useRaiseFinding();
  const [category, setCategory] = useState<FindingCategory>('critical');
  const [message, setMessage] = useState('');
  const [dueOn, setDueOn] = useState('');
  const dueValid = category !== 'incidental' || dueOn === '' || (isIsoDay(dueOn) && dueOn >= tokyoToday());
  const valid = message.trim() !== '' && message.length <= MESSAGE_MAX && dueValid;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return;
    raise.mutate(
      {
        studyUid,
        category,
        message: message.trim(),
        ...(category === 'incidental' && dueOn ? { followUpDueOn: dueOn } : {}),
        ...(reportId ? { reportId } : {}),
      },
      { onSuccess: onRaised },
    );
  };
  return (
    <form onSubmit={submit} data-testid="finding-raise-form">
      <Stack gap={6} p="xs" style={{ border: '1px solid var(--mantine-color-red-3)', borderRadius: 6 }}>
        <NativeSelect
          label={t('findings.fields.category')}
          data={FINDING_CATEGORIES.map((c) => ({ value: c, label: `${t(`findings.categories.${c}`)} — ${t(`findings.categoryHints.${c}`)}` }))}
          value={category}
          onChange={(e) => setCategory(e.currentTarget.value as FindingCategory)}
          data-testid="finding-raise-category"
        />
        <Textarea
          label={t('findings.fields.message')}
          description={t('findings.raise.messageHint')}
          value={message}
          onChange={(e) => setMessage(e.currentTarget.value)}
          autosize
          minRows={2}
          maxRows={5}
          maxLength={MESSAGE_MAX}
          required
          data-testid="finding-raise-message"
        />
        {category === 'incidental' ? (
          <TextInput
            type="date"
            label={t('findings.raise.followUpDueOn')}
            description={t('findings.raise.followUpDueHint')}
            value={dueOn}
            min={tokyoToday()}
            onChange={(e) => setDueOn(e.currentTarget.value)}
            error={dueValid ? undefined : t('findings.raise.dueInvalid')}
            data-testid="finding-raise-due"
          />
        ) : null}
        {raise.error ? <ErrorAlert error={raise.error} title={t('findings.raise.failed')} testId="finding-raise-error" /> : null}
        <Group gap="xs">
          <Button type="submit" color="red" size="xs" disabled={!valid} loading={raise.isPending} data-testid="finding-raise-submit">
            {t('findings.raise.submit')}
          </Button>
          <Button variant="subtle" size="xs" onClick={onCancel}>
            {t('findings.actions.cancel')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** One of the study's findings: category, status, step, deadline or acknowledgement, and its history. */
function StudyFinding({ finding, t }: { finding: FindingView; t: FindingsT }) {
  const user = useSessionUser();
  const [history, setHistory] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const mayCancel = finding.status === 'open' && (finding.raisedBy.id === user.id || canManageFindings(user));
  return (
    <Stack
      gap={4}
      p={6}
      style={{ borderLeft: `4px solid var(--mantine-color-${finding.category === 'critical' ? 'red' : finding.category === 'urgent' ? 'orange' : 'blue'}-6)` }}
      data-testid="study-finding"
      data-finding-id={finding.id}
      data-category={finding.category}
      data-status={finding.status}
      data-step={finding.step}
      data-escalations={finding.escalations}
    >
      <Group gap={6}>
        <CategoryBadge category={finding.category} t={t} size="sm" />
        <StatusBadge status={finding.status} t={t} />
        {finding.escalations > 0 ? (
          <Badge size="sm" color="red" variant="outline" tt="none">
            {t('findings.card.escalations', { count: finding.escalations })}
          </Badge>
        ) : null}
        {finding.followUp ? <FollowUpBadge state={finding.followUp.state} t={t} /> : null}
      </Group>
      <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
        {finding.message}
      </Text>
      <Text size="xs" c="dimmed">
        {t('findings.card.raisedBy', { name: finding.raisedBy.name })} <DateTime value={finding.raisedAt} />
      </Text>
      {finding.status === 'open' ? (
        <Text size="xs">
          {t('findings.card.ladder', { step: finding.step + 1 })}: {finding.recipients.filter((r) => r.step === finding.step).map((r) => r.name).join('、') || '—'} ·{' '}
          <DeadlineCountdown deadlineAt={finding.deadlineAt} size="xs" />
        </Text>
      ) : null}
      {finding.acknowledgedBy ? (
        <Text size="xs" c="teal" fw={700} data-testid="study-finding-acknowledged">
          {t('findings.card.acknowledgedBy', { name: finding.acknowledgedBy.name })} <DateTime value={finding.acknowledgedAt} />
        </Text>
      ) : null}
      <Group gap="xs">
        <Button size="compact-xs" variant="subtle" onClick={() => setHistory((h) => !h)} aria-expanded={history} data-testid="study-finding-history-toggle">
          {t('findings.history.title')} ({finding.events.length})
        </Button>
        <Button size="compact-xs" variant="subtle" component="a" {...linkProps(findingPath(finding.id))} data-testid="study-finding-open">
          {t('findings.actions.open')}
        </Button>
        {mayCancel && !cancelling ? (
          <Button size="compact-xs" variant="subtle" color="gray" onClick={() => setCancelling(true)} data-testid="study-finding-cancel">
            {t('findings.cancel.open')}
          </Button>
        ) : null}
      </Group>
      {cancelling ? <CancelForm finding={finding} onDone={() => setCancelling(false)} t={t} /> : null}
      <Collapse expanded={history}>{history ? <History finding={finding} t={t} compact /> : null}</Collapse>
    </Stack>
  );
}

/** Withdraws a notice (raised in error), with the reason on record. */
function CancelForm({ finding, onDone, t }: { finding: FindingView; onDone: () => void; t: FindingsT }) {
  const cancel = useCancelFinding();
  const [reason, setReason] = useState('');
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim()) cancel.mutate({ id: finding.id, body: { reason: reason.trim() } }, { onSuccess: onDone });
      }}
      data-testid="study-finding-cancel-form"
    >
      <Stack gap={4}>
        <TextInput size="xs" label={t('findings.cancel.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required data-testid="study-finding-cancel-reason" />
        {cancel.error ? <ErrorAlert error={cancel.error} title={t('findings.cancel.failed')} /> : null}
        <Group gap="xs">
          <Button type="submit" size="compact-xs" color="gray" disabled={!reason.trim()} loading={cancel.isPending} data-testid="study-finding-cancel-submit">
            {t('findings.cancel.submit')}
          </Button>
          <Button size="compact-xs" variant="subtle" onClick={onDone}>
            {t('findings.actions.cancel')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
