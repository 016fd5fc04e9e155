/**
 * Report delivery as administrators, readers and facility systems meet it (SQLite, or
 * PostgreSQL with ENKAKU_TEST_DATABASE_URL): endpoints registered per facility (plain text off
 * loopback refused, tokens sealed), deliveries queued in the finalising transaction by the
 * contract's route, the manual route with two people, and read confirmations over FHIR and HL7.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Hl7Builder, MllpClient, MllpServer, encodeHl7, parseHl7Bytes } from '../../interop/hl7/index.ts';
import { isReadConfirmation } from '../../interop/hl7/oru.ts';
import { READ_CONFIRMATION_CATEGORY, REPORT_VERSION_SYSTEM } from '../../interop/fhir/diagnostic-report.ts';
import type { Actor } from '../../platform/context.ts';
import { AppError, httpStatusOf } from '../../platform/errors.ts';
import { answerHl7ReadConfirmation, deliveryFhirPlugin, registerDeliveryRoutes, type ReadConfirmation } from './index.ts';
import { auditOf, contractTerms, deliveryFixture, user } from './test-support.ts';

type Fixture = Awaited<ReturnType<typeof deliveryFixture>>;

describe('report delivery service', { concurrency: false }, () => {
  let f: Fixture;
  let otherFacility: string;
  const admin = user('system-admin', null, 'admin');

  before(async () => {
    f = await deliveryFixture({ route: 'hl7' });
    otherFacility = (await f.rt.facilities.add({ kind: 'system', name: 'test' }, { name: '別病院', aets: [] })).id;
  });
  after(() => f.cleanup());

  test('endpoints: facility administrators register their own; plain text off loopback is refused unless allowed; tokens are sealed', async () => {
    const mine = user('facility-admin', f.facilityId, 'fadmin');
    const theirs = user('facility-admin', otherFacility, 'other-admin');
    const hl7 = await f.service.addEndpoint(mine, f.facilityId, { kind: 'hl7', name: '電子カルテ', host: '127.0.0.1', port: 2575, receivingApplication: 'EMR', receivingFacility: 'YAMADA' });
    assert.equal(hl7.active, true);
    assert.equal(hl7.charset, 'iso-2022-jp');
    await assert.rejects(f.service.addEndpoint(theirs, f.facilityId, { kind: 'hl7', name: 'x', host: '127.0.0.1', port: 1 }), { code: 'forbidden' });
    await assert.rejects(f.service.addEndpoint(user('radiologist', null), f.facilityId, { kind: 'hl7', name: 'x', host: '127.0.0.1', port: 1 }), { code: 'forbidden' });
    await assert.rejects(f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: 'RIS', host: '10.1.2.3', port: 2575 }), /refusing plain MLLP to 10\.1\.2\.3/);
    const vpn = await f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: 'RIS (VPN)', host: '10.1.2.3', port: 2575, allowPlain: true });
    assert.equal(vpn.allowPlain, true);
    const tls = await f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: 'RIS (TLS)', host: 'ris.example.jp', port: 2576, tls: true });
    assert.equal(tls.tls, true);
    await assert.rejects(f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: '電子カルテ', host: '127.0.0.1', port: 2575 }), { code: 'conflict' });
    await assert.rejects(f.service.addEndpoint(admin, f.facilityId, { kind: 'fhir', name: 'FHIR', baseUrl: 'http://emr.example.jp/fhir/R4' }), /refusing plain http/);
    await assert.rejects(f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: 'bad', host: '127.0.0.1', port: 2575, receivingFacility: 'A|B' }), /HL7 delimiters/);
    const fhir = await f.service.addEndpoint(admin, f.facilityId, { kind: 'fhir', name: 'FHIR', baseUrl: 'https://emr.example.jp/fhir/R4/', token: 'secret-token-123' });
    assert.equal(fhir.baseUrl, 'https://emr.example.jp/fhir/R4');
    assert.equal(fhir.hasToken, true);
    assert.ok(!JSON.stringify(fhir).includes('secret-token-123'));
    const row = await f.rt.db.kysely.selectFrom('delivery_endpoints').selectAll().where('id', '=', fhir.id).executeTakeFirstOrThrow();
    assert.ok(row.auth_token_sealed && !row.auth_token_sealed.includes('secret-token-123'), 'the token is sealed at rest');

    const listed = await f.service.endpoints(mine, f.facilityId);
    assert.deepEqual(listed.map((e) => e.name).sort(), ['電子カルテ', 'RIS (VPN)', 'RIS (TLS)', 'FHIR'].sort());
    await assert.rejects(f.service.endpoints(theirs, f.facilityId), { code: 'forbidden' });
    for (const e of listed.filter((x) => x.name !== '電子カルテ')) await f.service.setEndpointActive(admin, e.id, false);
    const audits = await auditOf(f.rt, 'report.delivery-endpoint.add');
    assert.equal(audits.length, 4);
    assert.ok(!JSON.stringify(audits).includes('secret-token-123'));
    assert.equal((await auditOf(f.rt, 'report.delivery-endpoint.retire')).length, 3);
  });

  test('finalising queues one job per active endpoint of the contract route, once, in the caller\'s transaction', async () => {
    const { doc, queued } = await f.finalise({ versionId: 'rv-q-1' });
    assert.equal(queued.length, 1, 'retired endpoints get nothing');
    assert.equal(queued[0]!.route, 'hl7');
    const job = await f.queue.byKey('report.deliver', `${doc.versionId}:${queued[0]!.endpointId}`);
    assert.ok(job, 'job report.deliver:<versionId>:<endpointId>');
    assert.equal(job.max_attempts, 100);
    assert.ok(!/山田|00012345/.test(job.payload), 'no PHI in the job');
    const again = await f.rt.db.kysely.transaction().execute((trx) => f.service.enqueueDeliveries(trx, { facilityId: f.facilityId, versionId: doc.versionId }));
    assert.equal(again[0]!.created, false);
    assert.equal(again[0]!.deliveryId, queued[0]!.deliveryId);
    assert.equal((await auditOf(f.rt, 'report.delivery.queue')).filter((a) => a.object.id === doc.versionId).length, 1);

    await assert.rejects(f.rt.db.kysely.transaction().execute(async (trx) => {
      await f.service.enqueueDeliveries(trx, { facilityId: f.facilityId, versionId: 'rv-rolled-back' });
      throw new Error('finalisation failed');
    }));
    assert.equal(await f.queue.byKey('report.deliver', `rv-rolled-back:${queued[0]!.endpointId}`), undefined);
    assert.deepEqual(await f.service.deliveriesOfVersion(admin, 'rv-rolled-back'), []);

    const views = await f.service.deliveriesOfVersion(user('radiologist', null), doc.versionId);
    assert.equal(views[0]!.status, 'pending');
    assert.equal(views[0]!.endpointName, '電子カルテ');
    assert.match(views[0]!.controlId!, /^ENK[0-9A-F]{17}$/);
    assert.deepEqual(await f.service.deliveriesOfVersion(user('attending-physician', otherFacility), doc.versionId), []);
  });

  test('a route without an active endpoint, and the manual route, leave a manual task naming the confirmer', async () => {
    await f.rt.contracts.set(admin, f.facilityId, contractTerms('fhir'));
    const none = await f.finalise({ versionId: 'rv-no-endpoint' });
    // The facility's HL7 endpoint still receives the version; the missing FHIR route becomes a task.
    assert.deepEqual(none.queued.map((q) => q.route).sort(), ['hl7', 'manual']);
    const v = await f.service.delivery(admin, none.queued.find((q) => q.route === 'manual')!.deliveryId);
    assert.equal(v.manual?.reason, 'no-endpoint');

    await f.rt.contracts.set(admin, f.facilityId, contractTerms('manual', '依頼医'));
    const m = await f.finalise({ versionId: 'rv-manual' });
    const task = await f.service.delivery(admin, m.queued[0]!.deliveryId);
    assert.equal(task.route, 'manual');
    assert.equal(task.status, 'awaiting-transcription');
    assert.deepEqual(task.manual, { reason: 'contract', confirmerRole: '依頼医', transcribedBy: null, confirmedBy: null });
  });

  test('manual route: one person transcribes, another confirms; both recorded and audited', async () => {
    const m = await f.finalise({ versionId: 'rv-manual-2' });
    const id = m.queued[0]!.deliveryId;
    const transcriber = user('transcriptionist', null, 'kato');
    const attending = user('attending-physician', f.facilityId, 'sato');
    await assert.rejects(f.service.recordTranscription(user('attending-physician', otherFacility, 'outsider'), id), { code: 'forbidden' });
    await assert.rejects(f.service.confirmTranscription(attending, id), { code: 'conflict' }, 'nothing to confirm before transcription');
    const pdf = await f.service.manualPdf(transcriber, id);
    assert.ok(pdf.pdf.subarray(0, 5).equals(Buffer.from('%PDF-')));
    const t = await f.service.recordTranscription(transcriber, id);
    assert.equal(t.status, 'transcribed');
    await assert.rejects(f.service.confirmTranscription(transcriber, id), /another person/);
    const c = await f.service.confirmTranscription(attending, id);
    assert.equal(c.status, 'confirmed');
    assert.equal(c.manual?.transcribedBy?.userId, 'u-kato');
    assert.equal(c.manual?.confirmedBy?.userId, 'u-sato');
    assert.ok(c.deliveredAt);
    await assert.rejects(f.service.confirmTranscription(user('facility-admin', f.facilityId), id), { code: 'conflict' });
    const confirmed = (await auditOf(f.rt, 'report.delivery.confirmed')).find((a) => a.object.id === 'rv-manual-2')!;
    assert.equal(confirmed.actor.id, 'u-sato');
    assert.equal(confirmed.details.confirmerRole, '依頼医');
    assert.equal(confirmed.details.transcribedBy, 'u-kato');
    assert.equal((await auditOf(f.rt, 'report.delivery.transcribed')).filter((a) => a.object.id === 'rv-manual-2').length, 1);
    assert.equal((await auditOf(f.rt, 'report.pdf.view')).filter((a) => a.object.id === 'rv-manual-2').length, 1);
    const awaiting = await f.service.list(attending, { status: 'awaiting-transcription' });
    assert.ok(awaiting.every((d) => d.facilityId === f.facilityId && d.route === 'manual'));
  });

  test('read confirmation over FHIR: POST /fhir/R4/Communication from the facility\'s token reaches the callback', async () => {
    const calls: ReadConfirmation[] = [];
    const app = Fastify();
    const token = (facilityId: string): Extract<Actor, { kind: 'token' }> => ({ kind: 'token', facilityId, tokenId: `t-${facilityId}`, scopes: ['orders:write'], address: '127.0.0.1' });
    let caller = f.facilityId;
    await app.register(deliveryFhirPlugin, { prefix: '/fhir/R4', service: f.service, authenticate: async () => token(caller) });
    const body = (versionId: string) => ({
      resourceType: 'Communication', status: 'completed', category: [{ coding: [{ ...READ_CONFIRMATION_CATEGORY }] }],
      about: [{ identifier: { system: REPORT_VERSION_SYSTEM, value: versionId } }], sender: { display: '佐藤 花子' }, sent: '2026-11-21T08:30:00+09:00',
    });
    const post = (b: unknown) => app.inject({ method: 'POST', url: '/fhir/R4/Communication', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(b) });

    const early = await post(body('rv-manual'));
    assert.equal(early.statusCode, 503, 'no callback registered yet');
    f.service.onReadConfirmation(async (c) => void calls.push(c));
    const ok = await post(body('rv-manual'));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(calls, [{ versionId: 'rv-manual', by: '佐藤 花子', at: '2026-11-20T23:30:00.000Z', source: 'fhir' }]);
    const unknown = await post(body('rv-nope'));
    assert.equal(unknown.statusCode, 404);
    assert.equal(JSON.parse(unknown.body).resourceType, 'OperationOutcome');
    caller = otherFacility;
    assert.equal((await post(body('rv-manual'))).statusCode, 404, 'another facility cannot confirm this facility\'s report');
    caller = f.facilityId;
    const invalid = await post({ resourceType: 'Communication', status: 'completed' });
    assert.equal(invalid.statusCode, 422);
    assert.equal(calls.length, 1);
    assert.equal((await auditOf(f.rt, 'report.read-confirmation.receive')).length, 1);
    await app.close();
  });

  test('read confirmation over HL7: ORU^ZR1 over MLLP is answered ACK^ZR1 AA and reaches the callback; an unknown version gets AE 204', async () => {
    const calls: ReadConfirmation[] = [];
    f.service.onReadConfirmation(async (c) => void calls.push(c));
    const device: Actor = { kind: 'device', facilityId: f.facilityId, aet: 'HL7 EMR', address: '127.0.0.1' };
    // The listener's part: decode, check the sender, hand ORU^ZR1 to the delivery module.
    const server = new MllpServer({
      handler: async (bytes) => {
        const { message } = parseHl7Bytes(bytes);
        assert.ok(isReadConfirmation(message));
        return (await answerHl7ReadConfirmation(f.service, device, f.facilityId, message)).reply;
      },
    });
    const address = await server.listen(0);
    const client = new MllpClient({ host: '127.0.0.1', port: address.port, timeoutMs: 5000 });
    const confirmation = (versionId: string, controlId: string): Buffer => {
      const b = new Hl7Builder().msh({ sendingApplication: 'EMR', sendingFacility: 'YAMADA', receivingApplication: 'ENKAKU', dateTime: '20261121090000', messageType: { code: 'ORU', trigger: 'ZR1', structure: 'ORU_R01' }, controlId, countryCode: 'JPN', characterSet: ['', 'ISO IR87'], alternateCharacterSetHandling: 'ISO 2022-1994' });
      b.segment('PID', '1', undefined, ['00012345', undefined, undefined, undefined, 'PI']);
      b.segment('OBR', '1', 'P-778812', 'F-778812', undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, versionId);
      b.segment('OBX', '1', 'CWE', ['READ', '参照確認', '99ENK'], undefined, ['Y'], undefined, undefined, undefined, undefined, undefined, 'F', undefined, undefined, '20261121083000', undefined, ['D0012', '佐藤', '花子']);
      return encodeHl7(b.toString(), ['', 'ISO IR87']);
    };
    try {
      const ack = parseHl7Bytes(await client.send(confirmation('rv-manual', 'RC1'))).message;
      assert.deepEqual(ack.header.messageType, { code: 'ACK', trigger: 'ZR1', structure: 'ACK' });
      const msa = ack.segments.find((s) => s.name === 'MSA')!;
      assert.deepEqual([msa.get(1), msa.get(2)], ['AA', 'RC1']);
      assert.deepEqual(calls, [{ versionId: 'rv-manual', by: '佐藤 花子 (D0012)', at: '2026-11-20T23:30:00.000Z', source: 'hl7' }]);

      const unknown = parseHl7Bytes(await client.send(confirmation('rv-nope', 'RC2'))).message;
      assert.equal(unknown.segments.find((s) => s.name === 'MSA')!.get(1), 'AE');
      assert.equal(unknown.segments.find((s) => s.name === 'ERR')!.get(3, 1), '204');
      assert.equal(calls.length, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('the /api routes authenticate only; the service decides (endpoints, deliveries with attempts, manual steps, PDF)', async () => {
    const app = Fastify();
    app.setErrorHandler(async (err, _req, reply) => {
      if (err instanceof AppError) return reply.code(httpStatusOf(err.code)).send({ error: err.code, message: err.message });
      return reply.code(500).send({ error: 'internal' });
    });
    const people: Record<string, Actor> = {
      admin: user('facility-admin', f.facilityId, 'api-admin'),
      other: user('facility-admin', otherFacility, 'api-other'),
      kato: user('transcriptionist', null, 'api-kato'),
      sato: user('attending-physician', f.facilityId, 'api-sato'),
    };
    registerDeliveryRoutes(app as never, f.service, (req) => people[String(req.headers['x-test-user'])]!);
    const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app.inject({ method, url, headers: { 'x-test-user': who }, ...(payload ? { payload: payload as Record<string, unknown> } : {}) });

    const created = await call('admin', 'POST', `/api/facilities/${f.facilityId}/delivery-endpoints`, { kind: 'hl7', name: 'API登録', host: 'localhost', port: 2580 });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((await call('other', 'GET', `/api/facilities/${f.facilityId}/delivery-endpoints`)).statusCode, 403);
    const listed = await call('admin', 'GET', `/api/facilities/${f.facilityId}/delivery-endpoints`);
    assert.ok(listed.json().some((e: { name: string }) => e.name === 'API登録'));
    assert.equal((await call('admin', 'POST', `/api/delivery-endpoints/${created.json().id}/retire`)).json().active, false);

    const m = await f.finalise({ versionId: 'rv-api' });
    const id = m.queued[0]!.deliveryId;
    const pdf = await call('kato', 'GET', `/api/deliveries/${id}/pdf`);
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal((await call('kato', 'POST', `/api/deliveries/${id}/transcribed`)).json().status, 'transcribed');
    assert.equal((await call('kato', 'POST', `/api/deliveries/${id}/confirmed`)).statusCode, 403);
    assert.equal((await call('sato', 'POST', `/api/deliveries/${id}/confirmed`)).json().status, 'confirmed');
    const byVersion = await call('sato', 'GET', '/api/report-versions/rv-api/deliveries');
    assert.equal(byVersion.json()[0].manual.confirmedBy.userId, 'u-api-sato');
    assert.equal((await call('other', 'GET', `/api/deliveries/${id}`)).statusCode, 404, 'another facility\'s delivery does not exist for them');
    assert.equal((await call('admin', 'GET', '/api/deliveries?status=confirmed&limit=5')).json()[0].id, id);
    await app.close();
  });
});
