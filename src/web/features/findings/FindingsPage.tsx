/**
 * `/findings`: the open notices the user may see (most pressing first) and the overdue list
 * (notices past their deadline and follow-ups past their due date). `/findings/<id>` (an
 * alert's "open" button, the outside prompts' link) puts that finding on top, whatever its
 * status. Only internal ids appear in the URL (no PHI in URLs).
 */
import { Alert, Button, Group, NativeSelect, Stack, Tabs, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { FindingCategory, FindingView } from '../../../shared/findings.ts';
import { FINDING_CATEGORIES } from '../../../shared/findings.ts';
import { linkProps } from '../../app/router.tsx';
import { useSessionUser } from '../auth/session.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { canManageFindings } from './access.ts';
import { refreshFindings, useFinding, useFindings } from './api.ts';
import { FindingCard } from './FindingCard.tsx';
import { useFindingsTranslation, type FindingsT } from './i18n.ts';
import { useQueryClient } from '@tanstack/react-query';

const RANK: Record<FindingCategory, number> = { critical: 0, urgent: 1, incidental: 2 };

/** Critical first, then by deadline (soonest first), then newest. */
function pressingFirst(list: FindingView[]): FindingView[] {
  const deadline = (f: FindingView) => (f.deadlineAt ? Date.parse(f.deadlineAt) : Number.POSITIVE_INFINITY);
  return [...list].sort((a, b) => RANK[a.category] - RANK[b.category] || deadline(a) - deadline(b) || Date.parse(b.raisedAt) - Date.parse(a.raisedAt));
}

/**
 * Refreshes the lists a few seconds after the soonest deadline on screen passes (the notice
 * will have escalated): once per deadline, so an unattended page does not poll.
 */
function useRefreshAfterNextDeadline(findings: Array<FindingView | undefined>): void {
  const queryClient = useQueryClient();
  const now = Date.now();
  const next = findings
    .filter((f): f is FindingView => f?.status === 'open' && f.deadlineAt !== null)
    .map((f) => Date.parse(f.deadlineAt!))
    .filter((d) => d > now - 3000)
    .sort((a, b) => a - b)[0];
  useEffect(() => {
    if (next === undefined) return;
    const timer = window.setTimeout(() => void refreshFindings(queryClient), Math.min(Math.max(next - Date.now() + 3000, 500), 2_147_000_000));
    return () => window.clearTimeout(timer);
  }, [next, queryClient]);
}

export function FindingsPage({ focusId = null }: { focusId?: string | null }) {
  const { t } = useFindingsTranslation();
  const user = useSessionUser();
  const queryClient = useQueryClient();
  const [tab, setTab] = useState<string | null>('open');
  const [category, setCategory] = useState<FindingCategory | ''>('');
  const focused = useFinding(focusId);
  const open = useFindings({ status: 'open' });
  const overdue = useFindings({ status: 'overdue' });
  useRefreshAfterNextDeadline([focused.data, ...(open.data ?? [])]);

  return (
    <>
      <PageHeader
        title={t('findings.page.title')}
        description={t('findings.page.description')}
        actions={
          <>
            {canManageFindings(user) ? (
              <Button variant="default" component="a" {...linkProps('/findings/manage')} data-testid="findings-manage-link">
                {t('findings.nav.manage')}
              </Button>
            ) : null}
            <Button variant="default" onClick={() => void refreshFindings(queryClient)} data-testid="findings-refresh">
              {t('common.refresh')}
            </Button>
          </>
        }
      />
      <Stack gap="lg">
        {focusId ? (
          <section aria-label={t('findings.page.focused')} data-testid="findings-focused">
            {focused.isPending ? <Text size="sm">{t('common.loading')}</Text> : null}
            {focused.error ? <ErrorAlert error={focused.error} title={t('findings.page.loadFailed')} /> : null}
            {focused.data ? <FindingCard finding={focused.data} highlight /> : null}
          </section>
        ) : null}
        <Group align="flex-end">
          <NativeSelect
            label={t('findings.fields.category')}
            data={[{ value: '', label: t('findings.page.allCategories') }, ...FINDING_CATEGORIES.map((c) => ({ value: c, label: t(`findings.categories.${c}`) }))]}
            value={category}
            onChange={(e) => setCategory(e.currentTarget.value as FindingCategory | '')}
            data-testid="findings-filter-category"
          />
        </Group>
        <Tabs value={tab} onChange={setTab} keepMounted={false}>
          <Tabs.List>
            <Tabs.Tab value="open" data-testid="findings-tab-open">
              {t('findings.page.open')} {open.data ? `(${open.data.length})` : ''}
            </Tabs.Tab>
            <Tabs.Tab value="overdue" data-testid="findings-tab-overdue" color="red">
              {t('findings.page.overdue')} {overdue.data ? `(${overdue.data.length})` : ''}
            </Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="open" pt="md">
            <FindingList query={open} exclude={focusId} category={category} empty={t('findings.page.noOpen')} testId="findings-open-list" t={t} />
          </Tabs.Panel>
          <Tabs.Panel value="overdue" pt="md">
            <FindingList query={overdue} exclude={focusId} category={category} empty={t('findings.page.noOverdue')} testId="findings-overdue-list" t={t} />
          </Tabs.Panel>
        </Tabs>
      </Stack>
    </>
  );
}

function FindingList({
  query,
  exclude,
  category,
  empty,
  testId,
  t,
}: {
  query: ReturnType<typeof useFindings>;
  exclude: string | null;
  category: FindingCategory | '';
  empty: string;
  testId: string;
  t: FindingsT;
}) {
  if (query.isPending) return <Text size="sm">{t('common.loading')}</Text>;
  if (query.error) return <ErrorAlert error={query.error} title={t('findings.page.loadFailed')} />;
  const matching = query.data.filter((f) => !category || f.category === category);
  // The finding opened on top is not shown twice.
  const list = pressingFirst(matching.filter((f) => f.id !== exclude));
  return (
    <Stack gap="md" data-testid={testId} data-count={list.length}>
      {list.length === 0 ? (
        <Alert color="gray" data-testid="findings-empty">
          {matching.length ? t('findings.page.onlyFocused') : empty}
        </Alert>
      ) : (
        list.map((f) => <FindingCard key={f.id} finding={f} />)
      )}
    </Stack>
  );
}
