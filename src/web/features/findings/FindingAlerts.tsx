/**
 * The in-app alert of critical, urgent and incidental findings (C1), mounted in the frame
 * of every logged-in page: a notice raised or escalated to the user appears at once on every
 * open Enkaku screen, in the category's colour (critical red, urgent orange, incidental
 * blue), with a tone, the facility and the deadline countdown, and buttons to open the
 * finding and to acknowledge it. The alert shows only what the pushed event carries, plus
 * the ladder step and its contacts (staff names); never patient data.
 *
 * A critical alert sounds again every 30 seconds while it is on screen. When the browser
 * does not yet let the page play sound (no user gesture since the page was opened), the
 * alert says so and offers "enable sound".
 */
import { Box, Button, CloseButton, Group, Paper, Stack, Text } from '@mantine/core';
import { useIsMutating } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { FindingCategory, FindingView } from '../../../shared/findings.ts';
import { navigate } from '../../app/router.tsx';
import { describeError } from '../../ui/ErrorAlert.tsx';
import { useSessionUser } from '../auth/session.ts';
import { canSeeFindings } from './access.ts';
import { findingPath, RAISE_KEY, raisedHere, useAcknowledge, useFinding } from './api.ts';
import { DeadlineCountdown } from './countdown.tsx';
import { useFindingAlerts, type ActiveAlert } from './events.ts';
import { useFindingsTranslation, type FindingsT } from './i18n.ts';
import { CATEGORY_COLOUR } from './parts.tsx';
import { enableAudio, MANUAL_UNLOCK_ATTR, playAlertTone, useAudioState, useAudioUnlock } from './sound.ts';

const REPEAT_CRITICAL_MS = 30_000;
const MAX_SHOWN = 3;
const RANK: Record<FindingCategory, number> = { critical: 0, urgent: 1, incidental: 2 };

type Sound = 'played' | 'blocked';

/** The alerts of the logged-in user's open screens. */
export function FindingAlerts() {
  const user = useSessionUser();
  const enabled = canSeeFindings(user);
  const { t } = useFindingsTranslation();
  const { live, alerts, hide, remove } = useFindingAlerts(user.id, enabled);
  const audio = useAudioState();
  useAudioUnlock();

  // The sound of each alert's latest event: played, or waiting for the browser to allow it.
  const [sound, setSound] = useState<Record<string, { seq: number; state: Sound }>>({});
  const visible = alerts.filter((a) => !a.hidden);

  const raising = useIsMutating({ mutationKey: RAISE_KEY }) > 0;
  useEffect(() => {
    const fresh = visible.filter((a) => sound[a.event.findingId]?.seq !== a.seq || (sound[a.event.findingId]?.state === 'blocked' && audio === 'ready'));
    if (!fresh.length) return;
    // The reader's own notice, just sent from this screen, makes no sound here.
    const own = (a: ActiveAlert) => a.event.type === 'raised' && (raising || raisedHere(a.event.findingId));
    const loud = fresh.filter((a) => !own(a));
    const loudest = loud.length ? loud.reduce((a, b) => (RANK[b.event.category] < RANK[a.event.category] ? b : a)) : null;
    const played = loudest ? playAlertTone(loudest.event.category) : true;
    setSound((s) => {
      const next = { ...s };
      for (const a of fresh) next[a.event.findingId] = { seq: a.seq, state: played || own(a) ? 'played' : 'blocked' };
      return next;
    });
  }, [visible, sound, audio, raising]);

  const critical = visible.some((a) => a.event.category === 'critical');
  useEffect(() => {
    if (!critical) return;
    const timer = window.setInterval(() => playAlertTone('critical'), REPEAT_CRITICAL_MS);
    return () => window.clearInterval(timer);
  }, [critical]);

  if (!enabled) return null;
  const blocked = audio === 'blocked';
  return (
    <Box
      pos="fixed"
      top={64}
      right={16}
      w={440}
      maw="calc(100vw - 32px)"
      style={{ zIndex: 400 }}
      data-testid="finding-alerts"
      data-live={live}
      data-audio={audio}
      aria-live="assertive"
      {...{ [MANUAL_UNLOCK_ATTR]: '' }}
    >
      <Stack gap="sm">
        {visible.slice(0, MAX_SHOWN).map((a) => (
          <AlertCard key={a.event.findingId} alert={a} sound={sound[a.event.findingId]?.state ?? null} onHide={() => hide(a.event.findingId)} onRemove={() => remove(a.event.findingId)} t={t} />
        ))}
        {visible.length > MAX_SHOWN ? (
          <Paper shadow="md" p="xs" withBorder>
            <Group justify="space-between">
              <Text size="sm" fw={700} data-testid="finding-alerts-more">
                {t('findings.alert.more', { count: visible.length - MAX_SHOWN })}
              </Text>
              <Button size="compact-sm" variant="light" onClick={() => navigate('/findings')}>
                {t('findings.alert.openList')}
              </Button>
            </Group>
          </Paper>
        ) : null}
      </Stack>
      {blocked && !visible.length ? (
        // Before any alert: one click here (or anywhere) lets the next alert be heard.
        <Box pos="fixed" bottom={12} right={16}>
          <Button size="compact-xs" variant="default" onClick={() => void enableAudio()} title={t('findings.alert.soundBlocked')} data-testid="finding-sound-enable">
            {t('findings.alert.enableSound')}
          </Button>
        </Box>
      ) : null}
    </Box>
  );
}

/** The ladder step now responsible and its contacts, from the finding (names of staff only). */
function currentContacts(finding: FindingView | undefined): string {
  if (!finding) return '';
  return finding.recipients
    .filter((r) => r.step === finding.step)
    .map((r) => (r.role ? `${r.name}（${r.role}）` : r.name))
    .join('、');
}

function AlertCard({ alert, sound, onHide, onRemove, t }: { alert: ActiveAlert; sound: Sound | null; onHide: () => void; onRemove: () => void; t: FindingsT }) {
  const { t: tAny } = useTranslation();
  const me = useSessionUser().id;
  const { event } = alert;
  const colour = CATEGORY_COLOUR[event.category];
  const finding = useFinding(event.findingId);
  const raising = useIsMutating({ mutationKey: RAISE_KEY }) > 0;
  const ack = useAcknowledge();
  const audio = useAudioState();
  const f = finding.data;
  const contacts = currentContacts(f);
  const closed = f !== undefined && f.status !== 'open';
  // The reader who raised it gets its alerts too: no alert for what they have just sent, but
  // its escalations (someone did not answer: time to telephone). Only recipients acknowledge.
  const recipient = f ? f.recipients.some((r) => r.userId === me) : null;
  const ownRaise = f ? f.raisedBy.id === me && !recipient : raising || raisedHere(event.findingId);
  const suppressed = ownRaise && event.type === 'raised';
  useEffect(() => {
    // Acknowledged elsewhere (another screen, the findings page), withdrawn, or the reader's own notice: the alert goes.
    if (closed || (f && suppressed)) onRemove();
  }, [closed, f, suppressed, onRemove]);
  const deadline = closed ? null : (f?.deadlineAt ?? event.deadlineAt);
  if (suppressed) return null;
  const escalated = event.type === 'escalated' || (f !== undefined && f.escalations > 0);
  const ackError = ack.error ? describeError(tAny, ack.error) : null;
  return (
    <Paper
      shadow="xl"
      radius="md"
      p="md"
      bg={`${colour}.7`}
      c="white"
      role="alert"
      data-testid="finding-alert"
      data-category={event.category}
      data-finding-id={event.findingId}
      data-type={escalated ? 'escalated' : 'raised'}
      data-step={f?.step ?? ''}
      data-escalations={f?.escalations ?? ''}
      data-sound={sound ?? ''}
      style={{ border: '3px solid white', outline: `2px solid var(--mantine-color-${colour}-9)` }}
    >
      <Stack gap={6}>
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          <Text fw={800} fz="lg" data-testid="finding-alert-title">
            {t(`findings.categories.${event.category}`)} · {t(escalated ? 'findings.alert.escalated' : 'findings.alert.raised')}
          </Text>
          <CloseButton
            variant="transparent"
            c="white"
            onClick={() => {
              void enableAudio();
              onHide();
            }} aria-label={t('findings.alert.hide')} title={t('findings.alert.hide')} data-testid="finding-alert-hide" />
        </Group>
        {ownRaise ? (
          <Text size="sm" fw={700} data-testid="finding-alert-own">
            {t('findings.alert.ownFinding')}
          </Text>
        ) : null}
        <Text size="sm" data-testid="finding-alert-facility">
          {t('findings.fields.facility')}: <b>{event.facilityName}</b>
        </Text>
        {escalated ? (
          <Text size="sm" fw={700} data-testid="finding-alert-escalation">
            {f ? t('findings.alert.escalatedTo', { step: f.step + 1, contacts: contacts || '—' }) : t('findings.alert.escalatedShort')}
          </Text>
        ) : contacts ? (
          <Text size="sm" data-testid="finding-alert-contacts">
            {t('findings.alert.toldContacts', { contacts })}
          </Text>
        ) : null}
        <Box bg="white" c="dark" px={8} py={4} style={{ borderRadius: 4 }}>
          <DeadlineCountdown deadlineAt={deadline} testId="finding-alert-deadline" />
        </Box>
        {sound === 'blocked' && audio !== 'ready' ? (
          <Group gap="xs" data-testid="finding-alert-sound-blocked">
            <Text size="xs">{t('findings.alert.soundBlocked')}</Text>
            <Button size="compact-xs" variant="white" color={colour} onClick={() => void enableAudio()} data-testid="finding-alert-enable-sound">
              {t('findings.alert.enableSound')}
            </Button>
          </Group>
        ) : null}
        {ackError ? (
          <Text size="xs" fw={700} role="alert" data-testid="finding-alert-error">
            {t('findings.alert.ackFailed')}: {ackError.title} {ackError.detail}
          </Text>
        ) : null}
        <Group gap="xs" mt={4}>
          {ownRaise ? null : (
            <Button variant="white" color={colour} loading={ack.isPending} onClick={() => {
                void enableAudio();
                ack.mutate(event.findingId, { onSuccess: onRemove });
              }} data-testid="finding-alert-ack">
              {t('findings.actions.acknowledge')}
            </Button>
          )}
          <Button variant="outline" color="white" style={{ color: 'white', borderColor: 'white' }} onClick={() => {
              void enableAudio();
              navigate(findingPath(event.findingId));
            }} data-testid="finding-alert-open">
            {t('findings.actions.open')}
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
