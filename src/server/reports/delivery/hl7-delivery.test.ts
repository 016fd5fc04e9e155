/**
 * HL7 delivery end to end, against a real MLLP receiver on a TCP port (SQLite, or PostgreSQL
 * with ENKAKU_TEST_DATABASE_URL): the receiver gets the exact report once; while it is down
 * every attempt is recorded and the report arrives once it is back; AE is retried with the
 * same MSH-10, AR fails for good, silence times out; versions of a report arrive in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STRICT, freePort } from '../../../../test/helpers.ts';
import { auditOf, deliveryFixture, eventually, MllpTestReceiver, user } from './test-support.ts';

type Fixture = Awaited<ReturnType<typeof deliveryFixture>>;

describe('HL7 delivery to a real MLLP receiver', { concurrency: false }, () => {
  let f: Fixture;
  const admin = user('system-admin', null, 'admin');
  const receiver = new MllpTestReceiver();
  let endpointId: string;

  before(async () => {
    f = await deliveryFixture({ route: 'hl7', backoffMs: 100 });
    await receiver.start();
    endpointId = (await f.service.addEndpoint(admin, f.facilityId, {
      kind: 'hl7', name: '電子カルテ', host: '127.0.0.1', port: receiver.port, receivingApplication: 'EMR', receivingFacility: '1312345678', timeoutSeconds: 2,
    })).id;
    f.worker.start();
  });
  after(async () => {
    await f.cleanup();
    await receiver.stop();
  });

  const delivered = (versionId: string) => eventually(async () => {
    const [d] = await f.service.deliveriesOfVersion(admin, versionId);
    return d && (d.status === 'delivered' || d.status === 'failed') ? d : undefined;
  }, 20_000, `delivery of ${versionId}`);

  test('delivered: the receiver gets the exact report once, acknowledged AA; the attempt is recorded', async () => {
    receiver.answer = () => 'AA';
    const { doc } = await f.finalise({ versionId: 'rv-h-1' });
    const d = await delivered(doc.versionId);
    assert.equal(d.status, 'delivered');
    assert.equal(d.lastCode, 'AA');
    assert.deepEqual(d.attemptLog!.map((a) => [a.attempt, a.outcome, a.ackCode]), [[1, 'delivered', 'AA']]);
    const got = receiver.received.filter((r) => r.controlId === d.controlId);
    assert.equal(got.length, 1);
    const m = got[0]!.message;
    assert.equal(m.header.receivingApplication, 'EMR');
    assert.equal(m.header.receivingFacility, '1312345678');
    assert.equal(m.segments.find((s) => s.name === 'OBX' && s.get(3) === '18782-3')!.get(5), doc.sections.findings, 'Japanese text exact after ISO-2022-JP');
    assert.equal(m.segments.find((s) => s.name === 'OBR')!.get(20), doc.versionId);
    const job = await f.queue.byKey('report.deliver', `${doc.versionId}:${endpointId}`);
    assert.equal(job?.state, 'done');
    const audit = (await auditOf(f.rt, 'report.delivery.delivered')).filter((a) => a.object.id === doc.versionId);
    assert.equal(audit.length, 1);
    assert.ok(!JSON.stringify(audit).includes('山田'), 'no PHI in the audit details');
  });

  test('receiver down: attempts are recorded failing; once it is up again the report is delivered once', async () => {
    const port = await freePort();
    const down = new MllpTestReceiver();
    const e = await f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: '夜間停止するRIS', host: '127.0.0.1', port, timeoutSeconds: 2 });
    const { doc } = await f.finalise({ versionId: 'rv-h-down' });
    const [mine] = (await f.service.deliveriesOfVersion(admin, doc.versionId)).filter((x) => x.endpointId === e.id);
    await eventually(async () => {
      const v = await f.service.delivery(admin, mine!.id);
      return v.attemptLog!.filter((a) => a.outcome === 'retry').length >= 2 ? v : undefined;
    }, 20_000, 'two failed attempts');
    const failing = await f.service.delivery(admin, mine!.id);
    assert.equal(failing.status, 'pending');
    assert.match(failing.lastError ?? '', /connection failed: ECONNREFUSED/);
    const job = await f.queue.get(failing.jobId!);
    assert.match(job?.last_error ?? '', /ECONNREFUSED/, 'the job shows why (no PHI)');

    await down.start(port);
    try {
      const done = await eventually(async () => {
        const v = await f.service.delivery(admin, mine!.id);
        return v.status === 'delivered' ? v : undefined;
      }, 20_000, 'delivery after the receiver came back');
      assert.equal(down.received.length, 1, 'delivered once');
      assert.equal(down.applied.get(done.controlId!), 1);
      const outcomes = done.attemptLog!.map((a) => a.outcome);
      assert.equal(outcomes.at(-1), 'delivered');
      assert.ok(outcomes.slice(0, -1).every((o) => o === 'retry'));
      assert.deepEqual(done.attemptLog!.map((a) => a.attempt), outcomes.map((_, i) => i + 1), 'every attempt numbered and kept');
    } finally {
      await f.service.setEndpointActive(admin, e.id, false);
      await down.stop();
    }
  });

  test('AE is retried with the same MSH-10; AR fails for good and is audited', async () => {
    receiver.answer = (m) => (m.header.controlId === aeControl && receiver.received.filter((r) => r.controlId === aeControl).length === 1 ? 'AE' : 'AA');
    let aeControl = '';
    const first = await f.finalise({ versionId: 'rv-h-ae' });
    aeControl = (await f.service.deliveriesOfVersion(admin, first.doc.versionId))[0]!.controlId!;
    const ae = await delivered(first.doc.versionId);
    assert.equal(ae.status, 'delivered');
    assert.deepEqual(ae.attemptLog!.map((a) => [a.outcome, a.ackCode]), [['retry', 'AE'], ['delivered', 'AA']]);
    assert.match(ae.attemptLog![0]!.error!, /AE \(application error; retried\): .*ERR 206/);
    assert.ok(!ae.attemptLog![0]!.error!.includes('山田'), 'the receiver\'s Japanese text is not kept (it could name the patient)');
    assert.deepEqual([...new Set(receiver.received.filter((r) => r.controlId === aeControl).map((r) => r.controlId))], [aeControl]);

    receiver.answer = () => 'AR';
    const rejected = await f.finalise({ versionId: 'rv-h-ar' });
    const ar = await delivered(rejected.doc.versionId);
    assert.equal(ar.status, 'failed');
    assert.deepEqual(ar.attemptLog!.map((a) => [a.outcome, a.ackCode]), [['failed', 'AR']]);
    const job = await f.queue.get(ar.jobId!);
    assert.equal(job?.state, 'failed');
    assert.equal(job?.attempts, 1, 'AR is not retried');
    assert.equal((await auditOf(f.rt, 'report.delivery.failed')).filter((a) => a.object.id === 'rv-h-ar').length, 1);

    // The operator fixes the receiver and retries the job: delivered.
    receiver.answer = () => 'AA';
    await f.queue.retry(ar.jobId!);
    const retried = await eventually(async () => {
      const v = await f.service.delivery(admin, ar.id);
      return v.status === 'delivered' ? v : undefined;
    }, 20_000, 'delivery after the operator retry');
    assert.deepEqual(retried.attemptLog!.map((a) => a.outcome), ['failed', 'delivered']);
  });

  test('no acknowledgment within the timeout is retried', async () => {
    let silent = true;
    receiver.answer = () => (silent ? 'none' : 'AA');
    const { doc } = await f.finalise({ versionId: 'rv-h-silent' });
    const [d] = await f.service.deliveriesOfVersion(admin, doc.versionId);
    await eventually(async () => ((await f.service.delivery(admin, d!.id)).attemptLog!.some((a) => a.outcome === 'retry') ? true : undefined), 20_000, 'a timed-out attempt');
    silent = false;
    const done = await delivered(doc.versionId);
    assert.equal(done.status, 'delivered');
    assert.match(done.attemptLog![0]!.error!, /no acknowledgment within 2 s/);
  });

  test('versions of one report arrive in order: a correction waits for its original', async () => {
    const order: string[] = [];
    let holdOriginal = true;
    receiver.answer = (m) => {
      const v = m.segments.find((s) => s.name === 'OBR')!.get(20)!;
      if (v === 'rv-h-ord-1' && holdOriginal) return 'AE';
      order.push(v);
      return 'AA';
    };
    await f.finalise({ versionId: 'rv-h-ord-1', reportId: 'rpt-ord', version: 1 });
    await f.finalise({ versionId: 'rv-h-ord-2', reportId: 'rpt-ord', version: 2, kind: 'correction', reason: '訂正' });
    const corr = await eventually(async () => {
      const [d] = await f.service.deliveriesOfVersion(admin, 'rv-h-ord-2');
      return d!.attemptLog!.some((a) => a.outcome === 'deferred') ? d : undefined;
    }, 20_000, 'the correction deferred');
    assert.match(corr!.attemptLog!.find((a) => a.outcome === 'deferred')!.error!, /waiting until version 1/);
    holdOriginal = false;
    await delivered('rv-h-ord-1');
    await delivered('rv-h-ord-2');
    assert.deepEqual(order, ['rv-h-ord-1', 'rv-h-ord-2']);
  });

  test('MLLP over TLS: delivered when the receiver\'s certificate is trusted; an untrusted one is retried, never sent in clear', async (t) => {
    if (spawnSync('openssl', ['version']).status !== 0) {
      if (STRICT) throw new Error('strict mode: openssl not installed');
      t.skip('openssl not installed (apt-get install openssl)');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-delivery-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const secure = new MllpTestReceiver();
    await secure.start(0, { cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
    const trusted = await f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: 'RIS (TLS)', host: '127.0.0.1', port: secure.port, tls: true, tlsCa: cert, timeoutSeconds: 2 });
    const untrusted = await f.service.addEndpoint(admin, f.facilityId, { kind: 'hl7', name: 'RIS (TLS, CA unknown)', host: '127.0.0.1', port: secure.port, tls: true, timeoutSeconds: 2 });
    try {
      receiver.answer = () => 'AA';
      const { doc } = await f.finalise({ versionId: 'rv-h-tls' });
      const all = await f.service.deliveriesOfVersion(admin, doc.versionId);
      const ok = await eventually(async () => {
        const v = await f.service.delivery(admin, all.find((d) => d.endpointId === trusted.id)!.id);
        return v.status === 'delivered' ? v : undefined;
      }, 20_000, 'delivery over TLS');
      assert.equal(secure.applied.get(ok.controlId!), 1);
      const bad = await eventually(async () => {
        const v = await f.service.delivery(admin, all.find((d) => d.endpointId === untrusted.id)!.id);
        return v.attemptLog!.some((a) => a.outcome === 'retry') ? v : undefined;
      }, 20_000, 'a refused TLS attempt');
      assert.match(bad.lastError ?? '', /certificate/i);
      assert.equal(secure.received.filter((r) => r.controlId === bad.controlId).length, 0, 'nothing reached the receiver');
    } finally {
      await f.service.setEndpointActive(admin, trusted.id, false);
      await f.service.setEndpointActive(admin, untrusted.id, false);
      await secure.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
