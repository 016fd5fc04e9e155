/**
 * `/findings/manage`: the management view (L3) for management physicians and system
 * administrators: open and overdue notices, time from raise to acknowledgement per
 * facility and per reader, follow-up completion, as figures, charts and tables; and the
 * overdue notices themselves.
 */
import { Button, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import type { FindingStats } from '../../../shared/findings.ts';
import { linkProps } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { useSessionUser } from '../auth/session.ts';
import { canSeeFindings } from './access.ts';
import { refreshFindings, useFindingStats, useFindings } from './api.ts';
import { BarChart, StackedBar } from './BarChart.tsx';
import { FindingCard } from './FindingCard.tsx';
import { useFindingsTranslation, type FindingsT } from './i18n.ts';

/** Minutes as shown: one decimal below ten minutes, whole minutes above. */
function minutes(v: number | null, t: FindingsT): string {
  if (v === null) return '—';
  return t('findings.manage.minutes', { n: v < 10 ? v.toFixed(1) : Math.round(v) });
}

function Figure({ label, value, colour, testId }: { label: string; value: string | number; colour?: string; testId: string }) {
  return (
    <Card withBorder padding="md" radius="md">
      <Text size="xs" c="dimmed" fw={700}>
        {label}
      </Text>
      <Text fz={32} fw={800} c={colour} data-testid={testId}>
        {value}
      </Text>
    </Card>
  );
}

export function ManagePage() {
  const { t } = useFindingsTranslation();
  const queryClient = useQueryClient();
  const stats = useFindingStats();
  const user = useSessionUser();
  // The notices themselves are for the roles involved in findings (a system administrator sees the figures only).
  const overdue = useFindings({ status: 'overdue' }, { enabled: canSeeFindings(user) });
  return (
    <>
      <PageHeader
        title={t('findings.manage.title')}
        description={t('findings.manage.description')}
        actions={
          <>
            <Button variant="default" component="a" {...linkProps('/findings')}>
              {t('findings.nav.list')}
            </Button>
            <Button variant="default" onClick={() => void refreshFindings(queryClient)} data-testid="findings-stats-refresh">
              {t('common.refresh')}
            </Button>
          </>
        }
      />
      {stats.isPending ? <Text size="sm">{t('common.loading')}</Text> : null}
      {stats.error ? <ErrorAlert error={stats.error} title={t('findings.manage.loadFailed')} /> : null}
      {stats.data ? <Stats stats={stats.data} t={t} /> : null}
      {canSeeFindings(user) ? (
      <Stack gap="md" mt="xl">
        <Title order={2} fz="h4">
          {t('findings.manage.overdueList')}
        </Title>
        {overdue.error ? <ErrorAlert error={overdue.error} title={t('findings.page.loadFailed')} /> : null}
        {overdue.data?.length === 0 ? (
          <Text size="sm" c="dimmed">
            {t('findings.page.noOverdue')}
          </Text>
        ) : null}
        {overdue.data?.map((f) => <FindingCard key={f.id} finding={f} canAct={false} />)}
      </Stack>
      ) : null}
    </>
  );
}

function Stats({ stats, t }: { stats: FindingStats; t: FindingsT }) {
  const { followUps } = stats;
  // `pending` counts every follow-up still waiting, the overdue ones included.
  const followUpTotal = followUps.completed + followUps.pending;
  const completion = followUpTotal ? `${Math.round((followUps.completed / followUpTotal) * 100)}%` : '—';
  const onTime = Math.max(0, followUps.pending - followUps.overdue);
  return (
    <Stack gap="xl" data-testid="findings-stats">
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Figure label={t('findings.manage.open')} value={stats.open} colour={stats.open ? 'orange' : undefined} testId="findings-stats-open" />
        <Figure label={t('findings.manage.overdue')} value={stats.overdue} colour={stats.overdue ? 'red' : undefined} testId="findings-stats-overdue" />
        <Figure label={t('findings.manage.followUpCompletion')} value={completion} testId="findings-stats-follow-up" />
        <Figure label={t('findings.manage.followUpOverdue')} value={followUps.overdue} colour={followUps.overdue ? 'red' : undefined} testId="findings-stats-follow-up-overdue" />
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="xl">
        <Card withBorder padding="md" radius="md">
          <BarChart
            title={t('findings.manage.ackByFacility')}
            rows={stats.byFacility.map((f) => ({ label: f.facilityName, values: { median: f.medianAckMinutes, p90: f.p90AckMinutes } }))}
            series={[
              { key: 'median', label: t('findings.manage.median'), colour: 'blue' },
              { key: 'p90', label: t('findings.manage.p90'), colour: 'grape' },
            ]}
            format={(v) => minutes(v, t)}
            empty={t('findings.manage.noData')}
            testId="chart-ack-facility"
          />
        </Card>
        <Card withBorder padding="md" radius="md">
          <BarChart
            title={t('findings.manage.openByFacility')}
            rows={stats.byFacility.map((f) => ({ label: f.facilityName, values: { open: f.open, overdue: f.overdue } }))}
            series={[
              { key: 'open', label: t('findings.manage.open'), colour: 'orange' },
              { key: 'overdue', label: t('findings.manage.overdue'), colour: 'red' },
            ]}
            format={(v) => String(v)}
            empty={t('findings.manage.noData')}
            testId="chart-open-facility"
          />
        </Card>
        <Card withBorder padding="md" radius="md">
          <BarChart
            title={t('findings.manage.ackByReader')}
            rows={stats.byReader.map((r) => ({ label: r.readerName, values: { median: r.medianAckMinutes } }))}
            series={[{ key: 'median', label: t('findings.manage.median'), colour: 'teal' }]}
            format={(v) => minutes(v, t)}
            empty={t('findings.manage.noData')}
            testId="chart-ack-reader"
          />
        </Card>
        <Card withBorder padding="md" radius="md">
          <StackedBar
            title={t('findings.manage.followUps')}
            parts={[
              { key: 'completed', label: t('findings.manage.completed'), colour: 'teal', value: followUps.completed },
              { key: 'pending', label: t('findings.manage.pending'), colour: 'yellow', value: onTime },
              { key: 'overdue', label: t('findings.manage.overdue'), colour: 'red', value: followUps.overdue },
            ]}
            testId="chart-follow-ups"
          />
        </Card>
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="xl">
        <div>
          <Title order={2} fz="h5" mb="xs">
            {t('findings.manage.perFacility')}
          </Title>
          <Table striped withTableBorder fz="sm" data-testid="findings-stats-facilities">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('findings.fields.facility')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.count')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.open')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.overdue')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.median')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.p90')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {stats.byFacility.map((f) => (
                <Table.Tr key={f.facilityId} data-testid="findings-stats-facility" data-facility-id={f.facilityId}>
                  <Table.Td>{f.facilityName}</Table.Td>
                  <Table.Td ta="right">{f.count}</Table.Td>
                  <Table.Td ta="right">{f.open}</Table.Td>
                  <Table.Td ta="right" c={f.overdue ? 'red' : undefined}>
                    {f.overdue}
                  </Table.Td>
                  <Table.Td ta="right">{minutes(f.medianAckMinutes, t)}</Table.Td>
                  <Table.Td ta="right">{minutes(f.p90AckMinutes, t)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
        <div>
          <Title order={2} fz="h5" mb="xs">
            {t('findings.manage.perReader')}
          </Title>
          <Table striped withTableBorder fz="sm" data-testid="findings-stats-readers">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('findings.manage.reader')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.count')}</Table.Th>
                <Table.Th ta="right">{t('findings.manage.median')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {stats.byReader.map((r) => (
                <Table.Tr key={r.readerId} data-testid="findings-stats-reader">
                  <Table.Td>{r.readerName}</Table.Td>
                  <Table.Td ta="right">{r.count}</Table.Td>
                  <Table.Td ta="right">{minutes(r.medianAckMinutes, t)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      </SimpleGrid>
      <Group>
        <Text size="xs" c="dimmed">
          {t('findings.manage.note')}
        </Text>
      </Group>
    </Stack>
  );
}
