/**
 * The audit trail (REQUIREMENTS S4: who, when, what, from where), for auditors and system
 * administrators: filter by Japanese calendar days, action, actor and outcome; page
 * through the answer of `GET /api/audit`. Reading the trail is itself audited by the server.
 */
import { Badge, Button, Group, Loader, NativeSelect, Pagination, Paper, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ROLES, type AuditEntry, type AuditPage as AuditAnswer, type Role } from '../../../shared/api.ts';
import { api } from '../../api/client.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { isIsoDay, tokyoDayEnd, tokyoDayStart } from '../../ui/time.ts';

export const AUDIT_PAGE_SIZE = 50;

/** Actions whose names are fixed (server `audit/codes.ts`), offered as suggestions; any text may be typed. */
const KNOWN_ACTIONS = [
  'auth.login',
  'auth.logout',
  'user.role-change',
  'security.access-denied',
  'app.start',
  'app.stop',
  'study.store',
  'instance.store',
  'study.retrieve',
  'instance.retrieve',
  'study.search',
  'study.query',
];

export interface AuditFilters {
  /** Japanese calendar days `YYYY-MM-DD`, both included; empty for no bound. */
  from: string;
  to: string;
  action: string;
  actor: string;
  outcome: '' | 'success' | 'failure';
}

const NO_FILTERS: AuditFilters = { from: '', to: '', action: '', actor: '', outcome: '' };

/** The query string of `GET /api/audit` for the filters and the 1-based page. */
export function auditQuery(filters: AuditFilters, page: number): Record<string, string | number | undefined> {
  return {
    from: filters.from ? tokyoDayStart(filters.from) : undefined,
    to: filters.to ? tokyoDayEnd(filters.to) : undefined,
    action: filters.action.trim() || undefined,
    actor: filters.actor.trim() || undefined,
    outcome: filters.outcome || undefined,
    limit: AUDIT_PAGE_SIZE,
    offset: (page - 1) * AUDIT_PAGE_SIZE,
  };
}

type DateProblem = 'fromInvalid' | 'toInvalid' | 'order';

function checkDates(filters: AuditFilters): DateProblem | null {
  if (filters.from && !isIsoDay(filters.from)) return 'fromInvalid';
  if (filters.to && !isIsoDay(filters.to)) return 'toInvalid';
  if (filters.from && filters.to && filters.from > filters.to) return 'order';
  return null;
}

export function AuditPage() {
  const { t } = useTranslation();
  const [form, setForm] = useState<AuditFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<AuditFilters>(NO_FILTERS);
  const [page, setPage] = useState(1);
  const [dateProblem, setDateProblem] = useState<DateProblem | null>(null);

  const audit = useQuery({
    queryKey: ['audit', applied, page],
    queryFn: ({ signal }) => api.get<AuditAnswer>('/api/audit', { query: auditQuery(applied, page), signal }),
    placeholderData: keepPreviousData,
  });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const problem = checkDates(form);
    setDateProblem(problem);
    if (problem) return;
    setApplied({ ...form });
    setPage(1);
  };

  const reset = () => {
    setForm(NO_FILTERS);
    setApplied(NO_FILTERS);
    setDateProblem(null);
    setPage(1);
  };

  const set = <K extends keyof AuditFilters>(key: K, value: AuditFilters[K]) => setForm((f) => ({ ...f, [key]: value }));

  const total = audit.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const first = total === 0 ? 0 : (page - 1) * AUDIT_PAGE_SIZE + 1;
  const last = Math.min(total, page * AUDIT_PAGE_SIZE);

  return (
    <>
      <PageHeader title={t('audit.title')} description={t('audit.description')} />
      <Stack gap="md">
        <Paper withBorder p="md" component="section" aria-labelledby="audit-filters-heading">
          <Text id="audit-filters-heading" fw={600} mb="sm">
            {t('audit.filters')}
          </Text>
          <form onSubmit={apply} noValidate>
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 5 }} spacing="sm">
              <TextInput
                type="date"
                label={t('audit.from')}
                value={form.from}
                onChange={(e) => set('from', e.currentTarget.value)}
                error={dateProblem === 'fromInvalid' ? t('audit.problems.fromInvalid') : null}
                data-testid="audit-from"
              />
              <TextInput
                type="date"
                label={t('audit.to')}
                value={form.to}
                onChange={(e) => set('to', e.currentTarget.value)}
                error={
                  dateProblem === 'toInvalid' ? t('audit.problems.toInvalid') : dateProblem === 'order' ? t('audit.problems.order') : null
                }
                data-testid="audit-to"
              />
              <TextInput
                label={t('audit.action')}
                value={form.action}
                onChange={(e) => set('action', e.currentTarget.value)}
                list="audit-known-actions"
                autoComplete="off"
                spellCheck={false}
                data-testid="audit-action"
              />
              <TextInput
                label={t('audit.actor')}
                value={form.actor}
                onChange={(e) => set('actor', e.currentTarget.value)}
                autoComplete="off"
                data-testid="audit-actor"
              />
              <NativeSelect
                label={t('audit.outcome')}
                value={form.outcome}
                onChange={(e) => {
                  const value = e.currentTarget.value;
                  set('outcome', value === 'success' || value === 'failure' ? value : '');
                }}
                data={[
                  { value: '', label: t('audit.outcomes.all') },
                  { value: 'success', label: t('audit.outcomes.success') },
                  { value: 'failure', label: t('audit.outcomes.failure') },
                ]}
                data-testid="audit-outcome"
              />
            </SimpleGrid>
            <datalist id="audit-known-actions">
              {KNOWN_ACTIONS.map((action) => (
                <option key={action} value={action} />
              ))}
            </datalist>
            <Group mt="md" gap="sm">
              <Button type="submit" data-testid="audit-apply">
                {t('audit.apply')}
              </Button>
              <Button variant="default" onClick={reset} data-testid="audit-reset">
                {t('audit.reset')}
              </Button>
              <Text size="xs" c="dimmed">
                {t('audit.timeZoneNote')}
              </Text>
            </Group>
          </form>
        </Paper>

        <ErrorAlert error={audit.error} title={t('audit.loadFailed')} />
        {audit.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : audit.data ? (
          <>
            <Group justify="space-between" wrap="wrap">
              <Text size="sm" aria-live="polite" data-testid="audit-count">
                {total === 0 ? t('audit.none') : t('audit.range', { first, last, total })}
              </Text>
              {audit.isFetching ? <Loader size="xs" aria-label={t('common.loading')} /> : null}
            </Group>
            <Table.ScrollContainer minWidth={1000}>
              <Table striped verticalSpacing="xs" fz="sm" data-testid="audit-table">
                <Table.Caption>{t('audit.caption')}</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">{t('audit.columns.seq')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.recordedAt')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.actor')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.action')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.object')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.facility')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.outcome')}</Table.Th>
                    <Table.Th scope="col">{t('audit.columns.client')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {audit.data.entries.map((entry) => (
                    <AuditRow key={entry.seq} entry={entry} />
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
                data-testid="audit-pagination"
                aria-label={t('pagination.label')}
              />
            ) : null}
          </>
        ) : null}
      </Stack>
    </>
  );
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  const { t } = useTranslation();
  return (
    <Table.Tr data-testid="audit-row">
      <Table.Td ff="monospace">{entry.seq}</Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>
        <DateTime value={entry.recordedAt} />
      </Table.Td>
      <Table.Td>
        <div>{entry.actorName}</div>
        {entry.actorRole ? (
          <Text size="xs" c="dimmed">
            {isRole(entry.actorRole) ? t(`roles.${entry.actorRole}`) : entry.actorRole}
          </Text>
        ) : null}
      </Table.Td>
      <Table.Td ff="monospace">{entry.action}</Table.Td>
      <Table.Td>
        <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
          {entry.objectType}
          {entry.objectId ? `: ${entry.objectId}` : ''}
        </Text>
      </Table.Td>
      <Table.Td ff="monospace">{entry.facilityId ?? '—'}</Table.Td>
      <Table.Td>
        {entry.outcome === 'success' ? (
          <Badge color="teal" variant="light" tt="none">
            {t('audit.outcomes.success')}
          </Badge>
        ) : (
          <Badge color="red" variant="light" tt="none">
            {t('audit.outcomes.failure')}
          </Badge>
        )}
      </Table.Td>
      <Table.Td ff="monospace">{entry.clientAddress}</Table.Td>
    </Table.Tr>
  );
}
