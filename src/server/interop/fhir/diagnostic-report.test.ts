/**
 * The report as JP Core FHIR resources: profiles, references that resolve inside the Bundle,
 * the statuses of corrections and addenda, the signed PDF, conditional requests that make a
 * re-send idempotent; and the read confirmation as a Communication.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import { sampleReportDocument } from '../../reports/test-document.ts';
import {
  JP_DIAGNOSTIC_REPORT_RADIOLOGY_PROFILE, JP_IMAGING_STUDY_RADIOLOGY_PROFILE, JP_OBSERVATION_RADIOLOGY_FINDINGS_PROFILE, JP_OBSERVATION_RADIOLOGY_IMPRESSION_PROFILE,
  JP_PRACTITIONER_PROFILE, READ_CONFIRMATION_CATEGORY, REPORT_VERSION_SYSTEM, diagnosticReportBundle, readConfirmationOfCommunication,
} from './diagnostic-report.ts';
import { FhirError } from './outcome.ts';

const pdf = Buffer.from('%PDF-1.7 signed report bytes', 'latin1');

function byType<T extends Resource>(b: Bundle, type: T['resourceType']): T[] {
  return (b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.resource as T);
}

/** Every `reference` value anywhere in a resource. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

test('a transaction Bundle of JP Core resources whose references all resolve inside it', () => {
  const doc = sampleReportDocument();
  const b = diagnosticReportBundle(doc, pdf);
  assert.equal(b.resourceType, 'Bundle');
  assert.equal(b.type, 'transaction');
  const fullUrls = new Set((b.entry ?? []).map((e) => e.fullUrl));
  for (const e of b.entry ?? []) {
    assert.match(e.fullUrl!, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(e.request?.method && e.request.url, 'every entry says how to write it');
    for (const r of references(e.resource)) assert.ok(fullUrls.has(r), `${e.resource!.resourceType} refers to ${r}, an entry of the Bundle`);
  }
  const profiles = Object.fromEntries((b.entry ?? []).map((e) => [`${e.resource!.resourceType}${(e.resource as Observation).code?.coding?.[0]?.code ?? ''}`, e.resource!.meta?.profile?.[0]]));
  assert.equal(profiles['DiagnosticReport18748-4'], JP_DIAGNOSTIC_REPORT_RADIOLOGY_PROFILE);
  assert.equal(profiles.ImagingStudy, JP_IMAGING_STUDY_RADIOLOGY_PROFILE);
  assert.equal(profiles.Practitioner, JP_PRACTITIONER_PROFILE);
  assert.equal(profiles['Observation18782-3'], JP_OBSERVATION_RADIOLOGY_FINDINGS_PROFILE);
  assert.equal(profiles['Observation19005-8'], JP_OBSERVATION_RADIOLOGY_IMPRESSION_PROFILE);

  const [report] = byType<DiagnosticReport>(b, 'DiagnosticReport');
  assert.ok(report);
  assert.deepEqual(report.identifier?.[0], { use: 'official', system: REPORT_VERSION_SYSTEM, value: 'rv-0001-1' });
  assert.equal(report.status, 'final');
  assert.equal(report.category?.[0]?.coding?.[0]?.code, 'LP29684-5', 'JP Core: the first category is 放射線');
  assert.equal(report.category?.[1]?.coding?.[0]?.code, 'CT');
  assert.equal(report.code.coding?.[0]?.code, '18748-4');
  assert.equal(report.conclusion, doc.sections.impression);
  assert.equal(report.issued, doc.finalisedAt);
  assert.equal(report.effectiveDateTime, doc.reading.startedAt);
  assert.equal(report.performer?.[0]?.display, '鈴木 一郎');
  assert.equal(report.result?.length, 2);
  const form = report.presentedForm![0]!;
  assert.equal(form.contentType, 'application/pdf');
  assert.deepEqual(Buffer.from(form.data!, 'base64'), pdf);
  assert.equal(form.hash, createHash('sha1').update(pdf).digest('base64'));
  assert.match(report.text!.div, /右上葉S2に径12mm/, 'JP Core: the findings are in the narrative');
  assert.match(report.text!.div, /^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">/);
  assert.equal(report.basedOn?.[0]?.identifier?.value, 'P-778812');

  const [study] = byType<ImagingStudy>(b, 'ImagingStudy');
  assert.deepEqual(study!.identifier?.[0], { system: 'urn:dicom:uid', value: `urn:oid:${doc.study.studyUid}` });
  assert.equal(study!.series?.length, 2);
  assert.equal(study!.started, '2026-11-20T10:15:00+09:00');
  const [patient] = byType<Patient>(b, 'Patient');
  assert.deepEqual(patient!.name?.map((n) => [n.extension?.[0]?.valueCode, n.family, n.given?.[0]]), [['IDE', '山田', '太郎'], ['SYL', 'ヤマダ', 'タロウ'], ['ABC', 'Yamada', 'Taro']]);
  assert.equal(patient!.birthDate, '1956-04-12');
  const [practitioner] = byType<Practitioner>(b, 'Practitioner');
  assert.equal(practitioner!.identifier?.[0]?.system, 'urn:oid:1.2.392.100495.20.3.31', '医籍登録番号');
  const findings = byType<Observation>(b, 'Observation').find((o) => o.code.coding?.[0]?.code === '18782-3')!;
  assert.equal(findings.valueString, doc.sections.findings);
});

test('re-sending is idempotent: conditional writes keyed on identifiers, the same Bundle every time', () => {
  const doc = sampleReportDocument();
  const a = diagnosticReportBundle(doc, pdf, { patientIdSystem: 'urn:oid:1.2.392.100495.20.3.51.11312345678' });
  const b = diagnosticReportBundle(doc, pdf, { patientIdSystem: 'urn:oid:1.2.392.100495.20.3.51.11312345678' });
  assert.deepEqual(a, b);
  const requests = Object.fromEntries((a.entry ?? []).map((e) => [e.resource!.resourceType + (e.request!.url.includes('findings') ? 'F' : e.request!.url.includes('impression') ? 'I' : ''), e.request]));
  assert.deepEqual(requests.DiagnosticReport, { method: 'PUT', url: `DiagnosticReport?identifier=${encodeURIComponent(`${REPORT_VERSION_SYSTEM}|rv-0001-1`)}` });
  assert.equal(requests.Patient!.method, 'POST');
  assert.equal(requests.Patient!.ifNoneExist, `identifier=${encodeURIComponent('urn:oid:1.2.392.100495.20.3.51.11312345678|00012345')}`);
  assert.equal(requests.ImagingStudy!.ifNoneExist, `identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${doc.study.studyUid}`)}`);
  assert.equal(requests.ObservationF!.method, 'PUT');
});

test('corrections and addenda are corrected and appended, each version its own identifier', () => {
  const c = byType<DiagnosticReport>(diagnosticReportBundle(sampleReportDocument({ kind: 'correction', versionId: 'rv-2', version: 2, reason: '部位の訂正' }), pdf), 'DiagnosticReport')[0]!;
  assert.equal(c.status, 'corrected');
  assert.equal(c.identifier?.[0]?.value, 'rv-2');
  assert.equal(c.identifier?.[1]?.value, 'rpt-0001', 'the report id groups the versions');
  assert.match(c.text!.div, /訂正の理由/);
  const a = byType<DiagnosticReport>(diagnosticReportBundle(sampleReportDocument({ kind: 'addendum', versionId: 'rv-3', version: 3 }), pdf), 'DiagnosticReport')[0]!;
  assert.equal(a.status, 'appended');
});

test('a read confirmation Communication gives the version, the physician and the time', () => {
  const ok = readConfirmationOfCommunication({
    resourceType: 'Communication',
    status: 'completed',
    category: [{ coding: [{ ...READ_CONFIRMATION_CATEGORY }] }],
    about: [{ type: 'DiagnosticReport', identifier: { system: REPORT_VERSION_SYSTEM, value: 'rv-0001-1' } }],
    sender: { display: '佐藤 花子', identifier: { value: 'D0012' } },
    sent: '2026-11-21T08:30:00+09:00',
  });
  assert.deepEqual(ok, { versionId: 'rv-0001-1', by: '佐藤 花子 (D0012)', at: '2026-11-20T23:30:00.000Z' });
  const byReference = readConfirmationOfCommunication({
    resourceType: 'Communication', status: 'completed', category: [{ coding: [{ ...READ_CONFIRMATION_CATEGORY }] }],
    about: [{ reference: `DiagnosticReport?identifier=${encodeURIComponent(`${REPORT_VERSION_SYSTEM}|rv-9`)}` }],
    contained: [{ resourceType: 'Practitioner', id: 'p', name: [{ family: '佐藤', given: ['花子'] }] }],
    sender: { reference: '#p' }, sent: '2026-11-21T08:30:00+09:00',
  });
  assert.equal(byReference.versionId, 'rv-9');
  assert.equal(byReference.by, '佐藤 花子');

  assert.throws(() => readConfirmationOfCommunication({ resourceType: 'Task' }), (e: unknown) => e instanceof FhirError && e.status === 400);
  assert.throws(() => readConfirmationOfCommunication({ resourceType: 'Communication', status: 'completed' }), (e: unknown) => {
    assert.ok(e instanceof FhirError);
    assert.equal(e.status, 422);
    assert.deepEqual(e.issues.map((i) => i.expression), ['Communication.category', 'Communication.about', 'Communication.sender', 'Communication.sent']);
    return true;
  });
});
