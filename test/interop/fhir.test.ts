/**
 * FHIR R4 ServiceRequest (JP Core) through the HTTP application: real FHIR JSON in, the stored
 * order back as a ServiceRequest, every error an OperationOutcome with the right status.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Bundle, OperationOutcome, ServiceRequest } from '@medplum/fhirtypes';
import { buildApp } from '../../src/server/app.ts';
import type { Runtime } from '../../src/server/runtime.ts';
import { sampleServiceRequest } from '../../src/server/interop/fhir/examples.ts';
import { testRuntime } from '../helpers.ts';

const OP = { kind: 'system', name: 'test' } as const;
const FHIR = 'application/fhir+json';

describe('FHIR R4 ServiceRequest', () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  const tokens: Record<'write' | 'read' | 'dicom' | 'otherFacility', string> = { write: '', read: '', dicom: '', otherFacility: '' };

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': FHIR } : {}), accept: FHIR, ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  const outcome = (res: { json: () => unknown }): { codes: string[]; expressions: string[] } => {
    const oo = res.json() as OperationOutcome;
    assert.equal(oo.resourceType, 'OperationOutcome');
    return { codes: oo.issue.map((i) => i.code), expressions: oo.issue.flatMap((i) => i.expression ?? []) };
  };

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    const a = (await rt.facilities.add(OP, { name: 'FHIR Hospital A', aets: ['FA'] })).id;
    const b = (await rt.facilities.add(OP, { name: 'FHIR Hospital B', aets: ['FB'] })).id;
    tokens.write = (await rt.tokens.create(OP, { facilityId: a, name: 'emr', scopes: ['orders:write'] })).token;
    tokens.read = (await rt.tokens.create(OP, { facilityId: a, name: 'emr-read', scopes: ['orders:read'] })).token;
    tokens.dicom = (await rt.tokens.create(OP, { facilityId: a, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    tokens.otherFacility = (await rt.tokens.create(OP, { facilityId: b, name: 'emr-b', scopes: ['orders:write', 'orders:read'] })).token;
  });

  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  let id = '';

  it('creates an order: 201 with Location, ETag and the stored ServiceRequest (JP Core profile, patient contained)', async () => {
    const res = await call('POST', '/fhir/R4/ServiceRequest', tokens.write, sampleServiceRequest());
    assert.equal(res.statusCode, 201, res.body);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    const sr = res.json() as ServiceRequest;
    id = sr.id!;
    assert.equal(res.headers.location, `/fhir/R4/ServiceRequest/${id}/_history/1`);
    assert.equal(res.headers.etag, 'W/"1"');
    assert.deepEqual(sr.meta?.profile, ['http://jpfhir.jp/fhir/core/StructureDefinition/JP_ServiceRequest_Common']);
    assert.equal(sr.status, 'active');
    assert.equal(sr.priority, 'urgent');
    assert.deepEqual(sr.identifier?.map((i) => [i.type?.coding?.[0]?.code, i.value]), [['PLAC', 'ORD-1'], ['ACSN', 'ACC-1']]);
    assert.equal(sr.code?.coding?.[0]?.code, '60000001000002000000010000000000');
    assert.equal(sr.reasonCode?.[0]?.text, '転倒後の頭痛。頭蓋内出血の有無');
    const patient = sr.contained?.[0] as { name: Array<{ family: string; given: string[] }>; identifier: Array<{ value: string }> };
    assert.equal(patient.identifier[0]!.value, '00012345');
    assert.deepEqual(patient.name.map((n) => `${n.family}^${n.given.join('^')}`), ['宮本^美咲', 'ミヤモト^ミサキ']);
    assert.equal(sr.occurrenceDateTime, '2024-06-03T02:00:00.000Z');
    const row = await rt.db.kysely.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.source, 'fhir');
    assert.equal(row.modality, 'CT');
  });

  it('answers the same POST again with 200 and the same order (idempotent)', async () => {
    const res = await call('POST', '/fhir/R4/ServiceRequest', tokens.write, sampleServiceRequest());
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as ServiceRequest).id, id);
    const n = await rt.db.kysely.selectFrom('orders').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 1);
  });

  it('reads the order back with an orders:read token; refuses others with OperationOutcome 401/403/404', async () => {
    const res = await call('GET', `/fhir/R4/ServiceRequest/${id}`, tokens.read);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, 'W/"1"');
    assert.equal((res.json() as ServiceRequest).identifier?.[0]?.value, 'ORD-1');
    const anonymous = await call('GET', `/fhir/R4/ServiceRequest/${id}`, undefined);
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(outcome(anonymous).codes, ['login']);
    assert.equal((await call('GET', `/fhir/R4/ServiceRequest/${id}`, tokens.write)).statusCode, 403, 'orders:write does not read');
    assert.equal((await call('GET', `/fhir/R4/ServiceRequest/${id}`, tokens.dicom)).statusCode, 403);
    const other = await call('GET', `/fhir/R4/ServiceRequest/${id}`, tokens.otherFacility);
    assert.equal(other.statusCode, 404, 'another facility\'s order does not exist for it');
    assert.deepEqual(outcome(other).codes, ['not-found']);
    assert.equal((await call('POST', '/fhir/R4/ServiceRequest', tokens.read, sampleServiceRequest())).statusCode, 403, 'orders:read does not write');
  });

  it('updates with PUT (200, new version), honours If-Match, and cancels with status revoked', async () => {
    const changed = sampleServiceRequest({ id, reasonCode: [{ text: '造影CTに変更' }], meta: { lastUpdated: '2024-06-03T09:20:00+09:00' } });
    const stale = await call('PUT', `/fhir/R4/ServiceRequest/${id}`, tokens.write, changed, { 'if-match': 'W/"7"' });
    assert.equal(stale.statusCode, 412);
    assert.deepEqual(outcome(stale).codes, ['conflict']);
    const res = await call('PUT', `/fhir/R4/ServiceRequest/${id}`, tokens.write, changed, { 'if-match': 'W/"1"' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, 'W/"2"');
    assert.equal((res.json() as ServiceRequest).reasonCode?.[0]?.text, '造影CTに変更');
    const revoked = await call('PUT', `/fhir/R4/ServiceRequest/${id}`, tokens.write, { ...changed, status: 'revoked', meta: { lastUpdated: '2024-06-03T09:25:00+09:00' } });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal((revoked.json() as ServiceRequest).status, 'revoked');
    const late = await call('PUT', `/fhir/R4/ServiceRequest/${id}`, tokens.write, { ...changed, reasonCode: [{ text: '再開' }], meta: { lastUpdated: '2024-06-03T09:30:00+09:00' } });
    assert.equal(late.statusCode, 409, 'a change of a cancelled order');
    assert.deepEqual(outcome(late).codes, ['conflict']);
  });

  it('refuses PUT of an unknown id (404), of another facility\'s order (404), and with a different id in the body (400)', async () => {
    assert.equal((await call('PUT', '/fhir/R4/ServiceRequest/00000000-0000-4000-8000-000000000000', tokens.write, sampleServiceRequest())).statusCode, 404);
    assert.equal((await call('PUT', `/fhir/R4/ServiceRequest/${id}`, tokens.otherFacility, sampleServiceRequest({ id }))).statusCode, 404);
    const res = await call('PUT', `/fhir/R4/ServiceRequest/${id}`, tokens.write, sampleServiceRequest({ id: 'other' }));
    assert.equal(res.statusCode, 400);
    assert.deepEqual(outcome(res).expressions, ['ServiceRequest.id']);
  });

  it('answers invalid input with OperationOutcome: 400 bad JSON or resource, 422 missing order data, 415 other media', async () => {
    const badJson = await call('POST', '/fhir/R4/ServiceRequest', tokens.write, '{"resourceType": "ServiceRequest",');
    assert.equal(badJson.statusCode, 400);
    assert.deepEqual(outcome(badJson).codes, ['structure']);
    const notSr = await call('POST', '/fhir/R4/ServiceRequest', tokens.write, { resourceType: 'Patient' });
    assert.equal(notSr.statusCode, 400);
    const missing = await call('POST', '/fhir/R4/ServiceRequest', tokens.write, sampleServiceRequest({ identifier: [], code: undefined as never }));
    assert.equal(missing.statusCode, 422);
    assert.deepEqual(outcome(missing), { codes: ['required', 'required'], expressions: ['ServiceRequest.identifier', 'ServiceRequest.code'] });
    const noPatientId = await call('POST', '/fhir/R4/ServiceRequest', tokens.write, sampleServiceRequest({ contained: [{ resourceType: 'Patient', id: 'p1', name: [{ text: '山田 太郎' }] }] }));
    assert.equal(noPatientId.statusCode, 422);
    assert.deepEqual(outcome(noPatientId).expressions, ['Patient.identifier']);
    const text = await app.inject({ method: 'POST', url: '/fhir/R4/ServiceRequest', headers: { authorization: `Bearer ${tokens.write}`, 'content-type': 'text/plain' }, payload: 'hello' });
    assert.equal(text.statusCode, 415);
    assert.deepEqual(outcome(text).codes, ['not-supported']);
  });

  it('takes a transaction Bundle with the ServiceRequest and its Patient entry', async () => {
    const sr = sampleServiceRequest({
      contained: [],
      identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] }, value: 'ORD-BUNDLE-1' }],
      subject: { reference: 'urn:uuid:3d7e0f8e-1d3c-4a7b-9a55-2f0c1c2b9e10' },
      requester: { display: '本田 まゆみ' },
      supportingInfo: [],
    });
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:3d7e0f8e-1d3c-4a7b-9a55-2f0c1c2b9e10', resource: { resourceType: 'Patient', identifier: [{ value: '00099999' }], name: [{ family: '日野', given: ['優子'] }], gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'urn:uuid:8a1c', resource: sr, request: { method: 'POST', url: 'ServiceRequest' } },
      ],
    };
    const res = await call('POST', '/fhir/R4', tokens.write, bundle);
    assert.equal(res.statusCode, 200, res.body);
    const answer = res.json() as Bundle;
    assert.equal(answer.type, 'transaction-response');
    assert.equal(answer.entry?.[0]?.response?.status, '201 Created');
    const created = answer.entry?.[0]?.resource as ServiceRequest;
    assert.equal(created.requester?.display, '本田 まゆみ');
    const row = await rt.db.kysely.selectFrom('orders').selectAll().where('id', '=', created.id!).executeTakeFirstOrThrow();
    const patient = await rt.db.kysely.selectFrom('patients').selectAll().where('id', '=', row.patient_ref).executeTakeFirstOrThrow();
    assert.equal(patient.patient_id, '00099999');
    assert.equal(patient.name_ideographic, '日野^優子');
  });
});
