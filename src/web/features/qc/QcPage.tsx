/**
 * Monitor quality control (REQUIREMENTS Q1, Q2; JESRA X-0093, AAPM TG18): choose the
 * reading terminal this session runs on (its display profile is then applied to every
 * rendered image), see its status, show the test patterns pixel-exact at 1:1, and record
 * the daily visual check. Managers register, change and retire terminals and record their
 * constancy tests in the terminal register below (TerminalAdmin).
 */
import { Alert, Badge, Button, Checkbox, Group, Loader, NativeSelect, Paper, SimpleGrid, Stack, Switch, Table, Text, Textarea, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { DAILY_CHECK_ITEMS, QC_PATTERNS, type DailyCheckItem, type QcPatternName } from '../../../shared/api.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { useSessionUser } from '../auth/session.ts';
import { useSessionTerminal } from '../viewer/serverApi.ts';
import { canManageTerminals } from './access.ts';
import { usePatterns, useBindTerminal, useRecordDailyCheck, useTerminals, useTerminalStatus } from './api.ts';
import { PatternView } from './PatternView.tsx';
import { TerminalAdmin } from './TerminalAdmin.tsx';
import './qc.css';
import { useQcTranslation } from './i18n.ts';

const NO_ITEMS = Object.fromEntries(DAILY_CHECK_ITEMS.map((i) => [i, false])) as Record<DailyCheckItem, boolean>;

export function QcPage() {
  const { t } = useQcTranslation();
  const user = useSessionUser();
  const terminals = useTerminals();
  const session = useSessionTerminal();
  const patterns = usePatterns();
  const bind = useBindTerminal();
  const boundId = session.data?.terminal?.id ?? null;
  const [choice, setChoice] = useState<string>('');
  const status = useTerminalStatus(boundId);
  const record = useRecordDailyCheck(boundId);
  const [showing, setShowing] = useState<QcPatternName | null>(null);
  const [calibrated, setCalibrated] = useState(true);
  const [items, setItems] = useState<Record<DailyCheckItem, boolean>>(NO_ITEMS);
  const [pattern, setPattern] = useState<QcPatternName>('TG18-QC');
  const [note, setNote] = useState('');

  useEffect(() => {
    if (boundId) setChoice(boundId);
  }, [boundId]);

  const unavailable = terminals.data === null || session.data === null;
  const list = terminals.data ?? [];
  const st = status.data;

  return (
    <>
      <PageHeader title={t('qc.title')} description={t('qc.description')} />
      {terminals.isPending || session.isPending ? (
        <Loader aria-label={t('common.loading')} />
      ) : unavailable ? (
        <Alert color="gray" data-testid="qc-unavailable">
          {t('qc.unavailable')}
        </Alert>
      ) : (
        <Stack gap="lg">
          <ErrorAlert error={terminals.error ?? session.error ?? bind.error} title={t('qc.loadFailed')} />
          <Paper withBorder p="md" component="section" aria-labelledby="qc-terminal-heading">
            <Title order={2} fz="h4" id="qc-terminal-heading" mb="sm">
              {t('qc.terminal.heading')}
            </Title>
            {list.length === 0 ? (
              <Text size="sm" c="dimmed" data-testid="qc-no-terminals">
                {canManageTerminals(user) ? t('qc.terminal.noneManager') : t('qc.terminal.none')}
              </Text>
            ) : (
              <Group align="flex-end" gap="sm">
                <NativeSelect
                  label={t('qc.terminal.choose')}
                  value={choice}
                  onChange={(e) => setChoice(e.currentTarget.value)}
                  data={[{ value: '', label: t('qc.terminal.placeholder') }, ...list.filter((x) => x.active).map((x) => ({ value: x.id, label: `${x.name} — ${x.location} (${x.displayModel}, ${x.grade})` }))]}
                  data-testid="qc-terminal-select"
                  style={{ minWidth: 320 }}
                />
                <Button onClick={() => bind.mutate(choice || null)} loading={bind.isPending} disabled={choice === (boundId ?? '')} data-testid="qc-terminal-bind">
                  {choice ? t('qc.terminal.bind') : t('qc.terminal.unbind')}
                </Button>
              </Group>
            )}
            <Text size="sm" mt="sm" data-testid="qc-session-profile" data-profile={session.data?.profile?.label ?? ''}>
              {session.data?.terminal
                ? t('qc.terminal.bound', { name: session.data.terminal.name, profile: session.data.profile?.label ?? '—' })
                : t('qc.terminal.unbound')}
            </Text>
          </Paper>

          {boundId ? (
            <Paper withBorder p="md" component="section" aria-labelledby="qc-status-heading" data-testid="qc-status">
              <Title order={2} fz="h4" id="qc-status-heading" mb="sm">
                {t('qc.status.heading')}
              </Title>
              {status.isPending ? (
                <Loader size="sm" aria-label={t('common.loading')} />
              ) : status.error ? (
                <ErrorAlert error={status.error} title={t('qc.loadFailed')} />
              ) : st ? (
                <Stack gap="xs">
                  <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} spacing="xs">
                    <Fact label={t('qc.status.display')} value={`${st.terminal.displayModel} (${st.terminal.displaySerial})`} />
                    <Fact label={t('qc.status.grade')} value={`JESRA X-0093 ${st.terminal.grade}`} />
                    <Fact label={t('qc.status.luminance')} value={t('qc.status.luminanceValue', { lmax: st.terminal.lmax, lmin: st.terminal.lmin, lamb: st.terminal.lamb })} />
                    <Fact label={t('qc.status.profile')} value={st.profile.label} testId="qc-status-profile" />
                  </SimpleGrid>
                  <Group gap="sm">
                    <Badge color={st.daily.overdue ? (st.daily.failed ? 'red' : 'yellow') : 'teal'} tt="none" data-testid="qc-daily-state" data-overdue={st.daily.overdue} data-failed={st.daily.failed}>
                      {st.daily.failed ? t('qc.status.dailyFailed') : st.daily.overdue ? t('qc.status.dailyOverdue') : t('qc.status.dailyDone')}
                    </Badge>
                    {st.daily.last ? (
                      <Text size="xs" c="dimmed">
                        {t('qc.status.lastCheck', { user: st.daily.last.userName })} <DateTime value={st.daily.last.checkedAt} />
                      </Text>
                    ) : null}
                    <Badge color={st.constancy.overdue ? 'yellow' : 'gray'} variant="light" tt="none">
                      {t('qc.status.constancyDue', { date: st.constancy.dueOn })}
                    </Badge>
                  </Group>
                  {st.reading.blockers.length ? (
                    <Alert color="red" p="xs" data-testid="qc-blockers">
                      {st.reading.blockers.join(' / ')}
                    </Alert>
                  ) : null}
                  {st.reading.warnings.length ? (
                    <Alert color="yellow" p="xs" data-testid="qc-warnings">
                      {st.reading.warnings.join(' / ')}
                    </Alert>
                  ) : null}
                </Stack>
              ) : null}
            </Paper>
          ) : null}

          <Paper withBorder p="md" component="section" aria-labelledby="qc-patterns-heading">
            <Title order={2} fz="h4" id="qc-patterns-heading" mb="xs">
              {t('qc.patterns.heading')}
            </Title>
            <Text size="sm" c="dimmed" mb="sm">
              {t('qc.patterns.help')}
            </Text>
            <Group gap="sm">
              {(patterns.data?.map((p) => p.name) ?? QC_PATTERNS).map((name) => (
                <Button key={name} variant="default" onClick={() => setShowing(name)} data-testid={`qc-pattern-${name}`}>
                  {name}
                </Button>
              ))}
              <Switch
                label={t('qc.patterns.calibrated')}
                checked={calibrated}
                onChange={(e) => setCalibrated(e.currentTarget.checked)}
                disabled={!boundId}
                data-testid="qc-calibrated"
              />
            </Group>
          </Paper>

          {boundId ? (
            <Paper withBorder p="md" component="section" aria-labelledby="qc-check-heading">
              <Title order={2} fz="h4" id="qc-check-heading" mb="xs">
                {t('qc.check.heading')}
              </Title>
              <Text size="sm" c="dimmed" mb="sm">
                {t('qc.check.help')}
              </Text>
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  record.mutate({ pattern, items, note: note.trim() || undefined }, { onSuccess: () => setItems(NO_ITEMS) });
                }}
              >
                <NativeSelect
                  label={t('qc.check.pattern')}
                  value={pattern}
                  onChange={(e) => setPattern(e.currentTarget.value as QcPatternName)}
                  data={QC_PATTERNS.map((p) => ({ value: p, label: p }))}
                  mb="sm"
                  w={200}
                  data-testid="qc-check-pattern"
                />
                <Table fz="sm" verticalSpacing={4} mb="sm">
                  <Table.Tbody>
                    {DAILY_CHECK_ITEMS.map((item) => (
                      <Table.Tr key={item}>
                        <Table.Td>
                          <Checkbox
                            checked={items[item]}
                            onChange={(e) => {
                              const checked = e.currentTarget.checked;
                              setItems((s) => ({ ...s, [item]: checked }));
                            }}
                            label={t(`qc.items.${item}`)}
                            data-testid={`qc-item-${item}`}
                          />
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
                <Textarea label={t('qc.check.note')} value={note} onChange={(e) => setNote(e.currentTarget.value)} autosize minRows={2} mb="sm" data-testid="qc-check-note" />
                <Group gap="sm">
                  <Button type="submit" loading={record.isPending} data-testid="qc-check-submit">
                    {t('qc.check.submit')}
                  </Button>
                  <Text size="xs" c="dimmed">
                    {t('qc.check.uncheckedMeansProblem')}
                  </Text>
                </Group>
                <ErrorAlert error={record.error} title={t('qc.check.failed')} />
                {record.data ? (
                  <Alert mt="sm" color={record.data.passed ? 'teal' : 'red'} data-testid="qc-check-result" data-passed={record.data.passed}>
                    {record.data.passed ? t('qc.check.passed') : t('qc.check.notPassed')}
                  </Alert>
                ) : null}
              </form>
            </Paper>
          ) : null}

          <TerminalAdmin terminals={list} user={user} />
        </Stack>
      )}
      {showing ? <PatternView name={showing} calibrated={calibrated && !!boundId} onClose={() => setShowing(null)} /> : null}
    </>
  );
}

function Fact({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" data-testid={testId}>
        {value}
      </Text>
    </div>
  );
}
