/**
 * Reports still waiting for the attending physician's read confirmation (W8). Attending
 * physicians confirm here; readers and the management physician see what is still open.
 */
import { Anchor, Button, Table, Text } from '@mantine/core';
import { hasAnyRole } from '../../app/access.ts';
import { linkProps } from '../../app/router.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { useSessionUser } from '../auth/session.ts';
import { useConfirmRead, useUnconfirmed } from './api.ts';
import { useReportTranslation } from './i18n.ts';

const tokyo = (iso: string) => new Date(iso).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo' });

/** `/reports`: unconfirmed final reports of the caller's facilities. */
export function UnconfirmedPage() {
  const { t } = useReportTranslation();
  const user = useSessionUser();
  const list = useUnconfirmed(true);
  const confirm = useConfirmRead();
  const attending = (facilityId: string) => user.grants.some((g) => g.role === 'attending-physician' && g.facilityId === facilityId);
  const readsImages = hasAnyRole(user, 'radiologist', 'management-physician', 'attending-physician', 'transcriptionist');
  return (
    <>
      <PageHeader title={t('report.unconfirmedPage.title')} />
      {list.error ? <ErrorAlert error={list.error} title={t('report.loadFailed')} /> : null}
      {confirm.error ? <ErrorAlert error={confirm.error} title={t('report.loadFailed')} /> : null}
      {list.data && list.data.length === 0 ? <Text c="dimmed">{t('report.unconfirmedPage.empty')}</Text> : null}
      {list.data && list.data.length > 0 ? (
        <Table striped data-testid="unconfirmed-reports">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('report.unconfirmedPage.finalisedAt')}</Table.Th>
              <Table.Th>{t('report.unconfirmedPage.facility')}</Table.Th>
              <Table.Th>{t('report.unconfirmedPage.study')}</Table.Th>
              <Table.Th>{t('report.unconfirmedPage.kind')}</Table.Th>
              <Table.Th>{t('report.unconfirmedPage.signedBy')}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.map((r) => (
              <Table.Tr key={r.versionId} data-testid="unconfirmed-row" data-version={r.versionId}>
                <Table.Td>{tokyo(r.finalisedAt)}</Table.Td>
                <Table.Td>{r.facilityName}</Table.Td>
                <Table.Td>
                  {readsImages ? <Anchor {...linkProps(`/viewer/studies/${encodeURIComponent(r.studyUid)}`)}>{r.description || t('report.unconfirmedPage.open')}</Anchor> : r.description}
                </Table.Td>
                <Table.Td>
                  {t(`report.kinds.${r.kind}`)} v{r.version}
                </Table.Td>
                <Table.Td>{r.signedBy}</Table.Td>
                <Table.Td>
                  <Anchor href={`/api/report-versions/${encodeURIComponent(r.versionId)}/pdf`} target="_blank" rel="noopener" mr="sm">
                    PDF
                  </Anchor>
                  {attending(r.facilityId) ? (
                    <Button size="xs" onClick={() => confirm.mutate(r.versionId)} loading={confirm.isPending && confirm.variables === r.versionId} data-testid="confirm-read">
                      {t('report.unconfirmedPage.confirm')}
                    </Button>
                  ) : null}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </>
  );
}
