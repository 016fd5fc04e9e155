/**
 * Registering or changing a reading terminal (Q1): the display model and serial, the JESRA
 * X-0093 management grade, Lmax, Lmin and the ambient luminance Lamb from the acceptance test
 * and its date, the facility it belongs to (or the reading provider), and how images are
 * calibrated for it (Q2). The server validates everything again (quality/schemas.ts).
 */
import { Button, Group, Modal, NativeSelect, NumberInput, SimpleGrid, Stack, Switch, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { DISPLAY_PROFILES, JESRA_GRADES, type DisplayProfileKind, type JesraGradeName, type ReadingTerminal, type TerminalInput } from '../../../shared/api.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { useRegisterTerminal, useUpdateTerminal } from './api.ts';
import { useQcTranslation } from './i18n.ts';

/** A facility a terminal may belong to; `''` stands for the reading provider. */
export interface OwnerOption {
  value: string;
  label: string;
}

type Num = number | string;

interface Draft {
  name: string;
  location: string;
  displayModel: string;
  displaySerial: string;
  grade: JesraGradeName;
  lmax: Num;
  lmin: Num;
  lamb: Num;
  acceptanceTestedOn: string;
  facilityId: string;
  profile: DisplayProfileKind;
  gamma: Num;
  requireDailyCheck: boolean;
  constancyIntervalMonths: Num;
}

/** Today in Asia/Tokyo as `YYYY-MM-DD` (the server refuses acceptance dates after it). */
export function tokyoToday(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function draftOf(t: ReadingTerminal | null): Draft {
  if (!t) {
    return {
      name: '',
      location: '',
      displayModel: '',
      displaySerial: '',
      grade: '1A',
      lmax: '',
      lmin: '',
      lamb: '',
      acceptanceTestedOn: '',
      facilityId: '',
      profile: 'gsdf',
      gamma: 2.2,
      requireDailyCheck: false,
      constancyIntervalMonths: 6,
    };
  }
  return {
    name: t.name,
    location: t.location,
    displayModel: t.displayModel,
    displaySerial: t.displaySerial,
    grade: t.grade,
    lmax: t.lmax,
    lmin: t.lmin,
    lamb: t.lamb,
    acceptanceTestedOn: t.acceptanceTestedOn,
    facilityId: t.facilityId ?? '',
    profile: t.profile.kind,
    gamma: t.native.kind === 'gamma' ? t.native.gamma : '',
    requireDailyCheck: t.requireDailyCheck,
    constancyIntervalMonths: t.constancyIntervalMonths,
  };
}

const numberOf = (v: Num): number | undefined => (v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));

/** The registration or edit dialog; `terminal` null registers a new one. */
export function TerminalFormDialog({
  opened,
  terminal,
  owners,
  onClose,
}: {
  opened: boolean;
  terminal: ReadingTerminal | null;
  owners: OwnerOption[];
  onClose: (saved: ReadingTerminal | null) => void;
}) {
  const { t } = useQcTranslation();
  return (
    <Modal
      opened={opened}
      onClose={() => onClose(null)}
      title={terminal ? t('qc.form.editTitle', { name: terminal.name }) : t('qc.form.registerTitle')}
      size="xl"
      closeButtonProps={{ 'aria-label': t('common.close') }}
    >
      {/* Mounted only while open, so every opening starts from the terminal's current values. */}
      {opened ? <TerminalForm terminal={terminal} owners={owners} onDone={onClose} /> : null}
    </Modal>
  );
}

function TerminalForm({ terminal, owners, onDone }: { terminal: ReadingTerminal | null; owners: OwnerOption[]; onDone: (saved: ReadingTerminal | null) => void }) {
  const { t } = useQcTranslation();
  const register = useRegisterTerminal();
  const update = useUpdateTerminal();
  const mutation = terminal ? update : register;
  const [d, setD] = useState<Draft>(() => draftOf(terminal));
  const [touched, setTouched] = useState(false);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((s) => ({ ...s, [key]: value }));
  const today = tokyoToday();

  const lmax = numberOf(d.lmax);
  const lmin = numberOf(d.lmin);
  const lamb = numberOf(d.lamb);
  const gamma = numberOf(d.gamma);
  const months = numberOf(d.constancyIntervalMonths);
  const problems = {
    name: !d.name.trim() ? t('forms.required') : null,
    displayModel: !d.displayModel.trim() ? t('forms.required') : null,
    displaySerial: !d.displaySerial.trim() ? t('forms.required') : null,
    lmax: lmax === undefined || lmax <= 0 ? t('qc.form.positive') : lmin !== undefined && lmax <= lmin ? t('qc.form.lmaxAboveLmin') : null,
    lmin: lmin === undefined || lmin <= 0 ? t('qc.form.positive') : null,
    lamb: lamb === undefined || lamb < 0 ? t('qc.form.zeroOrMore') : null,
    acceptanceTestedOn: !/^\d{4}-\d{2}-\d{2}$/.test(d.acceptanceTestedOn) ? t('forms.required') : d.acceptanceTestedOn > today ? t('qc.form.future') : null,
    gamma: gamma === undefined || gamma < 1 || gamma > 4 ? t('qc.form.gammaRange') : null,
    months: months === undefined || !Number.isInteger(months) || months < 1 || months > 12 ? t('qc.form.monthsRange') : null,
  };
  const shown = (p: string | null) => (touched ? p : null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.values(problems).some((p) => p !== null)) return;
    const input: TerminalInput = {
      name: d.name.trim(),
      location: d.location.trim(),
      displayModel: d.displayModel.trim(),
      displaySerial: d.displaySerial.trim(),
      grade: d.grade,
      lmax: lmax!,
      lmin: lmin!,
      lamb: lamb!,
      acceptanceTestedOn: d.acceptanceTestedOn,
      facilityId: d.facilityId || null,
      profile: d.profile,
      requireDailyCheck: d.requireDailyCheck,
      constancyIntervalMonths: months!,
    };
    // A measured native curve is kept as it is; the gamma field edits only a power-law model.
    if (!terminal || terminal.native.kind === 'gamma') input.native = { kind: 'gamma', gamma: gamma! };
    const done = { onSuccess: (saved: ReadingTerminal) => onDone(saved) };
    if (terminal) update.mutate({ id: terminal.id, input }, done);
    else register.mutate(input, done);
  };

  const measured = terminal?.native.kind === 'measured';

  return (
    <form onSubmit={submit} noValidate data-testid="qc-terminal-form">
      <Stack gap="md">
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
          <TextInput
            label={t('qc.form.name')}
            description={t('qc.form.nameHelp')}
            value={d.name}
            onChange={(e) => set('name', e.currentTarget.value)}
            required
            maxLength={100}
            data-autofocus
            error={shown(problems.name)}
            data-testid="qc-form-name"
          />
          <TextInput
            label={t('qc.form.location')}
            description={t('qc.form.locationHelp')}
            value={d.location}
            onChange={(e) => set('location', e.currentTarget.value)}
            maxLength={200}
            data-testid="qc-form-location"
          />
          <TextInput
            label={t('qc.form.displayModel')}
            value={d.displayModel}
            onChange={(e) => set('displayModel', e.currentTarget.value)}
            required
            maxLength={100}
            error={shown(problems.displayModel)}
            data-testid="qc-form-model"
          />
          <TextInput
            label={t('qc.form.displaySerial')}
            value={d.displaySerial}
            onChange={(e) => set('displaySerial', e.currentTarget.value)}
            required
            maxLength={100}
            error={shown(problems.displaySerial)}
            data-testid="qc-form-serial"
          />
        </SimpleGrid>
        <NativeSelect
          label={t('qc.form.grade')}
          value={d.grade}
          onChange={(e) => set('grade', e.currentTarget.value as JesraGradeName)}
          data={JESRA_GRADES.map((g) => ({ value: g, label: t(`qc.grades.${g}`) }))}
          data-testid="qc-form-grade"
        />
        <SimpleGrid cols={{ base: 1, sm: 4 }} spacing="sm">
          <NumberInput
            label={t('qc.form.lmax')}
            value={d.lmax}
            onChange={(v) => set('lmax', v)}
            min={0}
            allowNegative={false}
            required
            error={shown(problems.lmax)}
            data-testid="qc-form-lmax"
          />
          <NumberInput
            label={t('qc.form.lmin')}
            value={d.lmin}
            onChange={(v) => set('lmin', v)}
            min={0}
            allowNegative={false}
            required
            error={shown(problems.lmin)}
            data-testid="qc-form-lmin"
          />
          <NumberInput
            label={t('qc.form.lamb')}
            value={d.lamb}
            onChange={(v) => set('lamb', v)}
            min={0}
            allowNegative={false}
            required
            error={shown(problems.lamb)}
            data-testid="qc-form-lamb"
          />
          <TextInput
            type="date"
            label={t('qc.form.acceptanceTestedOn')}
            value={d.acceptanceTestedOn}
            max={today}
            onChange={(e) => set('acceptanceTestedOn', e.currentTarget.value)}
            required
            error={shown(problems.acceptanceTestedOn)}
            data-testid="qc-form-accepted"
          />
        </SimpleGrid>
        <Text size="xs" c="dimmed" mt={-8}>
          {t('qc.form.luminanceHelp')}
        </Text>
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
          <NativeSelect
            label={t('qc.form.owner')}
            value={d.facilityId}
            onChange={(e) => set('facilityId', e.currentTarget.value)}
            data={owners}
            data-testid="qc-form-owner"
          />
          <NativeSelect
            label={t('qc.form.profile')}
            value={d.profile}
            onChange={(e) => set('profile', e.currentTarget.value as DisplayProfileKind)}
            data={DISPLAY_PROFILES.map((p) => ({ value: p, label: t(`qc.profiles.${p}`) }))}
            data-testid="qc-form-profile"
          />
          {measured ? (
            <TextInput label={t('qc.form.nativeGamma')} value={t('qc.form.nativeMeasured')} readOnly data-testid="qc-form-gamma" />
          ) : (
            <NumberInput
              label={t('qc.form.nativeGamma')}
              description={t('qc.form.nativeGammaHelp')}
              value={d.gamma}
              onChange={(v) => set('gamma', v)}
              min={1}
              max={4}
              step={0.1}
              decimalScale={2}
              error={shown(problems.gamma)}
              data-testid="qc-form-gamma"
            />
          )}
          <NumberInput
            label={t('qc.form.constancyIntervalMonths')}
            value={d.constancyIntervalMonths}
            onChange={(v) => set('constancyIntervalMonths', v)}
            min={1}
            max={12}
            allowDecimal={false}
            error={shown(problems.months)}
            data-testid="qc-form-interval"
          />
        </SimpleGrid>
        <Switch
          label={t('qc.form.requireDailyCheck')}
          description={t('qc.form.requireDailyCheckHelp')}
          checked={d.requireDailyCheck}
          onChange={(e) => set('requireDailyCheck', e.currentTarget.checked)}
          data-testid="qc-form-require-daily"
        />
        <ErrorAlert error={mutation.error} title={t('qc.form.failed')} testId="qc-form-error" />
        <Group justify="flex-end">
          <Button variant="default" onClick={() => onDone(null)} data-testid="qc-form-cancel">
            {t('common.cancel')}
          </Button>
          <Button type="submit" loading={mutation.isPending} data-testid="qc-form-submit">
            {terminal ? t('qc.form.save') : t('qc.form.register')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
