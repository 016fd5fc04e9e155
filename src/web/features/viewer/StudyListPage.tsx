/**
 * The study list (QIDO-RS): the studies of the facilities the reader may read, with the
 * patient's name in all its groups, the date, the modalities and the facility; a study
 * opens in the viewer, and each row shows the patient's other studies (priors: the same
 * Patient ID and issuer) on request.
 */
import { Anchor, Badge, Button, Group, Loader, NativeSelect, Pagination, Paper, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { Fragment, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { linkProps } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { formatDicomDate, formatDicomTime } from './dicomJson.ts';
import { preloadStudy } from './engine.ts';
import { fetchPriors, NO_STUDY_FILTERS, useStudies, type StudyFilters, type StudySummary } from './dicomweb.ts';
import { PatientNameView } from './names.tsx';

export const STUDY_PAGE_SIZE = 50;
const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'MG', 'US', 'NM', 'PT', 'XA', 'RF', 'OT'];

/** The viewer path of a study. */
export function viewerPath(studyUid: string): string {
  return `/viewer/studies/${encodeURIComponent(studyUid)}`;
}

export function StudyListPage() {
  const { t } = useTranslation();
  const [form, setForm] = useState<StudyFilters>(NO_STUDY_FILTERS);
  const [applied, setApplied] = useState<StudyFilters>(NO_STUDY_FILTERS);
  const [page, setPage] = useState(1);
  const [expanded, setExpanded] = useState<string | null>(null);
  // One more than a page tells whether there is a next page (QIDO-RS gives no total).
  const studies = useStudies(applied, STUDY_PAGE_SIZE + 1, (page - 1) * STUDY_PAGE_SIZE);
  const rows = (studies.data ?? []).slice(0, STUDY_PAGE_SIZE);
  const hasNext = (studies.data?.length ?? 0) > STUDY_PAGE_SIZE;

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied({ ...form });
    setPage(1);
    setExpanded(null);
  };
  const set = <K extends keyof StudyFilters>(key: K, value: StudyFilters[K]) => setForm((f) => ({ ...f, [key]: value }));

  return (
    <>
      <PageHeader title={t('studies.title')} description={t('studies.description')} />
      <Stack gap="md">
        <Paper withBorder p="md" component="section" aria-labelledby="study-filters-heading">
          <Text id="study-filters-heading" fw={600} mb="sm">
            {t('studies.filters')}
          </Text>
          <form onSubmit={apply} noValidate>
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 5 }} spacing="sm">
              <TextInput label={t('studies.patientName')} description={t('studies.patientNameHelp')} value={form.patientName} onChange={(e) => set('patientName', e.currentTarget.value)} autoComplete="off" data-testid="studies-name" />
              <TextInput label={t('studies.patientId')} value={form.patientId} onChange={(e) => set('patientId', e.currentTarget.value)} autoComplete="off" data-testid="studies-patient-id" />
              <TextInput type="date" label={t('studies.from')} value={form.from} onChange={(e) => set('from', e.currentTarget.value)} data-testid="studies-from" />
              <TextInput type="date" label={t('studies.to')} value={form.to} onChange={(e) => set('to', e.currentTarget.value)} data-testid="studies-to" />
              <NativeSelect
                label={t('studies.modality')}
                value={form.modality}
                onChange={(e) => set('modality', e.currentTarget.value)}
                data={[{ value: '', label: t('studies.allModalities') }, ...MODALITIES.map((m) => ({ value: m, label: m }))]}
                data-testid="studies-modality"
              />
            </SimpleGrid>
            <Group mt="md" gap="sm">
              <Button type="submit" data-testid="studies-apply">
                {t('studies.search')}
              </Button>
              <Button
                variant="default"
                onClick={() => {
                  setForm(NO_STUDY_FILTERS);
                  setApplied(NO_STUDY_FILTERS);
                  setPage(1);
                }}
                data-testid="studies-reset"
              >
                {t('studies.reset')}
              </Button>
            </Group>
          </form>
        </Paper>

        <ErrorAlert error={studies.error} title={t('studies.loadFailed')} />
        {studies.isPending ? (
          <Loader aria-label={t('common.loading')} />
        ) : (
          <>
            <Group justify="space-between">
              <Text size="sm" aria-live="polite" data-testid="studies-count">
                {rows.length === 0 ? t('studies.none') : t('studies.shown', { count: rows.length })}
              </Text>
              {studies.isFetching ? <Loader size="xs" aria-label={t('common.loading')} /> : null}
            </Group>
            {rows.length > 0 ? (
              <Table.ScrollContainer minWidth={900}>
                <Table striped verticalSpacing="xs" fz="sm" data-testid="studies-table">
                  <Table.Caption>{t('studies.caption')}</Table.Caption>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th scope="col">{t('studies.columns.patient')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.patientId')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.date')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.modalities')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.description')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.facility')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.images')}</Table.Th>
                      <Table.Th scope="col">{t('studies.columns.actions')}</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {rows.map((study, i) => (
                      <Fragment key={study.studyUid}>
                        <StudyRow study={study} index={i} expanded={expanded === study.studyUid} onToggle={() => setExpanded(expanded === study.studyUid ? null : study.studyUid)} />
                        {expanded === study.studyUid ? (
                          <Table.Tr>
                            <Table.Td colSpan={8}>
                              <PriorsOf study={study} />
                            </Table.Td>
                          </Table.Tr>
                        ) : null}
                      </Fragment>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            ) : null}
            {page > 1 || hasNext ? (
              <Pagination value={page} onChange={setPage} total={hasNext ? page + 1 : page} data-testid="studies-pagination" />
            ) : null}
          </>
        )}
      </Stack>
    </>
  );
}

/** A link that opens a study in the viewer, starting to load its first image with the click. */
function openProps(queryClient: QueryClient, studyUid: string): ReturnType<typeof linkProps> {
  const link = linkProps(viewerPath(studyUid));
  return {
    href: link.href,
    onClick: (event) => {
      if (event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey) preloadStudy(queryClient, studyUid);
      link.onClick(event);
    },
  };
}

function StudyRow({ study, index, expanded, onToggle }: { study: StudySummary; index: number; expanded: boolean; onToggle: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  return (
    <Table.Tr data-testid="study-row" data-study-uid={study.studyUid}>
      <Table.Td>
        <PatientNameView name={study.patientName} />
      </Table.Td>
      <Table.Td>
        <Text size="sm" ff="monospace">
          {study.patientId || '—'}
        </Text>
      </Table.Td>
      <Table.Td>
        {formatDicomDate(study.studyDate, i18n.language) || '—'}{' '}
        <Text span size="xs" c="dimmed">
          {formatDicomTime(study.studyTime)}
        </Text>
      </Table.Td>
      <Table.Td>
        <Group gap={4}>
          {study.modalities.map((m) => (
            <Badge key={m} variant="light" size="sm" tt="none">
              {m}
            </Badge>
          ))}
        </Group>
      </Table.Td>
      <Table.Td>{study.description || '—'}</Table.Td>
      <Table.Td>
        {study.facility || (
          <Text span c="dimmed" size="sm" title={t('studies.facilityUnknown')} aria-label={t('studies.facilityUnknown')}>
            —
          </Text>
        )}
      </Table.Td>
      <Table.Td>{t('studies.images', { series: study.series ?? '—', instances: study.instances ?? '—' })}</Table.Td>
      <Table.Td>
        <Group gap="xs" wrap="nowrap">
          <Button component="a" size="compact-sm" {...openProps(queryClient, study.studyUid)} data-testid={`study-open-${index}`}>
            {t('studies.open')}
          </Button>
          <Button variant="default" size="compact-sm" onClick={onToggle} aria-expanded={expanded} data-testid={`study-priors-${index}`}>
            {t('studies.otherStudies')}
          </Button>
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

/** The patient's other studies, fetched when the row is opened. */
function PriorsOf({ study }: { study: StudySummary }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const priors = useQuery({
    queryKey: ['dicomweb', 'priors', study.studyUid, study.patientId, study.issuer],
    queryFn: ({ signal }) => fetchPriors(study, signal),
    placeholderData: keepPreviousData,
  });
  if (priors.isPending) return <Loader size="sm" aria-label={t('common.loading')} />;
  if (priors.error) return <ErrorAlert error={priors.error} title={t('studies.loadFailed')} />;
  const list = priors.data ?? [];
  return (
    <Stack gap={4} data-testid="study-priors">
      <Text size="sm" fw={600}>
        {t('studies.priorsHeading', { id: study.patientId })}
      </Text>
      {list.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid="study-priors-none">
          {t('studies.noPriors')}
        </Text>
      ) : (
        list.map((p) => (
          <Group key={p.studyUid} gap="sm" data-testid="prior-row" data-study-uid={p.studyUid}>
            <Text size="sm">{formatDicomDate(p.studyDate, i18n.language)}</Text>
            <Text size="sm">{p.modalities.join(', ')}</Text>
            <Text size="sm">{p.description}</Text>
            <Anchor size="sm" {...openProps(queryClient, p.studyUid)}>
              {t('studies.open')}
            </Anchor>
          </Group>
        ))
      )}
    </Stack>
  );
}
