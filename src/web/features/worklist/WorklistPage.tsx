/**
 * The reading worklist (W6): studies to read with their facility, patient, modality, body
 * part, priority, live countdown to the contract's due time (red when overdue), status and
 * who holds the claim. Filters and saved views; claim and release; rows follow live events.
 *
 * Keyboard first: j/k or ↓/↑ move, Enter opens the study in the viewer, c claims, r
 * releases, / goes to the accession search, ? shows the shortcuts. Filters stay in the
 * page (not in the URL: no patient data in URLs, ARCHITECTURE rule 8).
 */
import { Alert, Badge, Button, Checkbox, Group, Kbd, Loader, Modal, NativeSelect, Paper, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { ReadingPriority, ReadingStatus, WorklistFilters, WorklistItem } from '../../../shared/worklist.ts';
import { navigate } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { useSessionUser } from '../auth/session.ts';
import { canClaim, canForceRelease } from './access.ts';
import { useClaim, useDeleteView, useRelease, useSaveView, useViews, useWorklist } from './api.ts';
import { useWorklistLive, type LiveState } from './events.ts';
import { useWorklistTranslation } from './i18n.ts';
import { WorklistRow, isOpenStatus } from './parts.tsx';
import { useClaimRenewal } from './renewal.ts';

const PRIORITIES: ReadingPriority[] = ['stat', 'urgent', 'routine'];
const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'MG', 'US', 'NM', 'PT', 'XA', 'RF'];

/** The form behind the filters (every field a string, as the inputs hold them). */
interface FilterForm {
  facilityId: string;
  modality: string;
  bodyPart: string;
  priority: '' | ReadingPriority;
  status: 'open' | 'closed' | 'all' | ReadingStatus;
  who: 'all' | 'mine' | 'unassigned';
  overdue: boolean;
  accession: string;
  sort: 'due' | '-due';
}

const EMPTY: FilterForm = { facilityId: '', modality: '', bodyPart: '', priority: '', status: 'open', who: 'all', overdue: false, accession: '', sort: 'due' };

function toFilters(f: FilterForm): WorklistFilters {
  const out: WorklistFilters = { status: f.status === 'open' || f.status === 'closed' || f.status === 'all' ? f.status : [f.status], sort: f.sort, who: f.who };
  if (f.facilityId) out.facilityId = f.facilityId;
  if (f.modality.trim()) out.modality = f.modality.trim().toUpperCase();
  if (f.bodyPart.trim()) out.bodyPart = f.bodyPart.trim();
  if (f.priority) out.priority = [f.priority];
  if (f.overdue) out.overdue = true;
  if (f.accession.trim()) out.accession = f.accession.trim();
  return out;
}

function toForm(f: WorklistFilters): FilterForm {
  const status = Array.isArray(f.status) ? (f.status.length === 1 ? f.status[0]! : 'open') : (f.status ?? 'open');
  return {
    facilityId: f.facilityId ?? '',
    modality: f.modality ?? '',
    bodyPart: f.bodyPart ?? '',
    priority: f.priority?.length === 1 ? f.priority[0]! : '',
    status,
    who: f.who ?? 'all',
    overdue: f.overdue === true,
    accession: f.accession ?? '',
    sort: f.sort ?? 'due',
  };
}

/** Whether a key press was meant for a text field rather than for the page. */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)));
}

export function WorklistPage() {
  const { t } = useWorklistTranslation();
  const user = useSessionUser();
  const [form, setForm] = useState<FilterForm>(EMPTY);
  const [applied, setApplied] = useState<WorklistFilters>(toFilters(EMPTY));
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [viewId, setViewId] = useState('');
  const [viewName, setViewName] = useState('');
  const [notice, setNotice] = useState<{ ok: boolean; text: string; error?: unknown } | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const tableRef = useRef<HTMLTableSectionElement>(null);
  const facilities = useRef(new Map<string, string>());

  const list = useWorklist(applied);
  const live = useWorklistLive();
  const views = useViews();
  const saveView = useSaveView();
  const deleteView = useDeleteView();
  const claim = useClaim();
  const release = useRelease();

  const items = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const firstPage = list.data?.pages[0];
  const clockOffsetMs = firstPage?.clockOffsetMs ?? 0;
  useClaimRenewal(items, user.id, firstPage?.claimMinutes ?? 30, clockOffsetMs);

  // Facilities to filter by: those of the user's grants and those the list has shown.
  for (const g of user.grants) if (g.facilityId && !facilities.current.has(g.facilityId)) facilities.current.set(g.facilityId, g.facilityName ?? g.facilityId);
  for (const i of items) if (!facilities.current.has(i.facilityId)) facilities.current.set(i.facilityId, i.facilityName);
  const facilityOptions = [...facilities.current].sort((a, b) => a[1].localeCompare(b[1], 'ja')).map(([value, label]) => ({ value, label }));

  // The selection stays on its item when rows move; it falls back to the first row.
  const selectedIndex = Math.max(0, items.findIndex((i) => i.id === selectedId));
  const selected: WorklistItem | undefined = items[selectedIndex];
  useEffect(() => {
    tableRef.current?.querySelector<HTMLElement>(`[data-item-id="${selected?.id ?? ''}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selected?.id]);

  const apply = (event?: FormEvent) => {
    event?.preventDefault();
    setApplied(toFilters(form));
  };
  const reset = () => {
    setForm(EMPTY);
    setApplied(toFilters(EMPTY));
    setViewId('');
  };
  const set = <K extends keyof FilterForm>(key: K, value: FilterForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  const open = useCallback((item: WorklistItem) => navigate(`/viewer/studies/${encodeURIComponent(item.studyUid)}`), []);
  const mayClaim = canClaim(user);
  const doClaim = useCallback(
    (item: WorklistItem) => {
      if (!mayClaim) return;
      claim.mutate(item.id, {
        onSuccess: () => setNotice({ ok: true, text: t('worklist.actions.claimed') }),
        onError: (error) => setNotice({ ok: false, text: t('worklist.actions.claimFailed'), error }),
      });
    },
    [claim, mayClaim, t],
  );
  const mayRelease = useCallback((item: WorklistItem) => Boolean(item.claimedBy && (item.claimedBy.id === user.id || canForceRelease(user, item.facilityId))), [user]);
  const doRelease = useCallback(
    (item: WorklistItem) => {
      if (!mayRelease(item)) return;
      release.mutate(item.id, {
        onSuccess: () => setNotice({ ok: true, text: t('worklist.actions.released') }),
        onError: (error) => setNotice({ ok: false, text: t('worklist.actions.releaseFailed'), error }),
      });
    },
    [release, mayRelease, t],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target) || helpOpen) return;
      const move = (delta: number) => {
        if (items.length === 0) return;
        const next = Math.min(items.length - 1, Math.max(0, selectedIndex + delta));
        setSelectedId(items[next]!.id);
        event.preventDefault();
      };
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          return move(1);
        case 'k':
        case 'ArrowUp':
          return move(-1);
        case 'Enter':
          if (selected && !(event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement)) {
            event.preventDefault();
            open(selected);
          }
          return;
        case 'c':
          if (selected) doClaim(selected);
          return;
        case 'r':
          if (selected) doRelease(selected);
          return;
        case '/':
          event.preventDefault();
          searchRef.current?.focus();
          return;
        case '?':
          setHelpOpen(true);
          return;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [items, selectedIndex, selected, helpOpen, open, doClaim, doRelease]);

  const chooseView = (id: string) => {
    setViewId(id);
    const view = views.data?.find((v) => v.id === id);
    if (!view) return;
    setForm(toForm(view.filters));
    setApplied(view.filters);
    setViewName(view.name);
  };
  const save = () => {
    const name = viewName.trim();
    if (!name) return;
    saveView.mutate(
      { name, filters: toFilters(form) },
      {
        onSuccess: (v) => {
          setViewId(v.id);
          setNotice({ ok: true, text: t('worklist.views.saved') });
        },
        onError: (error) => setNotice({ ok: false, text: t('worklist.views.failed'), error }),
      },
    );
  };
  const remove = () => {
    if (!viewId) return;
    deleteView.mutate(viewId, {
      onSuccess: () => {
        setViewId('');
        setNotice({ ok: true, text: t('worklist.views.deleted') });
      },
    });
  };

  return (
    <>
      <PageHeader
        title={t('worklist.title')}
        description={t('worklist.description')}
        actions={
          <>
            <LiveBadge state={live} />
            <Button variant="default" size="xs" onClick={() => setHelpOpen(true)} data-testid="worklist-help" aria-keyshortcuts="?">
              {t('worklist.shortcuts.show')} <Kbd ml={6}>?</Kbd>
            </Button>
          </>
        }
      />
      <Stack gap="md">
        <Paper withBorder p="md" component="section" aria-label={t('worklist.filters.heading')}>
          <form onSubmit={apply} noValidate>
            <SimpleGrid cols={{ base: 1, sm: 3, lg: 5 }} spacing="sm">
              <TextInput
                ref={searchRef}
                label={t('worklist.filters.accession')}
                placeholder={t('worklist.filters.accessionPlaceholder')}
                value={form.accession}
                onChange={(e) => set('accession', e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') e.currentTarget.blur();
                }}
                rightSection={<Kbd size="xs">/</Kbd>}
                aria-keyshortcuts="/"
                autoComplete="off"
                data-testid="worklist-filter-accession"
              />
              <NativeSelect
                label={t('worklist.filters.facility')}
                value={form.facilityId}
                onChange={(e) => set('facilityId', e.currentTarget.value)}
                data={[{ value: '', label: t('worklist.filters.all') }, ...facilityOptions]}
                data-testid="worklist-filter-facility"
              />
              <NativeSelect
                label={t('worklist.filters.modality')}
                value={form.modality}
                onChange={(e) => set('modality', e.currentTarget.value)}
                data={[{ value: '', label: t('worklist.filters.all') }, ...MODALITIES.map((m) => ({ value: m, label: m }))]}
                data-testid="worklist-filter-modality"
              />
              <TextInput label={t('worklist.filters.bodyPart')} value={form.bodyPart} onChange={(e) => set('bodyPart', e.currentTarget.value)} autoComplete="off" data-testid="worklist-filter-body-part" />
              <NativeSelect
                label={t('worklist.filters.priority')}
                value={form.priority}
                onChange={(e) => set('priority', e.currentTarget.value as FilterForm['priority'])}
                data={[{ value: '', label: t('worklist.filters.all') }, ...PRIORITIES.map((p) => ({ value: p, label: t(`worklist.priority.${p}`) }))]}
                data-testid="worklist-filter-priority"
              />
              <NativeSelect
                label={t('worklist.filters.status')}
                value={form.status}
                onChange={(e) => set('status', e.currentTarget.value as FilterForm['status'])}
                data={[
                  ...(['open', 'closed', 'all'] as const).map((s) => ({ value: s, label: t(`worklist.statusOptions.${s}`) })),
                  ...(['unread', 'in-progress', 'draft', 'preliminary', 'final', 'cancelled'] as const).map((s) => ({ value: s, label: t(`worklist.status.${s}`) })),
                ]}
                data-testid="worklist-filter-status"
              />
              <NativeSelect
                label={t('worklist.filters.who')}
                value={form.who}
                onChange={(e) => set('who', e.currentTarget.value as FilterForm['who'])}
                data={(['all', 'mine', 'unassigned'] as const).map((w) => ({ value: w, label: t(`worklist.whoOptions.${w}`) }))}
                data-testid="worklist-filter-who"
              />
              <NativeSelect
                label={t('worklist.filters.sort')}
                value={form.sort}
                onChange={(e) => set('sort', e.currentTarget.value as FilterForm['sort'])}
                data={(['due', '-due'] as const).map((s) => ({ value: s, label: t(`worklist.sortOptions.${s}`) }))}
                data-testid="worklist-filter-sort"
              />
              <Checkbox mt="xl" label={t('worklist.filters.overdue')} checked={form.overdue} onChange={(e) => set('overdue', e.currentTarget.checked)} data-testid="worklist-filter-overdue" />
            </SimpleGrid>
            <Group mt="md" gap="sm" justify="space-between" wrap="wrap">
              <Group gap="sm">
                <Button type="submit" data-testid="worklist-apply">
                  {t('worklist.filters.apply')}
                </Button>
                <Button variant="default" onClick={reset} data-testid="worklist-reset">
                  {t('worklist.filters.reset')}
                </Button>
              </Group>
              <Group gap="sm" align="flex-end" aria-label={t('worklist.views.heading')} role="group">
                <NativeSelect
                  label={t('worklist.views.heading')}
                  value={viewId}
                  onChange={(e) => chooseView(e.currentTarget.value)}
                  data={[{ value: '', label: views.data?.length ? t('worklist.views.choose') : t('worklist.views.none') }, ...(views.data ?? []).map((v) => ({ value: v.id, label: v.name }))]}
                  data-testid="worklist-views"
                />
                <TextInput label={t('worklist.views.name')} value={viewName} onChange={(e) => setViewName(e.currentTarget.value)} maxLength={80} data-testid="worklist-view-name" />
                <Button variant="light" onClick={save} disabled={!viewName.trim()} loading={saveView.isPending} data-testid="worklist-view-save">
                  {t('worklist.views.save')}
                </Button>
                <Button variant="subtle" color="red" onClick={remove} disabled={!viewId} data-testid="worklist-view-delete">
                  {t('worklist.views.delete')}
                </Button>
              </Group>
            </Group>
          </form>
        </Paper>

        <ShortcutHint />
        {notice ? (
          notice.ok ? (
            <Alert color="teal" variant="light" withCloseButton onClose={() => setNotice(null)} role="status" data-testid="worklist-notice">
              {notice.text}
            </Alert>
          ) : (
            <ErrorAlert error={notice.error} title={notice.text} testId="worklist-action-error" />
          )
        ) : null}
        <ErrorAlert error={list.error} title={t('worklist.loadFailed')} testId="worklist-error" />
        {list.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : list.data ? (
          <>
            <Group justify="space-between">
              <Text size="sm" aria-live="polite" data-testid="worklist-count" data-count={items.length}>
                {items.length === 0 ? t('worklist.empty') : t('worklist.count', { count: items.length })}
              </Text>
              {list.isFetching ? <Loader size="xs" aria-label={t('common.loading')} /> : null}
            </Group>
            <Table.ScrollContainer minWidth={1200}>
              <Table verticalSpacing="xs" fz="sm" highlightOnHover data-testid="worklist-table" aria-rowcount={items.length}>
                <Table.Caption>{t('worklist.caption')}</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">{t('worklist.columns.priority')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.due')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.facility')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.patient')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.modality')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.bodyPart')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.exam')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.status')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.claimedBy')}</Table.Th>
                    <Table.Th scope="col">{t('worklist.columns.actions')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody ref={tableRef}>
                  {items.map((item) => (
                    <WorklistRow
                      key={item.id}
                      item={item}
                      selected={item.id === selected?.id}
                      userId={user.id}
                      clockOffsetMs={clockOffsetMs}
                      canClaim={mayClaim && isOpenStatus(item.status) && (!item.claimedBy || item.claimedBy.id === user.id)}
                      canRelease={mayRelease(item)}
                      busy={(claim.isPending && claim.variables === item.id) || (release.isPending && release.variables === item.id)}
                      onSelect={() => setSelectedId(item.id)}
                      onOpen={() => open(item)}
                      onClaim={() => doClaim(item)}
                      onRelease={() => doRelease(item)}
                    />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {list.hasNextPage ? (
              <Button variant="default" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage} data-testid="worklist-more">
                {t('worklist.more')}
              </Button>
            ) : null}
          </>
        ) : null}
      </Stack>
      <ShortcutHelp opened={helpOpen} onClose={() => setHelpOpen(false)} />
    </>
  );
}

function LiveBadge({ state }: { state: LiveState }) {
  const { t } = useWorklistTranslation();
  const colour = state === 'live' ? 'teal' : state === 'connecting' ? 'gray' : 'orange';
  return (
    <Badge color={colour} variant="light" tt="none" size="lg" role="status" data-testid="worklist-live" data-state={state}>
      {t(`worklist.live.${state}`)}
    </Badge>
  );
}

const SHORTCUTS: Array<{ keys: string[]; action: 'move' | 'open' | 'claim' | 'release' | 'search' | 'help' }> = [
  { keys: ['j', 'k', '↓', '↑'], action: 'move' },
  { keys: ['Enter'], action: 'open' },
  { keys: ['c'], action: 'claim' },
  { keys: ['r'], action: 'release' },
  { keys: ['/'], action: 'search' },
  { keys: ['?'], action: 'help' },
];

/** The shortcuts in one line above the list. */
function ShortcutHint() {
  const { t } = useWorklistTranslation();
  return (
    <Group gap="md" data-testid="worklist-shortcut-hint" aria-label={t('worklist.shortcuts.heading')}>
      {SHORTCUTS.map((s) => (
        <Group key={s.action} gap={4} wrap="nowrap">
          {s.keys.map((k) => (
            <Kbd key={k} size="xs">
              {k}
            </Kbd>
          ))}
          <Text size="xs" c="dimmed">
            {t(`worklist.shortcuts.${s.action}`)}
          </Text>
        </Group>
      ))}
    </Group>
  );
}

function ShortcutHelp({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const { t } = useWorklistTranslation();
  return (
    <Modal opened={opened} onClose={onClose} title={t('worklist.shortcuts.heading')} data-testid="worklist-shortcuts">
      <Table>
        <Table.Tbody>
          {SHORTCUTS.map((s) => (
            <Table.Tr key={s.action}>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                <Group gap={4} wrap="nowrap">
                  {s.keys.map((k) => (
                    <Kbd key={k}>{k}</Kbd>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>{t(`worklist.shortcuts.${s.action}`)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Modal>
  );
}
