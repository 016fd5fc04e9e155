import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FhirError } from './outcome.ts';
import { JJ1017_SYSTEM, LEGACY_JJ1017_SYSTEM, fhirDateTimeToIso, orderToServiceRequest, serviceRequestOfBundle, serviceRequestToOrder } from './servicerequest.ts';
import { sampleServiceRequest } from './examples.ts';

const CTX = { facilityId: 'fac-1', mode: 'create' as const, messageId: 'm1' };

function issues(fn: () => unknown): { status: number; expressions: string[] } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FhirError, String(e));
    return { status: e.status, expressions: e.issues.map((i) => i.expression ?? '') };
  }
  assert.fail('expected a FhirError');
}

describe('serviceRequestToOrder', () => {
  it('maps a JP Core ServiceRequest with a contained JP_Patient to an order', () => {
    const o = serviceRequestToOrder(sampleServiceRequest(), CTX);
    assert.equal(o.control, 'new');
    assert.equal(o.source, 'fhir');
    assert.deepEqual(o.patient, {
      patientId: '00012345', issuer: 'urn:oid:1.2.392.100495.20.3.51.11312345678',
      name: { alphabetic: '', ideographic: '宮本^美咲', phonetic: 'ミヤモト^ミサキ' }, sex: 'F', birthDate: '19880917',
    });
    assert.equal(o.placerOrderNumber, 'ORD-1');
    assert.equal(o.accessionNumber, 'ACC-1');
    assert.equal(o.priority, 'urgent', 'asap');
    assert.equal(o.jj1017, '60000001000002000000010000000000');
    assert.equal(o.modality, 'CT');
    assert.equal(o.procedureText, '頭部CT');
    assert.equal(o.reason, '転倒後の頭痛。頭蓋内出血の有無');
    assert.equal(o.clinicalNotes, '抗凝固薬内服中\nクレアチニン: 0.82 mg/dL');
    assert.deepEqual(o.requester, { name: '鈴木 一郎', department: '内科' });
    assert.equal(o.requestedAt, '2024-06-03T00:15:00.000Z');
    assert.equal(o.scheduledAt, '2024-06-03T02:00:00.000Z');
  });

  it('reads revoked as a cancel and PUT as a change', () => {
    assert.equal(serviceRequestToOrder(sampleServiceRequest({ status: 'revoked' }), CTX).control, 'cancel');
    assert.equal(serviceRequestToOrder(sampleServiceRequest(), { ...CTX, mode: 'update' }).control, 'change');
  });

  it('refuses invalid resources with 400 and missing order data with 422, naming the element', () => {
    assert.deepEqual(issues(() => serviceRequestToOrder({ resourceType: 'Patient' }, CTX)), { status: 400, expressions: ['ServiceRequest'] });
    assert.deepEqual(issues(() => serviceRequestToOrder(sampleServiceRequest({ status: undefined as never, priority: 'whenever' as never }), CTX)),
      { status: 400, expressions: ['ServiceRequest.status', 'ServiceRequest.priority'] });
    assert.deepEqual(issues(() => serviceRequestToOrder(sampleServiceRequest({ identifier: [], code: undefined as never }), CTX)),
      { status: 422, expressions: ['ServiceRequest.identifier', 'ServiceRequest.code'] });
    assert.deepEqual(issues(() => serviceRequestToOrder(sampleServiceRequest({ subject: { reference: 'Patient/elsewhere' } }), CTX)),
      { status: 422, expressions: ['ServiceRequest.subject'] });
    assert.deepEqual(issues(() => serviceRequestToOrder(sampleServiceRequest({ status: 'draft' }), CTX)), { status: 422, expressions: ['ServiceRequest.status'] });
    assert.deepEqual(issues(() => serviceRequestToOrder(sampleServiceRequest({ occurrenceDateTime: '2024-06-03T11:00' }), CTX)), { status: 400, expressions: ['ServiceRequest.occurrenceDateTime'] });
  });

  it('takes the patient from a transaction Bundle entry (urn:uuid)', () => {
    const sr = sampleServiceRequest({ contained: [], subject: { reference: 'urn:uuid:5f0e' }, requester: { display: '鈴木 一郎' } });
    const { serviceRequest, resolve } = serviceRequestOfBundle({
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5f0e', resource: { resourceType: 'Patient', identifier: [{ value: '77' }], name: [{ text: '山田 太郎' }] }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'urn:uuid:aaaa', resource: sr, request: { method: 'POST', url: 'ServiceRequest' } },
      ],
    });
    const o = serviceRequestToOrder(serviceRequest, { ...CTX, resolve });
    assert.equal(o.patient.patientId, '77');
    assert.equal(o.patient.name.ideographic, '山田 太郎');
    assert.equal(o.requester.name, '鈴木 一郎');
  });
});

describe('orderToServiceRequest', () => {
  it('writes the order back as JP_ServiceRequest_Common with identifiers by type and the patient contained', () => {
    const o = serviceRequestToOrder(sampleServiceRequest(), CTX);
    const sr = orderToServiceRequest({ ...o, id: 'o-1', status: 'cancelled', versionId: '3', lastUpdated: '2024-06-03T00:20:00.000Z' });
    assert.equal(sr.status, 'revoked');
    assert.equal(sr.priority, 'urgent');
    assert.deepEqual(sr.identifier?.map((i) => [i.type?.coding?.[0]?.code, i.value]), [['PLAC', 'ORD-1'], ['ACSN', 'ACC-1']]);
    assert.equal(sr.code?.coding?.[0]?.code, '60000001000002000000010000000000');
    assert.equal(sr.subject?.reference, '#patient');
    // The written resource reads back to the same order.
    const again = serviceRequestToOrder({ ...sr, status: 'active' }, CTX);
    for (const k of ['patient', 'placerOrderNumber', 'accessionNumber', 'jj1017', 'modality', 'procedureText', 'reason', 'requestedAt', 'scheduledAt'] as const) {
      assert.deepEqual(again[k], o[k], k);
    }
    assert.equal(again.requester.department, '内科');
  });
});

describe('the JJ1017 code system', () => {
  it('is written under Enkaku\'s own name (no published OID), and read under any name that says JJ1017 or the old OID', () => {
    const o = serviceRequestToOrder(sampleServiceRequest(), CTX);
    const sr = orderToServiceRequest({ ...o, id: 'o-1', status: 'scheduled', versionId: '1', lastUpdated: '2024-06-03T00:20:00.000Z' });
    assert.equal(JJ1017_SYSTEM, 'urn:enkaku:jj1017');
    assert.equal(sr.code?.coding?.[0]?.system, JJ1017_SYSTEM);
    assert.ok(!JSON.stringify(sr).includes('1.2.392.200119'), 'no OID in MEDIS-DC\'s arc is claimed for JJ1017');
    const code = '60000001000002000000010000000000';
    for (const system of [JJ1017_SYSTEM, LEGACY_JJ1017_SYSTEM, 'http://example.jp/CodeSystem/JJ1017-32']) {
      const read = serviceRequestToOrder(sampleServiceRequest({ code: { coding: [{ system, code }], text: '頭部CT' } }), CTX);
      assert.equal(read.jj1017, code, system);
      assert.equal(read.modality, 'CT', system);
    }
  });
});

describe('fhirDateTimeToIso', () => {
  it('needs a time zone with a time, and reads a date as Japan midnight', () => {
    assert.equal(fhirDateTimeToIso('2024-06-03'), '2024-06-02T15:00:00.000Z');
    assert.equal(fhirDateTimeToIso('2024-06-03T09:15:00Z'), '2024-06-03T09:15:00.000Z');
    assert.equal(fhirDateTimeToIso('2024-06-03T09:15:00'), undefined);
    assert.equal(fhirDateTimeToIso('soon'), undefined);
  });
});
