/**
 * Security alerts (REQUIREMENTS S11): repeated failed logins, access outside a user's
 * facilities, mass export, and a broken audit chain. The list is refreshed on demand, not
 * polled: background polling would keep an idle session alive and defeat its timeout (S4).
 */
import { Badge, Button, Group, Loader, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SecurityAlert } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';

const KIND_COLOURS: Record<SecurityAlert['kind'], string> = {
  'failed-logins': 'orange',
  'out-of-scope': 'red',
  'mass-export': 'grape',
  'audit-chain': 'red',
  integrity: 'red',
};

export function AlertsPage() {
  const { t } = useTranslation();
  const [show, setShow] = useState<'open' | 'all'>('open');
  const alerts = useQuery({
    queryKey: ['alerts'],
    queryFn: ({ signal }) => api.get<SecurityAlert[]>('/api/alerts', { signal }),
  });

  const shown = useMemo(() => {
    const all = [...(alerts.data ?? [])].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
    return show === 'open' ? all.filter((alert) => !alert.acknowledged) : all;
  }, [alerts.data, show]);

  const open = (alerts.data ?? []).filter((alert) => !alert.acknowledged).length;

  return (
    <>
      <PageHeader
        title={t('alerts.title')}
        description={t('alerts.description')}
        actions={
          <Button variant="default" onClick={() => void alerts.refetch()} loading={alerts.isFetching} data-testid="alerts-refresh">
            {t('common.refresh')}
          </Button>
        }
      />
      <Stack gap="md">
        <Group justify="space-between" wrap="wrap">
          <SegmentedControl
            value={show}
            onChange={(value) => setShow(value === 'all' ? 'all' : 'open')}
            data={[
              { value: 'open', label: t('alerts.showOpen', { n: open }) },
              { value: 'all', label: t('alerts.showAll') },
            ]}
            aria-label={t('alerts.showLabel')}
            data-testid="alerts-show"
          />
        </Group>
        <ErrorAlert error={alerts.error} title={t('alerts.loadFailed')} />
        {alerts.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : alerts.data ? (
          <Table.ScrollContainer minWidth={720}>
            <Table striped verticalSpacing="sm" data-testid="alerts-table">
              <Table.Caption>{t('alerts.caption')}</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">{t('alerts.columns.raisedAt')}</Table.Th>
                  <Table.Th scope="col">{t('alerts.columns.kind')}</Table.Th>
                  <Table.Th scope="col">{t('alerts.columns.message')}</Table.Th>
                  <Table.Th scope="col">{t('alerts.columns.state')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.length === 0 ? (
                  <Table.Tr>
                    <Table.Td colSpan={4}>
                      <Text c="dimmed" ta="center" py="md" data-testid="alerts-empty">
                        {show === 'open' ? t('alerts.noneOpen') : t('alerts.none')}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ) : null}
                {shown.map((alert) => (
                  <Table.Tr key={alert.id} data-testid="alert-row">
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <DateTime value={alert.raisedAt} />
                    </Table.Td>
                    <Table.Td>
                      <Badge color={KIND_COLOURS[alert.kind] ?? 'gray'} variant="light" tt="none">
                        {t(`alerts.kinds.${alert.kind}`, { defaultValue: alert.kind })}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{alert.message}</Table.Td>
                    <Table.Td>
                      {alert.acknowledged ? (
                        <Badge color="gray" variant="outline" tt="none">
                          {t('alerts.acknowledged')}
                        </Badge>
                      ) : (
                        <Badge color="red" tt="none">
                          {t('alerts.open')}
                        </Badge>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : null}
      </Stack>
    </>
  );
}
