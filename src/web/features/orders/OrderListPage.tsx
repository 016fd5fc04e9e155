/**
 * The order list (W1): facility staff see their facility's orders, the provider's readers
 * every facility's (the server decides). Filters by status, modality, priority and the
 * Japanese day of the request; paging. Each exam with its JJ1017 code in words (modality,
 * technique, body part), as on the order screen. Only internal ids go into URLs.
 */
import { Button, Group, Loader, NativeSelect, Pagination, Paper, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useOrdersTranslation } from './i18n.ts';
import type { OrderSummary } from '../../../shared/api.ts';
import { linkProps } from '../../app/router.tsx';
import { useSessionUser } from '../auth/session.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { canUseOrderForm } from './access.ts';
import { NO_ORDER_FILTERS, ORDERS_PAGE_SIZE, useOrders, type OrderFilters, type OrderListEntry } from './api.ts';
import { Jj1017Brief, PatientName, PriorityBadge, StatusBadge } from './parts.tsx';

const STATUSES = ['scheduled', 'in-progress', 'completed', 'cancelled'] as const;
const PRIORITIES = ['stat', 'urgent', 'routine'] as const;

export function OrderListPage() {
  const { t } = useOrdersTranslation();
  const user = useSessionUser();
  const [form, setForm] = useState<OrderFilters>(NO_ORDER_FILTERS);
  const [applied, setApplied] = useState<OrderFilters>(NO_ORDER_FILTERS);
  const [page, setPage] = useState(1);
  const [dateProblem, setDateProblem] = useState(false);
  const orders = useOrders(applied, page);

  const set = <K extends keyof OrderFilters>(key: K, value: OrderFilters[K]) => setForm((f) => ({ ...f, [key]: value }));
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const problem = Boolean(form.from && form.to && form.from > form.to);
    setDateProblem(problem);
    if (problem) return;
    setApplied({ ...form });
    setPage(1);
  };
  const reset = () => {
    setForm(NO_ORDER_FILTERS);
    setApplied(NO_ORDER_FILTERS);
    setDateProblem(false);
    setPage(1);
  };

  const total = orders.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / ORDERS_PAGE_SIZE));
  const first = total === 0 ? 0 : (page - 1) * ORDERS_PAGE_SIZE + 1;
  const last = Math.min(total, page * ORDERS_PAGE_SIZE);

  return (
    <>
      <PageHeader
        title={t('orders.list.title')}
        description={t('orders.list.description')}
        actions={
          canUseOrderForm(user) ? (
            <Button component="a" {...linkProps('/orders/new')} data-testid="orders-new">
              {t('orders.list.newOrder')}
            </Button>
          ) : null
        }
      />
      <Stack gap="md">
        <Paper withBorder p="md" component="section" aria-label={t('orders.list.filters')}>
          <form onSubmit={apply} noValidate>
            <SimpleGrid cols={{ base: 1, sm: 3, lg: 5 }} spacing="sm">
              <NativeSelect
                label={t('orders.list.status')}
                value={form.status}
                onChange={(e) => set('status', e.currentTarget.value)}
                data={[{ value: '', label: t('orders.common.all') }, ...STATUSES.map((s) => ({ value: s, label: t(`orders.status.${s}`) }))]}
                data-testid="orders-filter-status"
              />
              <TextInput
                label={t('orders.list.modality')}
                value={form.modality}
                onChange={(e) => set('modality', e.currentTarget.value)}
                placeholder="CT, MR…"
                autoComplete="off"
                data-testid="orders-filter-modality"
              />
              <NativeSelect
                label={t('orders.list.priority')}
                value={form.priority}
                onChange={(e) => set('priority', e.currentTarget.value)}
                data={[{ value: '', label: t('orders.common.all') }, ...PRIORITIES.map((p) => ({ value: p, label: t(`orders.priority.${p}`) }))]}
                data-testid="orders-filter-priority"
              />
              <TextInput type="date" label={t('orders.list.from')} value={form.from} onChange={(e) => set('from', e.currentTarget.value)} data-testid="orders-filter-from" />
              <TextInput
                type="date"
                label={t('orders.list.to')}
                value={form.to}
                onChange={(e) => set('to', e.currentTarget.value)}
                error={dateProblem ? t('orders.list.dateOrder') : null}
                data-testid="orders-filter-to"
              />
            </SimpleGrid>
            <Group mt="md" gap="sm">
              <Button type="submit" data-testid="orders-apply">
                {t('orders.list.apply')}
              </Button>
              <Button variant="default" onClick={reset} data-testid="orders-reset">
                {t('orders.list.reset')}
              </Button>
            </Group>
          </form>
        </Paper>

        <ErrorAlert error={orders.error} title={t('orders.list.loadFailed')} testId="orders-error" />
        {orders.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : orders.data ? (
          <>
            <Group justify="space-between">
              <Text size="sm" aria-live="polite" data-testid="orders-count" data-total={total}>
                {total === 0 ? t('orders.list.empty') : t('orders.list.count', { first, last, total })}
              </Text>
              {orders.isFetching ? <Loader size="xs" aria-label={t('common.loading')} /> : null}
            </Group>
            <Table.ScrollContainer minWidth={1100}>
              <Table striped verticalSpacing="xs" fz="sm" data-testid="orders-table">
                <Table.Caption>{t('orders.list.caption')}</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">{t('orders.list.columns.status')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.priority')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.modality')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.exam')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.patient')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.requestedAt')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.scheduledAt')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.facility')}</Table.Th>
                    <Table.Th scope="col">{t('orders.list.columns.open')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {orders.data.orders.map((order) => (
                    <OrderRow key={order.id} order={order} />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {pages > 1 ? (
              <Pagination
                total={pages}
                value={Math.min(page, pages)}
                onChange={setPage}
                withEdges
                getItemProps={(n) => ({ 'aria-label': t('pagination.page', { page: n }) })}
                getControlProps={(control) => ({ 'aria-label': t(`pagination.${control}`) })}
                data-testid="orders-pagination"
                aria-label={t('pagination.label')}
              />
            ) : null}
          </>
        ) : null}
      </Stack>
    </>
  );
}

/** The exam as words: the facility's procedure name, body part and contrast. */
export function examWords(order: Pick<OrderSummary, 'procedureText' | 'bodyPart' | 'modality'>): string {
  return order.procedureText || [order.modality, order.bodyPart].filter(Boolean).join(' ');
}

function OrderRow({ order }: { order: OrderListEntry }) {
  const { t } = useOrdersTranslation();
  return (
    <Table.Tr data-testid="order-row" data-order-id={order.id} data-priority={order.priority} style={order.priority === 'stat' ? { background: 'var(--mantine-color-red-0)' } : undefined}>
      <Table.Td>
        <StatusBadge status={order.status} />
      </Table.Td>
      <Table.Td>
        <PriorityBadge priority={order.priority} />
      </Table.Td>
      <Table.Td ff="monospace">{order.modality}</Table.Td>
      <Table.Td>
        <div>{examWords(order)}</div>
        {order.jj1017 ? <Jj1017Brief jj={order.jj1017} /> : null}
        <Text size="xs" c="dimmed">
          {[order.bodyPart, order.contrast ? t('orders.common.contrast') : ''].filter(Boolean).join(' · ')}
        </Text>
      </Table.Td>
      <Table.Td>
        <PatientName name={order.patient.name} />
      </Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>
        <DateTime value={order.requestedAt} />
      </Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>{order.scheduledAt ? <DateTime value={order.scheduledAt} /> : '—'}</Table.Td>
      <Table.Td>{order.facilityName}</Table.Td>
      <Table.Td>
        <Button component="a" size="compact-sm" variant="light" {...linkProps(`/orders/${encodeURIComponent(order.id)}`)} data-testid={`order-open-${order.id}`}>
          {t('orders.list.open')}
        </Button>
      </Table.Td>
    </Table.Tr>
  );
}
