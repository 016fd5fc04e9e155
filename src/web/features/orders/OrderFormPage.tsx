/**
 * The web order form (W1) for facilities without an order interface: technologists and
 * attending physicians of the facility. The server checks everything and says what is
 * wrong; a repeated submission carries the same submission id and is harmless.
 */
import { Alert, Button, Checkbox, Group, NativeSelect, Paper, SimpleGrid, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useOrdersTranslation } from './i18n.ts';
import type { OrderFormRequest } from '../../../shared/api.ts';
import { navigate } from '../../app/router.tsx';
import { useSessionUser } from '../auth/session.ts';
import { ErrorAlert } from '../../ui/ErrorAlert.tsx';
import { PageHeader } from '../../ui/PageHeader.tsx';
import { orderFormFacilities } from './access.ts';
import { useSubmitOrder } from './api.ts';

interface FormState {
  facilityId: string;
  patientId: string;
  familyKanji: string;
  givenKanji: string;
  familyKana: string;
  givenKana: string;
  sex: string;
  birthDate: string;
  priority: OrderFormRequest['priority'];
  modality: string;
  jj1017: string;
  bodyPart: string;
  procedureText: string;
  reason: string;
  clinicalNotes: string;
  contrast: boolean;
  requesterName: string;
  requesterDepartment: string;
  scheduledAt: string;
}

type Required = 'facilityId' | 'patientId' | 'modality' | 'procedureText' | 'reason';
const REQUIRED: Required[] = ['facilityId', 'patientId', 'modality', 'procedureText', 'reason'];

function newSubmissionId(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export function OrderFormPage() {
  const { t } = useOrdersTranslation();
  const user = useSessionUser();
  const facilities = orderFormFacilities(user);
  const submit = useSubmitOrder();
  const [submissionId, setSubmissionId] = useState(newSubmissionId);
  const [missing, setMissing] = useState<Set<Required>>(new Set());
  const [f, setF] = useState<FormState>({
    facilityId: facilities.length === 1 ? facilities[0]!.id : '',
    patientId: '',
    familyKanji: '',
    givenKanji: '',
    familyKana: '',
    givenKana: '',
    sex: '',
    birthDate: '',
    priority: 'routine',
    modality: '',
    jj1017: '',
    bodyPart: '',
    procedureText: '',
    reason: '',
    clinicalNotes: '',
    contrast: false,
    requesterName: user.displayName,
    requesterDepartment: '',
    scheduledAt: '',
  });
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setF((x) => ({ ...x, [key]: value }));
    // A changed form is a new submission.
    setSubmissionId(newSubmissionId());
  };
  const err = (key: Required) => (missing.has(key) ? t('orders.form.required') : null);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const absent = new Set(REQUIRED.filter((k) => !String(f[k]).trim()));
    setMissing(absent);
    if (absent.size) return;
    const join = (a: string, b: string) => (a.trim() || b.trim() ? `${a.trim()}^${b.trim()}` : '');
    const request: OrderFormRequest = {
      facilityId: f.facilityId,
      submissionId,
      patient: {
        patientId: f.patientId.trim(),
        name: { ideographic: join(f.familyKanji, f.givenKanji), phonetic: join(f.familyKana, f.givenKana) },
        ...(f.sex ? { sex: f.sex } : {}),
        ...(f.birthDate ? { birthDate: f.birthDate.replaceAll('-', '') } : {}),
      },
      priority: f.priority,
      modality: f.modality.trim().toUpperCase(),
      ...(f.jj1017.trim() ? { jj1017: f.jj1017.trim() } : {}),
      ...(f.bodyPart.trim() ? { bodyPart: f.bodyPart.trim() } : {}),
      procedureText: f.procedureText.trim(),
      reason: f.reason.trim(),
      ...(f.clinicalNotes.trim() ? { clinicalNotes: f.clinicalNotes.trim() } : {}),
      contrast: f.contrast,
      requester: { name: f.requesterName.trim(), department: f.requesterDepartment.trim() },
      ...(f.scheduledAt ? { scheduledAt: new Date(`${f.scheduledAt}:00+09:00`).toISOString() } : {}),
    };
    submit.mutate(request, { onSuccess: (r) => navigate(`/orders/${encodeURIComponent(r.orderId)}`) });
  };

  return (
    <>
      <PageHeader title={t('orders.form.title')} description={t('orders.form.description')} />
      <form onSubmit={onSubmit} noValidate data-testid="order-form">
        <Stack gap="md" maw={960}>
          <Paper withBorder p="md">
            <NativeSelect
              label={t('orders.form.facility')}
              required
              value={f.facilityId}
              onChange={(e) => set('facilityId', e.currentTarget.value)}
              data={[{ value: '', label: '—' }, ...facilities.map((x) => ({ value: x.id, label: x.name }))]}
              error={err('facilityId')}
              data-testid="order-form-facility"
            />
          </Paper>
          <Paper withBorder p="md">
            <Text fw={600} mb="xs">
              {t('orders.form.patientSection')}
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput label={t('orders.form.patientId')} required value={f.patientId} onChange={(e) => set('patientId', e.currentTarget.value)} error={err('patientId')} autoComplete="off" data-testid="order-form-patient-id" />
              <NativeSelect
                label={t('orders.form.sex')}
                value={f.sex}
                onChange={(e) => set('sex', e.currentTarget.value)}
                data={(['', 'M', 'F', 'O'] as const).map((s) => ({ value: s, label: t(`orders.form.sexes.${s}`) }))}
                data-testid="order-form-sex"
              />
              <TextInput label={t('orders.form.familyKanji')} value={f.familyKanji} onChange={(e) => set('familyKanji', e.currentTarget.value)} autoComplete="off" data-testid="order-form-family-kanji" />
              <TextInput label={t('orders.form.givenKanji')} value={f.givenKanji} onChange={(e) => set('givenKanji', e.currentTarget.value)} autoComplete="off" data-testid="order-form-given-kanji" />
              <TextInput label={t('orders.form.familyKana')} value={f.familyKana} onChange={(e) => set('familyKana', e.currentTarget.value)} autoComplete="off" data-testid="order-form-family-kana" />
              <TextInput label={t('orders.form.givenKana')} value={f.givenKana} onChange={(e) => set('givenKana', e.currentTarget.value)} autoComplete="off" data-testid="order-form-given-kana" />
              <TextInput type="date" label={t('orders.form.birthDate')} value={f.birthDate} onChange={(e) => set('birthDate', e.currentTarget.value)} data-testid="order-form-birth-date" />
            </SimpleGrid>
          </Paper>
          <Paper withBorder p="md">
            <Text fw={600} mb="xs">
              {t('orders.form.orderSection')}
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 3 }}>
              <NativeSelect
                label={t('orders.form.priority')}
                value={f.priority}
                onChange={(e) => set('priority', e.currentTarget.value as FormState['priority'])}
                data={(['routine', 'urgent', 'stat'] as const).map((p) => ({ value: p, label: t(`orders.priority.${p}`) }))}
                data-testid="order-form-priority"
              />
              <TextInput label={t('orders.form.modality')} required value={f.modality} onChange={(e) => set('modality', e.currentTarget.value)} error={err('modality')} placeholder="CT" data-testid="order-form-modality" />
              <TextInput label={t('orders.form.bodyPart')} value={f.bodyPart} onChange={(e) => set('bodyPart', e.currentTarget.value)} data-testid="order-form-body-part" />
              <TextInput label={t('orders.form.procedureText')} required value={f.procedureText} onChange={(e) => set('procedureText', e.currentTarget.value)} error={err('procedureText')} data-testid="order-form-procedure" />
              <TextInput label={t('orders.form.jj1017')} value={f.jj1017} onChange={(e) => set('jj1017', e.currentTarget.value)} ff="monospace" autoComplete="off" data-testid="order-form-jj1017" />
              <TextInput type="datetime-local" label={t('orders.form.scheduledAt')} value={f.scheduledAt} onChange={(e) => set('scheduledAt', e.currentTarget.value)} data-testid="order-form-scheduled" />
            </SimpleGrid>
            <Stack gap="sm" mt="sm">
              <Textarea label={t('orders.form.reason')} required value={f.reason} onChange={(e) => set('reason', e.currentTarget.value)} error={err('reason')} autosize minRows={2} data-testid="order-form-reason" />
              <Textarea label={t('orders.form.clinicalNotes')} value={f.clinicalNotes} onChange={(e) => set('clinicalNotes', e.currentTarget.value)} autosize minRows={2} data-testid="order-form-notes" />
              <Checkbox label={t('orders.form.contrast')} checked={f.contrast} onChange={(e) => set('contrast', e.currentTarget.checked)} data-testid="order-form-contrast" />
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                <TextInput label={t('orders.form.requesterName')} value={f.requesterName} onChange={(e) => set('requesterName', e.currentTarget.value)} data-testid="order-form-requester" />
                <TextInput label={t('orders.form.requesterDepartment')} value={f.requesterDepartment} onChange={(e) => set('requesterDepartment', e.currentTarget.value)} data-testid="order-form-department" />
              </SimpleGrid>
            </Stack>
          </Paper>
          <ErrorAlert error={submit.error} title={t('orders.form.failed')} testId="order-form-error" />
          {submit.isSuccess ? (
            <Alert color="teal" role="status" data-testid="order-form-done">
              {t('orders.form.done')}
            </Alert>
          ) : null}
          <Group>
            <Button type="submit" loading={submit.isPending} data-testid="order-form-submit">
              {t('orders.form.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </>
  );
}
