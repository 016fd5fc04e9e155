/**
 * Recording a constancy test of a reading terminal with its numbers (Q1; JESRA X-0093
 * §6.5.4, AAPM TG18 OR-03 §4.3): the luminance read at each driving level of the TG18-LN
 * patterns, Lmax, Lmin and the ambient luminance. The server judges the test against the
 * terminal's management grade (Lmax, L'max/L'min, contrast response κδ, change of Lmax since
 * the acceptance test) and the dialog shows its verdict item by item, then the earlier tests.
 */
import { Alert, Badge, Button, Group, Modal, NumberInput, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import type { ConstancyItemResult, ConstancyResult, ReadingTerminal } from '../../../shared/api.ts';
import { DateTime } from '../../ui/DateTime.tsx';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { useConstancyTests, useRecordConstancy } from './api.ts';
import { tokyoToday } from './TerminalForm.tsx';
import { useQcTranslation, type QcT } from './i18n.ts';

type Num = number | string;

/** The 18 driving levels of the TG18-LN8 patterns (0, 15, …, 255; AAPM TG18 OR-03 §4.3). */
export const TG18_LN_LEVELS = Array.from({ length: 18 }, (_, i) => i * 15);

interface Row {
  key: number;
  ddl: Num;
  luminance: Num;
}

const numberOf = (v: Num): number | undefined => (v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));

/** A number as people read it: at most `digits` significant digits, no exponent for display values. */
function fmt(v: number, digits = 3): string {
  return String(Number(v.toPrecision(digits)));
}

/** The value and limit of a judged item, in its unit (cd/m², a ratio or %). */
export function itemText(t: QcT, item: ConstancyItemResult): string {
  switch (item.item) {
    case 'lmax':
      return t('qc.constancy.values.lmax', { value: fmt(item.value, 4), limit: fmt(item.limit) });
    case 'luminance-ratio':
      return t('qc.constancy.values.ratio', { value: fmt(item.value), limit: fmt(item.limit) });
    case 'contrast-response':
      return t('qc.constancy.values.percent', { value: fmt(item.value * 100, 2), limit: fmt(item.limit * 100) });
    case 'lmax-change':
      return t('qc.constancy.values.percent', { value: `${item.value >= 0 ? '+' : ''}${fmt(item.value * 100, 2)}`, limit: fmt(item.limit * 100) });
  }
}

export function ConstancyDialog({ terminal, onClose }: { terminal: ReadingTerminal | null; onClose: () => void }) {
  const { t } = useQcTranslation();
  return (
    <Modal
      opened={terminal !== null}
      onClose={onClose}
      title={terminal ? t('qc.constancy.title', { name: terminal.name, grade: terminal.grade }) : ''}
      size="xl"
      closeButtonProps={{ 'aria-label': t('common.close') }}
    >
      {terminal ? <ConstancyForm key={terminal.id} terminal={terminal} onClose={onClose} /> : null}
    </Modal>
  );
}

function ConstancyForm({ terminal, onClose }: { terminal: ReadingTerminal; onClose: () => void }) {
  const { t } = useQcTranslation();
  const record = useRecordConstancy(terminal.id);
  const history = useConstancyTests(terminal.id);
  const today = tokyoToday();
  const [testedOn, setTestedOn] = useState(today);
  const [lmax, setLmax] = useState<Num>('');
  const [lmin, setLmin] = useState<Num>('');
  const [lamb, setLamb] = useState<Num>(terminal.lamb);
  const [rows, setRows] = useState<Row[]>(() => TG18_LN_LEVELS.map((ddl, key) => ({ key, ddl, luminance: '' })));
  const [note, setNote] = useState('');
  const [touched, setTouched] = useState(false);

  const readings = rows
    .map((r) => ({ ddl: numberOf(r.ddl), luminance: numberOf(r.luminance) }))
    .filter((r): r is { ddl: number; luminance: number } => r.ddl !== undefined && r.luminance !== undefined);
  const sorted = [...readings].sort((a, b) => a.ddl - b.ddl);
  // Lmax and Lmin default to the readings at the brightest and darkest levels.
  const lmaxValue = numberOf(lmax) ?? sorted[sorted.length - 1]?.luminance;
  const lminValue = numberOf(lmin) ?? sorted[0]?.luminance;
  const lambValue = numberOf(lamb);
  const problems = {
    readings: readings.length < 3 ? t('qc.constancy.tooFew') : new Set(readings.map((r) => r.ddl)).size !== readings.length ? t('qc.constancy.repeatedLevel') : null,
    lmax: lmaxValue === undefined || lmaxValue <= 0 ? t('qc.form.positive') : null,
    lmin: lminValue === undefined || lminValue <= 0 ? t('qc.form.positive') : null,
    lamb: lambValue === undefined || lambValue < 0 ? t('qc.form.zeroOrMore') : null,
    testedOn: !/^\d{4}-\d{2}-\d{2}$/.test(testedOn) ? t('forms.required') : testedOn > today ? t('qc.form.future') : null,
  };
  const shown = (p: string | null) => (touched ? p : null);

  const setRow = (key: number, change: Partial<Row>) => setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...change } : r)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.values(problems).some((p) => p !== null)) return;
    record.mutate({ testedOn, lmax: lmaxValue!, lmin: lminValue!, lamb: lambValue!, readings: sorted, note: note.trim() || undefined });
  };

  return (
    <Stack gap="md">
      <form onSubmit={submit} noValidate data-testid="qc-constancy-form">
        <Stack gap="sm">
          <Text size="sm" c="dimmed">
            {t('qc.constancy.help')}
          </Text>
          <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm">
            <TextInput
              type="date"
              label={t('qc.constancy.testedOn')}
              value={testedOn}
              max={today}
              onChange={(e) => setTestedOn(e.currentTarget.value)}
              error={shown(problems.testedOn)}
              data-testid="qc-constancy-date"
            />
            <NumberInput
              label={t('qc.form.lmax')}
              placeholder={sorted.length ? fmt(sorted[sorted.length - 1]!.luminance, 4) : undefined}
              value={lmax}
              onChange={setLmax}
              min={0}
              allowNegative={false}
              error={shown(problems.lmax)}
              data-testid="qc-constancy-lmax"
            />
            <NumberInput
              label={t('qc.form.lmin')}
              placeholder={sorted.length ? fmt(sorted[0]!.luminance, 4) : undefined}
              value={lmin}
              onChange={setLmin}
              min={0}
              allowNegative={false}
              error={shown(problems.lmin)}
              data-testid="qc-constancy-lmin"
            />
            <NumberInput
              label={t('qc.form.lamb')}
              value={lamb}
              onChange={setLamb}
              min={0}
              allowNegative={false}
              error={shown(problems.lamb)}
              data-testid="qc-constancy-lamb"
            />
          </SimpleGrid>
          <Text size="xs" c="dimmed">
            {t('qc.constancy.lmaxLminHelp')}
          </Text>
          <Title order={3} fz="sm">
            {t('qc.constancy.readings')}
          </Title>
          <Table fz="sm" verticalSpacing={2} withTableBorder data-testid="qc-constancy-readings">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('qc.constancy.ddl')}</Table.Th>
                <Table.Th>{t('qc.constancy.luminance')}</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((r, i) => (
                <Table.Tr key={r.key}>
                  <Table.Td w={140}>
                    <NumberInput
                      size="xs"
                      aria-label={t('qc.constancy.ddlOf', { n: i + 1 })}
                      value={r.ddl}
                      onChange={(v) => setRow(r.key, { ddl: v })}
                      min={0}
                      max={4095}
                      allowDecimal={false}
                      allowNegative={false}
                      data-testid={`qc-constancy-ddl-${i}`}
                    />
                  </Table.Td>
                  <Table.Td>
                    <NumberInput
                      size="xs"
                      aria-label={t('qc.constancy.luminanceOf', { n: i + 1 })}
                      value={r.luminance}
                      onChange={(v) => setRow(r.key, { luminance: v })}
                      min={0}
                      allowNegative={false}
                      data-testid={`qc-constancy-lum-${i}`}
                    />
                  </Table.Td>
                  <Table.Td w={80}>
                    <Button size="compact-xs" variant="subtle" color="gray" onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))} data-testid={`qc-constancy-remove-${i}`}>
                      {t('common.remove')}
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Group gap="sm">
            <Button
              size="compact-sm"
              variant="light"
              onClick={() => setRows((rs) => [...rs, { key: Math.max(-1, ...rs.map((x) => x.key)) + 1, ddl: '', luminance: '' }])}
              data-testid="qc-constancy-add"
            >
              {t('qc.constancy.addRow')}
            </Button>
            {shown(problems.readings) ? (
              <Text size="sm" c="red" data-testid="qc-constancy-readings-problem">
                {problems.readings}
              </Text>
            ) : null}
          </Group>
          <Textarea label={t('qc.constancy.note')} value={note} onChange={(e) => setNote(e.currentTarget.value)} autosize minRows={2} maxLength={1000} data-testid="qc-constancy-note" />
          <ErrorAlert error={record.error} title={t('qc.constancy.failed')} testId="qc-constancy-error" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} data-testid="qc-constancy-close">
              {t('common.close')}
            </Button>
            <Button type="submit" loading={record.isPending} data-testid="qc-constancy-submit">
              {t('qc.constancy.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
      {record.data ? <Verdict result={record.data} /> : null}
      <History tests={history.data ?? []} loading={history.isPending} error={history.error} />
    </Stack>
  );
}

/** The server's judgement of one test, item by item. */
function Verdict({ result }: { result: ConstancyResult }) {
  const { t } = useQcTranslation();
  return (
    <Alert
      color={result.passed ? 'teal' : 'red'}
      title={result.passed ? t('qc.constancy.passed', { grade: result.grade }) : t('qc.constancy.notPassed', { grade: result.grade })}
      data-testid="qc-constancy-result"
      data-passed={result.passed}
      role="status"
    >
      <Table fz="sm" verticalSpacing={2} mb="xs">
        <Table.Tbody>
          {result.items.map((item) => (
            <Table.Tr key={item.item} data-testid="qc-constancy-item" data-item={item.item} data-pass={item.pass} title={item.reason}>
              <Table.Td>{t(`qc.constancy.items.${item.item}`)}</Table.Td>
              <Table.Td>{itemText(t, item)}</Table.Td>
              <Table.Td>
                <Badge color={item.pass ? 'teal' : 'red'} tt="none">
                  {item.pass ? t('qc.constancy.pass') : t('qc.constancy.fail')}
                </Badge>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Text size="sm" data-testid="qc-constancy-next-due">
        {t('qc.constancy.nextDue', { date: result.nextDueOn })}
      </Text>
    </Alert>
  );
}

function History({ tests, loading, error }: { tests: ConstancyResult[]; loading: boolean; error: unknown }) {
  const { t } = useQcTranslation();
  return (
    <Stack gap={4}>
      <Title order={3} fz="sm">
        {t('qc.constancy.history')}
      </Title>
      <ErrorAlert error={error} />
      {loading ? null : tests.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('qc.constancy.noHistory')}
        </Text>
      ) : (
        <Table fz="xs" verticalSpacing={2} data-testid="qc-constancy-history">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('qc.constancy.testedOn')}</Table.Th>
              <Table.Th>{t('qc.constancy.result')}</Table.Th>
              <Table.Th>{t('qc.constancy.figures')}</Table.Th>
              <Table.Th>{t('qc.constancy.recordedBy')}</Table.Th>
              <Table.Th>{t('qc.constancy.nextDueColumn')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tests.map((c) => (
              <Table.Tr key={c.id} data-testid="qc-constancy-history-row" data-passed={c.passed}>
                <Table.Td>{c.testedOn}</Table.Td>
                <Table.Td>
                  <Badge color={c.passed ? 'teal' : 'red'} tt="none" size="sm">
                    {c.passed ? t('qc.constancy.pass') : t('qc.constancy.fail')}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  {c.items
                    .filter((i) => !i.pass)
                    .map((i) => `${t(`qc.constancy.items.${i.item}`)} ${itemText(t, i)}`)
                    .join(' / ') || t('qc.constancy.summary', { lmax: fmt(c.lmax, 4), ratio: fmt(c.luminanceRatio), kappa: fmt(c.contrastDeviation * 100, 2) })}
                </Table.Td>
                <Table.Td>
                  {c.recordedByName} <DateTime value={c.recordedAt} />
                </Table.Td>
                <Table.Td>{c.nextDueOn}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
