/**
 * A physician's credentials (REQUIREMENTS L1, L2, L4; 医師法第17条): verified medical
 * licences, specialist certifications with their expiry, training with due dates, and the
 * check whether the physician may read a study of a modality from a facility. For system
 * administrators and the management physician; every record and every look is audited by
 * the server, which also decides the qualification (its reasons are shown as it words them).
 */
import { Alert, Badge, Button, Drawer, Group, List, Loader, NativeSelect, Paper, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { AdminUser, FacilitySummary, UserCredentials } from '../../../shared/api.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { formatDay, tokyoToday } from '../../ui/time.ts';
import {
  CERTIFICATION_KINDS,
  LICENCE_KINDS,
  MODALITIES,
  useCredentials,
  useQualification,
  useRecordCertification,
  useRecordLicence,
  useRecordTraining,
  useRevokeLicence,
  type CertificationKind,
  type LicenceKind,
  type Modality,
  type QualificationQuery,
} from './credentials.ts';

type Section = 'licence' | 'revoke' | 'certification' | 'training';

/** The outcome of the last change, shown in the section where it happened (one at a time). */
type Outcome = { section: Section; error: unknown; done?: undefined } | { section: Section; done: string; error?: undefined };

export function CredentialsDrawer({
  user,
  users,
  facilities,
  facilitiesError,
  onClose,
}: {
  user: AdminUser | null;
  /** Everyone the page lists, to name who verified a record. */
  users: AdminUser[];
  facilities: FacilitySummary[];
  facilitiesError: unknown;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Drawer
      opened={user !== null}
      onClose={onClose}
      position="right"
      size="64rem"
      title={user ? t('admin.credentials.title', { name: user.displayName, username: user.username }) : ''}
      closeButtonProps={{ 'aria-label': t('common.close') }}
    >
      {user ? <CredentialsPanel key={user.id} user={user} users={users} facilities={facilities} facilitiesError={facilitiesError} /> : null}
    </Drawer>
  );
}

function CredentialsPanel({
  user,
  users,
  facilities,
  facilitiesError,
}: {
  user: AdminUser;
  users: AdminUser[];
  facilities: FacilitySummary[];
  facilitiesError: unknown;
}) {
  const { t, i18n } = useTranslation();
  const credentials = useCredentials(user.id);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const today = tokyoToday();

  const names = useMemo(
    () => new Map(users.map((u) => [u.id, t('admin.credentials.person', { name: u.displayName, username: u.username })])),
    [users, t],
  );
  /** Records name their verifier by user id (or `system:<name>` for the command line). */
  const verifier = (id: string) => {
    if (id.startsWith('system:')) return t('admin.credentials.system', { name: id.slice('system:'.length) });
    return names.get(id) ?? id;
  };
  const day = (value: string | null) => (value ? formatDay(value, i18n.language) : '—');

  const report = {
    failed: (section: Section) => (error: unknown) => setOutcome({ section, error }),
    done: (section: Section, text: string) => setOutcome({ section, done: text }),
    clear: () => setOutcome(null),
  };

  const shownOutcome = (section: Section, failedTitle: string): ReactNode => {
    if (!outcome || outcome.section !== section) return null;
    if (outcome.done !== undefined)
      return (
        <Alert color="teal" role="status" data-testid="credentials-notice">
          {outcome.done}
        </Alert>
      );
    return <ErrorAlert error={outcome.error} title={failedTitle} testId="credentials-error" />;
  };

  if (credentials.isPending) return <Loader aria-label={t('common.loading')} />;
  if (credentials.isError)
    return (
      <Stack gap="sm">
        <ErrorAlert error={credentials.error} title={t('admin.credentials.loadFailed')} testId="credentials-error" />
        <Group>
          <Button variant="default" onClick={() => void credentials.refetch()} loading={credentials.isFetching} data-testid="retry">
            {t('common.retry')}
          </Button>
        </Group>
      </Stack>
    );

  const data = credentials.data;

  return (
    <Stack gap="xl">
      <Text size="sm" c="dimmed">
        {t('admin.credentials.intro')}
      </Text>

      <Panel id="credentials-licences" title={t('admin.credentials.licences.heading')}>
        <LicencesTable
          licences={data.licences}
          userId={user.id}
          verifier={verifier}
          onStart={report.clear}
          onRevoked={() => report.done('revoke', t('admin.credentials.licences.revoked'))}
          onFailed={report.failed('revoke')}
        />
        {shownOutcome('revoke', t('admin.credentials.licences.revokeFailed'))}
        <LicenceForm
          userId={user.id}
          onStart={report.clear}
          onDone={() => report.done('licence', t('admin.credentials.licences.recorded'))}
          onFailed={report.failed('licence')}
        />
        {shownOutcome('licence', t('admin.credentials.licences.failed'))}
      </Panel>

      <Panel id="credentials-certifications" title={t('admin.credentials.certifications.heading')}>
        <Table.ScrollContainer minWidth={760}>
          <Table striped verticalSpacing="xs" fz="sm" data-testid="certifications-table">
            <Table.Caption>{t('admin.credentials.certifications.caption')}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('admin.credentials.certifications.columns.kind')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.certifications.columns.number')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.certifications.columns.issuedOn')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.certifications.columns.expiresOn')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.columns.verifiedBy')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.columns.verifiedAt')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.columns.evidence')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.certifications.length === 0 ? <EmptyRow columns={7} text={t('admin.credentials.certifications.none')} /> : null}
              {data.certifications.map((cert) => {
                const expired = cert.expires_on < today;
                return (
                  <Table.Tr key={cert.id} data-testid="cert-row" data-expired={expired ? 'true' : 'false'}>
                    <Table.Td>{certificationLabel(t, cert.kind)}</Table.Td>
                    <Table.Td>{cert.number || '—'}</Table.Td>
                    <Table.Td>{day(cert.issued_on)}</Table.Td>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <span>{day(cert.expires_on)}</span>
                        {expired ? (
                          <Badge color="red" tt="none" data-testid="cert-expired">
                            {t('admin.credentials.certifications.expired')}
                          </Badge>
                        ) : null}
                      </Group>
                    </Table.Td>
                    <Table.Td>{verifier(cert.verified_by)}</Table.Td>
                    <Table.Td>
                      <DateTime value={cert.verified_at} />
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{cert.evidence}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        <CertificationForm
          userId={user.id}
          onStart={report.clear}
          onDone={() => report.done('certification', t('admin.credentials.certifications.recorded'))}
          onFailed={report.failed('certification')}
        />
        {shownOutcome('certification', t('admin.credentials.certifications.failed'))}
      </Panel>

      <Panel id="credentials-trainings" title={t('admin.credentials.trainings.heading')}>
        <Table.ScrollContainer minWidth={600}>
          <Table striped verticalSpacing="xs" fz="sm" data-testid="trainings-table">
            <Table.Caption>{t('admin.credentials.trainings.caption')}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('admin.credentials.trainings.columns.course')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.trainings.columns.dueOn')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.trainings.columns.completedOn')}</Table.Th>
                <Table.Th scope="col">{t('admin.credentials.trainings.columns.recordedBy')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.trainings.length === 0 ? <EmptyRow columns={4} text={t('admin.credentials.trainings.none')} /> : null}
              {data.trainings.map((training) => {
                const overdue = !training.completed_on && training.due_on < today;
                return (
                  <Table.Tr key={training.id} data-testid="training-row" data-overdue={overdue ? 'true' : 'false'}>
                    <Table.Td>{training.course}</Table.Td>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <span>{day(training.due_on)}</span>
                        {overdue ? (
                          <Badge color="red" tt="none" data-testid="training-overdue">
                            {t('admin.credentials.trainings.overdue')}
                          </Badge>
                        ) : null}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {training.completed_on ? (
                        day(training.completed_on)
                      ) : (
                        <Text span size="sm" c="dimmed">
                          {t('admin.credentials.trainings.notCompleted')}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      {verifier(training.recorded_by)}
                      <Text size="xs" c="dimmed">
                        <DateTime value={training.recorded_at} />
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        <TrainingForm
          userId={user.id}
          onStart={report.clear}
          onDone={() => report.done('training', t('admin.credentials.trainings.recorded'))}
          onFailed={report.failed('training')}
        />
        {shownOutcome('training', t('admin.credentials.trainings.failed'))}
      </Panel>

      <QualificationBox userId={user.id} facilities={facilities} facilitiesError={facilitiesError} otherError={outcome?.error !== undefined} onStart={report.clear} />
    </Stack>
  );
}

function Panel({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Stack gap="sm" component="section" aria-labelledby={id}>
      <Title order={2} fz="h4" id={id}>
        {title}
      </Title>
      {children}
    </Stack>
  );
}

function EmptyRow({ columns, text }: { columns: number; text: string }) {
  return (
    <Table.Tr>
      <Table.Td colSpan={columns}>
        <Text c="dimmed" ta="center" size="sm" py="xs">
          {text}
        </Text>
      </Table.Td>
    </Table.Tr>
  );
}

type T = ReturnType<typeof useTranslation>['t'];

function isCertificationKind(value: string): value is CertificationKind {
  return (CERTIFICATION_KINDS as readonly string[]).includes(value);
}

function certificationLabel(t: T, kind: string): string {
  return isCertificationKind(kind) ? t(`admin.credentials.certifications.kinds.${kind}`) : kind;
}

function licenceLabel(t: T, kind: string): string {
  return (LICENCE_KINDS as readonly string[]).includes(kind) ? t(`admin.credentials.licences.kinds.${kind as LicenceKind}`) : kind;
}

interface ChangeCallbacks {
  /** A change starts: the previous outcome is no longer news. */
  onStart: () => void;
  onDone: () => void;
  onFailed: (error: unknown) => void;
}

function LicencesTable({
  licences,
  userId,
  verifier,
  onStart,
  onRevoked,
  onFailed,
}: {
  licences: UserCredentials['licences'];
  userId: string;
  verifier: (id: string) => string;
  onStart: () => void;
  onRevoked: () => void;
  onFailed: (error: unknown) => void;
}) {
  const { t } = useTranslation();
  const revoke = useRevokeLicence(userId);
  const [confirming, setConfirming] = useState<string | null>(null);

  return (
    <Table.ScrollContainer minWidth={860}>
      <Table striped verticalSpacing="xs" fz="sm" data-testid="licences-table">
        <Table.Caption>{t('admin.credentials.licences.caption')}</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t('admin.credentials.licences.columns.kind')}</Table.Th>
            <Table.Th scope="col">{t('admin.credentials.licences.columns.number')}</Table.Th>
            <Table.Th scope="col">{t('admin.credentials.columns.verifiedBy')}</Table.Th>
            <Table.Th scope="col">{t('admin.credentials.columns.verifiedAt')}</Table.Th>
            <Table.Th scope="col">{t('admin.credentials.columns.evidence')}</Table.Th>
            <Table.Th scope="col">{t('admin.credentials.licences.columns.state')}</Table.Th>
            <Table.Th scope="col">{t('admin.credentials.licences.columns.actions')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {licences.length === 0 ? <EmptyRow columns={7} text={t('admin.credentials.licences.none')} /> : null}
          {licences.map((licence, index) => {
            const revoked = licence.revoked_at !== null;
            return (
              <Table.Tr key={licence.id} data-testid="licence-row" data-revoked={revoked ? 'true' : 'false'}>
                <Table.Td>
                  {licenceLabel(t, licence.kind)}
                  {licence.kind !== 'jp-medical' ? (
                    <Text size="xs" c="dimmed">
                      {t('admin.credentials.licences.countryValue', { country: licence.country })}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>
                  <Text span ff="monospace" size="sm">
                    {licence.number}
                  </Text>
                </Table.Td>
                <Table.Td>{verifier(licence.verified_by)}</Table.Td>
                <Table.Td>
                  <DateTime value={licence.verified_at} />
                </Table.Td>
                <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{licence.evidence}</Table.Td>
                <Table.Td>
                  {revoked ? (
                    <Stack gap={2}>
                      <Badge color="gray" tt="none">
                        {t('admin.credentials.licences.revokedState')}
                      </Badge>
                      <Text size="xs" c="dimmed">
                        <DateTime value={licence.revoked_at} />
                      </Text>
                    </Stack>
                  ) : (
                    <Badge color="teal" variant="light" tt="none">
                      {t('admin.credentials.licences.activeState')}
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>
                  {revoked ? null : confirming === licence.id ? (
                    <Stack gap={6} role="group" aria-label={t('admin.credentials.licences.confirm')}>
                      <Text size="sm">{t('admin.credentials.licences.confirm')}</Text>
                      <Group gap="xs" wrap="nowrap">
                        <Button
                          size="compact-sm"
                          color="red"
                          autoFocus
                          loading={revoke.isPending}
                          onClick={() =>
                            revoke.mutate(licence.id, {
                              onSuccess: () => {
                                setConfirming(null);
                                onRevoked();
                              },
                              onError: onFailed,
                            })
                          }
                          data-testid="licence-revoke-confirm"
                        >
                          {t('admin.credentials.licences.confirmYes')}
                        </Button>
                        <Button size="compact-sm" variant="default" onClick={() => setConfirming(null)} data-testid="licence-revoke-cancel">
                          {t('common.cancel')}
                        </Button>
                      </Group>
                    </Stack>
                  ) : (
                    <Button
                      size="compact-sm"
                      variant="light"
                      color="red"
                      onClick={() => {
                        onStart();
                        setConfirming(licence.id);
                      }}
                      aria-label={t('admin.credentials.licences.revokeFor', { number: licence.number })}
                      data-testid={`licence-revoke-${index}`}
                    >
                      {t('admin.credentials.licences.revoke')}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function FormBox({ title, id, onSubmit, children }: { title: string; id: string; onSubmit: (event: FormEvent) => void; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md" bg="var(--mantine-color-gray-0)">
      <form onSubmit={onSubmit} noValidate aria-labelledby={id}>
        <Stack gap="sm">
          <Title order={3} fz="h5" id={id}>
            {title}
          </Title>
          {children}
        </Stack>
      </form>
    </Paper>
  );
}

function LicenceForm({ userId, onStart, onDone, onFailed }: { userId: string } & ChangeCallbacks) {
  const { t } = useTranslation();
  const record = useRecordLicence(userId);
  const [kind, setKind] = useState<LicenceKind>('jp-medical');
  const [number, setNumber] = useState('');
  const [country, setCountry] = useState('JP');
  const [evidence, setEvidence] = useState('');
  const [touched, setTouched] = useState(false);
  const numberRef = useRef<HTMLInputElement>(null);
  const foreign = kind === 'foreign-medical';

  const changeKind = (value: string) => {
    const next: LicenceKind = value === 'foreign-medical' ? 'foreign-medical' : 'jp-medical';
    setKind(next);
    // A Japanese licence is always JP; a foreign one never is.
    if (next === 'jp-medical') setCountry('JP');
    else if (country === 'JP') setCountry('');
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    onStart();
    if (!number.trim() || !country.trim() || !evidence.trim()) return;
    record.mutate(
      { kind, number: number.trim(), country: country.trim().toUpperCase(), evidence: evidence.trim() },
      {
        onSuccess: () => {
          setNumber('');
          setEvidence('');
          setTouched(false);
          onDone();
          numberRef.current?.focus();
        },
        onError: onFailed,
      },
    );
  };

  const required = (value: string) => (touched && !value.trim() ? t('forms.required') : null);

  return (
    <FormBox title={t('admin.credentials.licences.form.heading')} id="licence-form-heading" onSubmit={submit}>
      <Alert color="yellow" variant="light" data-testid="licence-foreign-note">
        {t('admin.credentials.licences.form.foreignNote')}
      </Alert>
      <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
        <NativeSelect
          label={t('admin.credentials.licences.form.kind')}
          value={kind}
          onChange={(e) => changeKind(e.currentTarget.value)}
          data={LICENCE_KINDS.map((value) => ({ value, label: t(`admin.credentials.licences.kinds.${value}`) }))}
          required
          data-testid="licence-kind"
        />
        <TextInput
          ref={numberRef}
          label={foreign ? t('admin.credentials.licences.form.numberForeign') : t('admin.credentials.licences.form.number')}
          description={foreign ? null : t('admin.credentials.licences.form.numberHelp')}
          value={number}
          onChange={(e) => setNumber(e.currentTarget.value)}
          inputMode={foreign ? 'text' : 'numeric'}
          maxLength={64}
          autoComplete="off"
          spellCheck={false}
          required
          error={required(number)}
          data-testid="licence-number"
        />
        <TextInput
          label={t('admin.credentials.licences.form.country')}
          description={foreign ? t('admin.credentials.licences.form.countryHelpForeign') : t('admin.credentials.licences.form.countryHelpJp')}
          value={country}
          onChange={(e) => setCountry(e.currentTarget.value.toUpperCase())}
          maxLength={2}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          required
          error={required(country)}
          data-testid="licence-country"
        />
      </SimpleGrid>
      <Textarea
        label={t('admin.credentials.form.evidence')}
        description={t('admin.credentials.licences.form.evidenceHelp')}
        value={evidence}
        onChange={(e) => setEvidence(e.currentTarget.value)}
        autosize
        minRows={2}
        maxLength={2000}
        required
        error={required(evidence)}
        data-testid="licence-evidence"
      />
      <Group>
        <Button type="submit" loading={record.isPending} data-testid="licence-submit">
          {t('admin.credentials.licences.form.submit')}
        </Button>
      </Group>
    </FormBox>
  );
}

function CertificationForm({ userId, onStart, onDone, onFailed }: { userId: string } & ChangeCallbacks) {
  const { t } = useTranslation();
  const record = useRecordCertification(userId);
  const [kind, setKind] = useState<CertificationKind>('diagnostic-radiology-specialist');
  const [number, setNumber] = useState('');
  const [issuedOn, setIssuedOn] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const [evidence, setEvidence] = useState('');
  const [touched, setTouched] = useState(false);

  const order = Boolean(issuedOn && expiresOn && expiresOn < issuedOn);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    onStart();
    if (!number.trim() || !issuedOn || !expiresOn || order || !evidence.trim()) return;
    record.mutate(
      { kind, number: number.trim(), issuedOn, expiresOn, evidence: evidence.trim() },
      {
        onSuccess: () => {
          setNumber('');
          setIssuedOn('');
          setExpiresOn('');
          setEvidence('');
          setTouched(false);
          onDone();
        },
        onError: onFailed,
      },
    );
  };

  const required = (value: string) => (touched && !value.trim() ? t('forms.required') : null);

  return (
    <FormBox title={t('admin.credentials.certifications.form.heading')} id="cert-form-heading" onSubmit={submit}>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
        <NativeSelect
          label={t('admin.credentials.certifications.form.kind')}
          value={kind}
          onChange={(e) => {
            const value = e.currentTarget.value;
            if (isCertificationKind(value)) setKind(value);
          }}
          data={CERTIFICATION_KINDS.map((value) => ({ value, label: t(`admin.credentials.certifications.kinds.${value}`) }))}
          required
          data-testid="cert-kind"
        />
        <TextInput
          label={t('admin.credentials.certifications.form.number')}
          value={number}
          onChange={(e) => setNumber(e.currentTarget.value)}
          maxLength={64}
          autoComplete="off"
          spellCheck={false}
          required
          error={required(number)}
          data-testid="cert-number"
        />
        <TextInput
          type="date"
          label={t('admin.credentials.certifications.form.issuedOn')}
          value={issuedOn}
          onChange={(e) => setIssuedOn(e.currentTarget.value)}
          required
          error={required(issuedOn)}
          data-testid="cert-issued"
        />
        <TextInput
          type="date"
          label={t('admin.credentials.certifications.form.expiresOn')}
          description={t('admin.credentials.certifications.form.expiresHelp')}
          value={expiresOn}
          onChange={(e) => setExpiresOn(e.currentTarget.value)}
          required
          error={required(expiresOn) ?? (touched && order ? t('admin.credentials.certifications.form.order') : null)}
          data-testid="cert-expires"
        />
      </SimpleGrid>
      <Textarea
        label={t('admin.credentials.form.evidence')}
        description={t('admin.credentials.certifications.form.evidenceHelp')}
        value={evidence}
        onChange={(e) => setEvidence(e.currentTarget.value)}
        autosize
        minRows={2}
        maxLength={2000}
        required
        error={required(evidence)}
        data-testid="cert-evidence"
      />
      <Group>
        <Button type="submit" loading={record.isPending} data-testid="cert-submit">
          {t('admin.credentials.certifications.form.submit')}
        </Button>
      </Group>
    </FormBox>
  );
}

function TrainingForm({ userId, onStart, onDone, onFailed }: { userId: string } & ChangeCallbacks) {
  const { t } = useTranslation();
  const record = useRecordTraining(userId);
  const [course, setCourse] = useState('');
  const [dueOn, setDueOn] = useState('');
  const [completedOn, setCompletedOn] = useState('');
  const [touched, setTouched] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    onStart();
    if (!course.trim() || !dueOn) return;
    record.mutate(
      { course: course.trim(), dueOn, ...(completedOn ? { completedOn } : {}) },
      {
        onSuccess: () => {
          setCourse('');
          setDueOn('');
          setCompletedOn('');
          setTouched(false);
          onDone();
        },
        onError: onFailed,
      },
    );
  };

  return (
    <FormBox title={t('admin.credentials.trainings.form.heading')} id="training-form-heading" onSubmit={submit}>
      <TextInput
        label={t('admin.credentials.trainings.form.course')}
        description={t('admin.credentials.trainings.form.courseHelp')}
        value={course}
        onChange={(e) => setCourse(e.currentTarget.value)}
        maxLength={200}
        autoComplete="off"
        required
        error={touched && !course.trim() ? t('forms.required') : null}
        data-testid="training-course"
      />
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
        <TextInput
          type="date"
          label={t('admin.credentials.trainings.form.dueOn')}
          value={dueOn}
          onChange={(e) => setDueOn(e.currentTarget.value)}
          required
          error={touched && !dueOn ? t('forms.required') : null}
          data-testid="training-due"
        />
        <TextInput
          type="date"
          label={t('admin.credentials.trainings.form.completedOn')}
          description={t('admin.credentials.trainings.form.completedHelp')}
          value={completedOn}
          onChange={(e) => setCompletedOn(e.currentTarget.value)}
          data-testid="training-completed"
        />
      </SimpleGrid>
      <Group>
        <Button type="submit" loading={record.isPending} data-testid="training-submit">
          {t('admin.credentials.trainings.form.submit')}
        </Button>
      </Group>
    </FormBox>
  );
}

function isModality(value: string): value is Modality {
  return (MODALITIES as readonly string[]).includes(value);
}

function QualificationBox({
  userId,
  facilities,
  facilitiesError,
  otherError,
  onStart,
}: {
  userId: string;
  facilities: FacilitySummary[];
  facilitiesError: unknown;
  /** Another section shows an error: this box keeps its own to itself until checked again. */
  otherError: boolean;
  onStart: () => void;
}) {
  const { t } = useTranslation();
  const [modality, setModality] = useState<Modality>('CT');
  const [facilityId, setFacilityId] = useState('');
  const [touched, setTouched] = useState(false);
  const [asked, setAsked] = useState<QualificationQuery | null>(null);
  const check = useQualification(userId, asked);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    onStart();
    if (!facilityId) return;
    const next = { modality, facilityId };
    if (asked && asked.modality === next.modality && asked.facilityId === next.facilityId) void check.refetch();
    else setAsked(next);
  };

  const result = asked ? check.data : undefined;
  const facilityName = asked ? (facilities.find((f) => f.id === asked.facilityId)?.name ?? asked.facilityId) : '';

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="qualification-heading">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Title order={2} fz="h4" id="qualification-heading">
            {t('admin.credentials.qualification.heading')}
          </Title>
          <Text size="sm" c="dimmed">
            {t('admin.credentials.qualification.help')}
          </Text>
          {facilitiesError ? <ErrorAlert error={facilitiesError} title={t('admin.credentials.qualification.facilitiesFailed')} testId="qual-facilities-error" /> : null}
          <Group align="flex-start" gap="sm" wrap="wrap">
            <NativeSelect
              label={t('admin.credentials.qualification.modality')}
              value={modality}
              onChange={(e) => {
                const value = e.currentTarget.value;
                if (isModality(value)) setModality(value);
              }}
              data={MODALITIES.map((value) => ({ value, label: t(`admin.credentials.modalities.${value}`) }))}
              style={{ flex: '1 1 12rem' }}
              data-testid="qual-modality"
            />
            <NativeSelect
              label={t('admin.credentials.qualification.facility')}
              value={facilityId}
              onChange={(e) => setFacilityId(e.currentTarget.value)}
              data={[{ value: '', label: t('admin.credentials.qualification.chooseFacility') }, ...facilities.map((f) => ({ value: f.id, label: f.name }))]}
              required
              error={touched && !facilityId ? t('forms.required') : null}
              style={{ flex: '1 1 14rem' }}
              data-testid="qual-facility"
            />
          </Group>
          <Group>
            <Button type="submit" variant="light" loading={check.isFetching} data-testid="qual-check">
              {t('admin.credentials.qualification.check')}
            </Button>
          </Group>
          {check.isError && !otherError ? (
            <ErrorAlert error={check.error} title={t('admin.credentials.qualification.failed')} testId="credentials-error" />
          ) : null}
          {result && asked ? (
            <Alert
              color={result.allowed ? 'teal' : 'red'}
              variant="light"
              role="status"
              data-testid="qual-result"
              data-allowed={result.allowed ? 'true' : 'false'}
            >
              <Group gap="xs" wrap="wrap">
                <Badge color={result.allowed ? 'teal' : 'red'} size="lg" tt="none" data-testid="qual-verdict">
                  {result.allowed ? t('admin.credentials.qualification.allowed') : t('admin.credentials.qualification.denied')}
                </Badge>
                <Text size="sm" fw={600}>
                  {t(result.allowed ? 'admin.credentials.qualification.allowedText' : 'admin.credentials.qualification.deniedText', {
                    modality: asked.modality,
                    facility: facilityName,
                  })}
                </Text>
              </Group>
              {result.problems.length > 0 ? (
                <Stack gap={4} mt="xs">
                  <Text size="sm" fw={600}>
                    {t('admin.credentials.qualification.problems')}
                  </Text>
                  <List size="sm" data-testid="qual-problems">
                    {result.problems.map((problem) => (
                      <List.Item key={problem} lang="en">
                        {problem}
                      </List.Item>
                    ))}
                  </List>
                </Stack>
              ) : null}
              {result.warnings.length > 0 ? (
                <Stack gap={4} mt="xs">
                  <Text size="sm" fw={600}>
                    {t('admin.credentials.qualification.warnings')}
                  </Text>
                  <List size="sm" data-testid="qual-warnings">
                    {result.warnings.map((warning) => (
                      <List.Item key={warning} lang="en">
                        {warning}
                      </List.Item>
                    ))}
                  </List>
                </Stack>
              ) : null}
              {result.problems.length + result.warnings.length > 0 ? (
                <Text size="xs" c="dimmed" mt="xs">
                  {t('admin.credentials.qualification.serverNote')}
                </Text>
              ) : null}
            </Alert>
          ) : null}
        </Stack>
      </form>
    </Paper>
  );
}
