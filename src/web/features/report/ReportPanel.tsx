/**
 * The report editor beside the viewer (W7): template, the five sections, macros, the
 * prior reports, key images and AI results (labelled as AI output), continuous saving,
 * finalising with the second factor (A4), and corrections or addenda of a final report (A2).
 *
 * Japanese input: while an IME composition is open nothing touches the text (no autosave,
 * no macro expansion, no shortcut); saving waits until the composition ends.
 */
import { Accordion, Alert, Anchor, Badge, Button, Group, Modal, PinInput, Select, Stack, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { ASSESSMENTS, type ReaderLocationView, type ReportSectionsView, type ReportView, type StudyReportingView } from '../../../shared/reports.ts';
import { ApiError } from '../../api/client.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { hasAnyRole } from '../../app/access.ts';
import { useSessionUser } from '../auth/session.ts';
import { useKeyImages } from '../viewer/serverApi.ts';
import { StudyFindings } from '../findings/StudyFindings.tsx';
import { pdfUrl, saveDraft, useAmend, useFinalise, usePhysicians, useStartReport, useStudyReport, useTemplates } from './api.ts';
import { useReportTranslation, type ReportT } from './i18n.ts';
import './report.css';

const SECTIONS = ['clinicalInformation', 'technique', 'comparison', 'findings', 'impression'] as const;
const AUTOSAVE_MS = 1200;
const LOCATIONS: ReaderLocationView[] = ['on-site', 'home', 'other'];

type SaveState = 'saved' | 'dirty' | 'saving' | 'conflict' | 'failed';

/** The report panel of a study. */
export function ReportPanel({ studyUid, modality }: { studyUid: string; modality: string }) {
  const { t } = useReportTranslation();
  const view = useStudyReport(studyUid);
  if (view.isPending) return <Text size="sm">{t('common.loading')}</Text>;
  if (view.error) return <ErrorAlert error={view.error} title={t('report.loadFailed')} />;
  const data = view.data;
  return (
    <Stack gap="xs" className="enkaku-report" data-testid="report-panel">
      <Title order={2} size="h4">
        {t('report.title')}
      </Title>
      {data.aiFindings.length ? <AiFindings data={data} t={t} /> : null}
      <KeyImages studyUid={studyUid} t={t} />
      {data.report ? (
        data.report.status === 'draft' ? (
          <DraftEditor key={data.report.id} studyUid={studyUid} report={data.report} signing={data.signing} />
        ) : (
          <FinalReport studyUid={studyUid} report={data.report} signing={data.signing} />
        )
      ) : (
        <StartReport studyUid={studyUid} modality={modality} />
      )}
      {/* Critical / urgent / incidental findings: raise one, and the study's notices (features/findings). */}
      <StudyFindings studyUid={studyUid} reportId={data.report?.id ?? null} />
      {data.others.map((r) => (
        <OtherReport key={r.id} report={r} t={t} />
      ))}
      <PriorReports data={data} t={t} />
    </Stack>
  );
}

function AiFindings({ data, t }: { data: StudyReportingView; t: ReportT }) {
  return (
    <Alert color="grape" title={t('report.ai.title')} data-testid="ai-findings">
      <Text size="xs" mb={4}>
        {t('report.ai.note')}
      </Text>
      {data.aiFindings.map((a) => (
        <Text size="sm" key={a.id}>
          <Badge size="xs" color="grape" mr={4}>
            AI
          </Badge>
          {a.source}: {a.text}
        </Text>
      ))}
    </Alert>
  );
}

/** The key images marked in the viewer: they go into the report (W7). */
function KeyImages({ studyUid, t }: { studyUid: string; t: ReportT }) {
  const keyImages = useKeyImages(studyUid);
  const images = keyImages.data?.images ?? [];
  if (!images.length) return null;
  return (
    <Text size="xs" data-testid="report-key-images" data-count={images.length}>
      {t('report.keyImages', { count: images.length })}
      {images.filter((k) => k.note).map((k) => ` / ${k.note}`).join('')}
    </Text>
  );
}

function StartReport({ studyUid, modality }: { studyUid: string; modality: string }) {
  const { t } = useReportTranslation();
  const user = useSessionUser();
  const templates = useTemplates();
  const start = useStartReport(studyUid);
  // A transcriptionist writes for a named physician (A3); a physician writes their own.
  const proxy = !hasAnyRole(user, 'radiologist', 'management-physician');
  const physicians = usePhysicians(studyUid, proxy);
  const [physicianId, setPhysicianId] = useState<string | null>(null);
  const fitting = (templates.data ?? []).filter((x) => !x.modality || x.modality === modality);
  const [templateId, setTemplateId] = useState<string | null>(null);
  const chosen = templateId ?? fitting.find((x) => x.modality === modality)?.id ?? fitting[0]?.id ?? null;
  return (
    <Stack gap="xs">
      <Select
        label={t('report.template')}
        data={fitting.map((x) => ({ value: x.id, label: `${x.name}${x.modality ? ` (${x.modality})` : ''}` }))}
        value={chosen}
        onChange={setTemplateId}
        data-testid="report-template"
      />
      {proxy ? (
        <Select
          label={t('report.forPhysician')}
          data={(physicians.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
          value={physicianId}
          onChange={setPhysicianId}
          data-testid="report-physician"
        />
      ) : null}
      <Button
        onClick={() => start.mutate({ templateId: chosen, ...(proxy && physicianId ? { physicianId } : {}) })}
        disabled={proxy && !physicianId}
        loading={start.isPending}
        data-testid="report-start"
      >
        {t('report.start')}
      </Button>
      {start.error ? <ErrorAlert error={start.error} title={t('report.startFailed')} /> : null}
    </Stack>
  );
}

/** A textarea whose keys and autosave respect IME composition. */
function SectionField({
  label,
  value,
  onChange,
  onComposing,
  macros,
  testId,
  readOnly,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  onComposing: (composing: boolean) => void;
  macros: Array<{ key: string; text: string }>;
  testId: string;
  readOnly?: boolean;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // A key pressed during composition belongs to the IME (keyCode 229 in older engines).
    if (e.nativeEvent.isComposing || e.keyCode === 229) return;
    e.stopPropagation();
    if (e.key !== 'Tab' || e.shiftKey) return;
    const el = e.currentTarget;
    const before = el.value.slice(0, el.selectionStart);
    const m = /\.([A-Za-z0-9]+)$/.exec(before);
    const macro = m ? macros.find((x) => x.key === m[1]) : undefined;
    if (!m || !macro) return;
    e.preventDefault();
    const next = before.slice(0, before.length - m[0].length) + macro.text + el.value.slice(el.selectionEnd);
    const caret = before.length - m[0].length + macro.text.length;
    onChange(next);
    requestAnimationFrame(() => ref.current?.setSelectionRange(caret, caret));
  };
  return (
    <Textarea
      ref={ref}
      label={label}
      value={value}
      autosize
      minRows={2}
      maxRows={14}
      readOnly={readOnly}
      onChange={(e) => onChange(e.currentTarget.value)}
      onCompositionStart={() => onComposing(true)}
      onCompositionEnd={(e) => {
        onComposing(false);
        onChange(e.currentTarget.value);
      }}
      onKeyDown={onKeyDown}
      data-testid={testId}
    />
  );
}

function DraftEditor({ studyUid, report, signing }: { studyUid: string; report: ReportView; signing: StudyReportingView['signing'] }) {
  const { t } = useReportTranslation();
  const templates = useTemplates();
  const macros = templates.data?.find((x) => x.id === report.templateId)?.macros ?? templates.data?.find((x) => !x.modality)?.macros ?? [];
  const [sections, setSections] = useState<ReportSectionsView>(report.sections);
  const [assessment, setAssessment] = useState(report.assessment);
  const [location, setLocation] = useState<ReaderLocationView | null>(report.location);
  const [state, setState] = useState<SaveState>('saved');
  const revision = useRef(report.revision);
  const composing = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef({ sections, assessment, location });
  latest.current = { sections, assessment, location };
  const saving = useRef<Promise<void> | null>(null);
  const [signOpen, setSignOpen] = useState(false);

  const flush = useCallback(async (): Promise<void> => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    if (saving.current) await saving.current;
    const body = { revision: revision.current, ...latest.current };
    setState('saving');
    const run = saveDraft(report.id, body).then(
      (saved) => {
        revision.current = saved.revision;
        const unchanged = JSON.stringify(latest.current) === JSON.stringify({ sections: body.sections, assessment: body.assessment, location: body.location });
        setState((s) => (s === 'saving' ? (unchanged ? 'saved' : 'dirty') : s));
      },
      (err: unknown) => setState(err instanceof ApiError && err.status === 409 ? 'conflict' : 'failed'),
    );
    saving.current = run.finally(() => {
      saving.current = null;
    });
    await saving.current;
  }, [report.id]);

  const schedule = useCallback(() => {
    setState('dirty');
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      if (composing.current) return schedule();
      void flush();
    }, AUTOSAVE_MS);
  }, [flush]);

  useEffect(
    () => () => {
      if (timer.current) {
        clearTimeout(timer.current);
        void saveDraft(report.id, { revision: revision.current, ...latest.current }).catch(() => undefined);
      }
    },
    [report.id],
  );

  const set = (k: (typeof SECTIONS)[number]) => (v: string) => {
    setSections((s) => ({ ...s, [k]: v }));
    if (!composing.current) schedule();
  };
  const onComposing = (c: boolean) => {
    composing.current = c;
    if (!c) schedule();
  };

  return (
    <Stack gap={6}>
      <Group gap="xs" justify="space-between">
        <Text size="xs">
          {t('report.physician')}: {report.physician.name}
        </Text>
        <Badge color={state === 'saved' ? 'teal' : state === 'conflict' || state === 'failed' ? 'red' : 'yellow'} variant="light" data-testid="report-save-state" data-state={state}>
          {t(`report.save.${state}`)}
        </Badge>
      </Group>
      {state === 'conflict' ? <Alert color="red">{t('report.conflict')}</Alert> : null}
      {SECTIONS.map((k) => (
        <SectionField key={k} label={t(`report.sections.${k}`)} value={sections[k]} onChange={set(k)} onComposing={onComposing} macros={macros} testId={`report-${k}`} />
      ))}
      {macros.length ? (
        <Text size="xs" c="dimmed" data-testid="report-macros">
          {t('report.macrosHint')} {macros.map((m) => `.${m.key}`).join(' ')}
        </Text>
      ) : null}
      <Group grow>
        <Select
          label={t('report.location')}
          data={LOCATIONS.map((l) => ({ value: l, label: t(`report.locations.${l}`) }))}
          value={location}
          onChange={(v) => {
            setLocation(v as ReaderLocationView | null);
            schedule();
          }}
          data-testid="report-location"
        />
        {report.readingRole !== 'single' ? (
          <Select
            label={t('report.assessment')}
            data={ASSESSMENTS.map((a) => ({ value: a, label: t(`report.assessments.${a}`) }))}
            value={assessment}
            onChange={(v) => {
              setAssessment(v as typeof assessment);
              schedule();
            }}
          />
        ) : null}
      </Group>
      {!signing.allowed ? (
        <Alert color="gray" p="xs" data-testid="report-sign-problems">
          {signing.problems.join(' / ')}
        </Alert>
      ) : null}
      <Button
        color="teal"
        disabled={!signing.allowed || !location}
        onClick={async () => {
          await flush();
          setSignOpen(true);
        }}
        data-testid="report-finalise"
      >
        {t('report.finalise')}
      </Button>
      <SignDialog
        opened={signOpen}
        onClose={() => setSignOpen(false)}
        studyUid={studyUid}
        title={t('report.finaliseTitle')}
        submit={(totp, finalise) => finalise.mutateAsync({ reportId: report.id, body: { totp, revision: revision.current, location: location ?? 'on-site' } })}
      />
    </Stack>
  );
}

/** The TOTP dialog that signs (A4). */
function SignDialog({
  opened,
  onClose,
  studyUid,
  title,
  submit,
}: {
  opened: boolean;
  onClose: () => void;
  studyUid: string;
  title: string;
  submit: (totp: string, finalise: ReturnType<typeof useFinalise>) => Promise<unknown>;
}) {
  const { t } = useReportTranslation();
  const finalise = useFinalise(studyUid);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const go = async (value: string) => {
    setBusy(true);
    setError(null);
    try {
      await submit(value, finalise);
      setCode('');
      onClose();
    } catch (err) {
      setError(err);
      setCode('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={opened} onClose={onClose} title={title} centered>
      <Stack>
        <Text size="sm">{t('report.totpPrompt')}</Text>
        <PinInput
          length={6}
          type="number"
          oneTimeCode
          value={code}
          onChange={setCode}
          onComplete={(v) => void go(v)}
          disabled={busy}
          data-testid="report-totp"
          aria-label={t('report.totp')}
        />
        {error ? <ErrorAlert error={error} title={t('report.signFailed')} /> : null}
      </Stack>
    </Modal>
  );
}

function Sections({ sections, t }: { sections: ReportSectionsView; t: ReportT }) {
  return (
    <>
      {SECTIONS.filter((k) => sections[k].trim()).map((k) => (
        <div key={k}>
          <Text size="xs" fw={700}>
            {t(`report.sections.${k}`)}
          </Text>
          <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
            {sections[k]}
          </Text>
        </div>
      ))}
    </>
  );
}

function Versions({ report, t }: { report: ReportView; t: ReportT }) {
  return (
    <Stack gap={4} data-testid="report-versions">
      {[...report.versions].reverse().map((v) => (
        <Group key={v.id} gap="xs" data-testid="report-version" data-kind={v.kind}>
          <Badge variant="light">{t(`report.kinds.${v.kind}`)} v{v.version}</Badge>
          <Text size="xs">
            {new Date(v.finalisedAt).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo' })} {v.signedBy.name}
          </Text>
          {v.reason ? <Text size="xs">({v.reason})</Text> : null}
          <Text size="xs" c="dimmed">
            {t('report.timestamp')}: {v.timestamp.tsa}
          </Text>
          <Anchor size="xs" href={pdfUrl(v.id)} target="_blank" rel="noopener">
            PDF
          </Anchor>
          <Badge size="xs" color={v.readConfirmation ? 'teal' : 'orange'} data-testid="report-confirmation">
            {v.readConfirmation ? t('report.confirmed') : t('report.unconfirmed')}
          </Badge>
        </Group>
      ))}
    </Stack>
  );
}

function FinalReport({ studyUid, report, signing }: { studyUid: string; report: ReportView; signing: StudyReportingView['signing'] }) {
  const { t } = useReportTranslation();
  const [amending, setAmending] = useState<'correction' | 'addendum' | null>(null);
  return (
    <Stack gap={6} data-testid="report-final">
      <Badge color="teal">{t('report.final')}</Badge>
      <Sections sections={report.sections} t={t} />
      <Versions report={report} t={t} />
      {signing.allowed && !amending ? (
        <Group>
          <Button size="xs" variant="light" onClick={() => setAmending('addendum')} data-testid="report-addendum">
            {t('report.kinds.addendum')}
          </Button>
          <Button size="xs" variant="light" color="orange" onClick={() => setAmending('correction')} data-testid="report-correction">
            {t('report.kinds.correction')}
          </Button>
        </Group>
      ) : null}
      {amending ? <AmendForm studyUid={studyUid} report={report} kind={amending} onDone={() => setAmending(null)} /> : null}
    </Stack>
  );
}

function AmendForm({ studyUid, report, kind, onDone }: { studyUid: string; report: ReportView; kind: 'correction' | 'addendum'; onDone: () => void }) {
  const { t } = useReportTranslation();
  const amend = useAmend(studyUid);
  const empty: ReportSectionsView = { clinicalInformation: '', technique: '', comparison: '', findings: '', impression: '' };
  const [sections, setSections] = useState<ReportSectionsView>(kind === 'correction' ? report.sections : empty);
  const [reason, setReason] = useState('');
  const [open, setOpen] = useState(false);
  return (
    <Stack gap={6} data-testid="report-amend">
      <TextInput label={t('report.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required data-testid="report-reason" />
      {SECTIONS.map((k) => (
        <SectionField key={k} label={t(`report.sections.${k}`)} value={sections[k]} onChange={(v) => setSections((s) => ({ ...s, [k]: v }))} onComposing={() => undefined} macros={[]} testId={`amend-${k}`} />
      ))}
      <Group>
        <Button size="xs" disabled={!reason.trim()} onClick={() => setOpen(true)} data-testid="report-amend-sign">
          {t('report.signAmendment')}
        </Button>
        <Button size="xs" variant="subtle" onClick={onDone}>
          {t('report.cancel')}
        </Button>
      </Group>
      <SignDialog
        opened={open}
        onClose={() => setOpen(false)}
        studyUid={studyUid}
        title={t(`report.kinds.${kind}`)}
        submit={async (totp) => {
          await amend.mutateAsync({ reportId: report.id, body: { kind, reason, sections, totp, location: report.location ?? 'on-site' } });
          onDone();
        }}
      />
    </Stack>
  );
}

function OtherReport({ report, t }: { report: ReportView; t: ReportT }) {
  return (
    <Accordion variant="contained">
      <Accordion.Item value={report.id}>
        <Accordion.Control>
          {t(`report.roles.${report.readingRole}`)}: {report.physician.name} ({report.status === 'final' ? t('report.final') : t('report.draft')})
        </Accordion.Control>
        <Accordion.Panel>
          <Sections sections={report.sections} t={t} />
        </Accordion.Panel>
      </Accordion.Item>
    </Accordion>
  );
}

function PriorReports({ data, t }: { data: StudyReportingView; t: ReportT }) {
  if (!data.priors.length) return null;
  return (
    <div data-testid="prior-reports">
      <Text size="sm" fw={700} mt="xs">
        {t('report.priors')}
      </Text>
      <Accordion variant="contained" defaultValue={data.priors[0]?.version.id}>
        {data.priors.map((p) => (
          <Accordion.Item key={p.version.id} value={p.version.id}>
            <Accordion.Control>
              {p.studyDate.replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3')} {p.modalities.join('/')} {p.description}
            </Accordion.Control>
            <Accordion.Panel>
              <Sections sections={p.version.sections} t={t} />
            </Accordion.Panel>
          </Accordion.Item>
        ))}
      </Accordion>
    </div>
  );
}
