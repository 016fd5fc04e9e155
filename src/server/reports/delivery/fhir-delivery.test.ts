/**
 * FHIR delivery end to end against a FHIR server on a local HTTP port (SQLite, or PostgreSQL
 * with ENKAKU_TEST_DATABASE_URL): the transaction Bundle with the bearer token, 5xx retried,
 * other 4xx failed for good, the receiver's diagnostics kept without PHI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle, DiagnosticReport } from '@medplum/fhirtypes';
import { deliveryFixture, eventually, fakePdf, FhirTestServer, user } from './test-support.ts';

type Fixture = Awaited<ReturnType<typeof deliveryFixture>>;

describe('FHIR delivery to a local FHIR server', { concurrency: false }, () => {
  let f: Fixture;
  const admin = user('system-admin', null, 'admin');
  const server = new FhirTestServer();

  before(async () => {
    f = await deliveryFixture({ route: 'fhir', backoffMs: 100 });
    const baseUrl = await server.start();
    await f.service.addEndpoint(admin, f.facilityId, { kind: 'fhir', name: 'FHIRサーバ', baseUrl, token: 'tok-abc', patientIdSystem: 'urn:oid:1.2.392.100495.20.3.51.11312345678', timeoutSeconds: 2 });
    f.worker.start();
  });
  after(async () => {
    await f.cleanup();
    await server.stop();
  });

  const settled = (versionId: string) => eventually(async () => {
    const [d] = await f.service.deliveriesOfVersion(admin, versionId);
    return d && (d.status === 'delivered' || d.status === 'failed') ? d : undefined;
  }, 20_000, `delivery of ${versionId}`);

  test('the report arrives as a transaction Bundle with the signed PDF, authenticated with the sealed token', async () => {
    server.status = () => 200;
    const { doc } = await f.finalise({ versionId: 'rv-f-1' });
    const d = await settled(doc.versionId);
    assert.equal(d.status, 'delivered');
    assert.deepEqual(d.attemptLog!.map((a) => [a.outcome, a.httpStatus]), [['delivered', 200]]);
    const req = server.requests.at(-1)!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/fhir/R4');
    assert.equal(req.authorization, 'Bearer tok-abc');
    assert.match(req.contentType ?? '', /^application\/fhir\+json/);
    const bundle = req.body as Bundle;
    assert.equal(bundle.type, 'transaction');
    const report = bundle.entry!.find((e) => e.resource?.resourceType === 'DiagnosticReport')!.resource as DiagnosticReport;
    assert.equal(report.identifier![0]!.value, doc.versionId);
    assert.deepEqual(Buffer.from(report.presentedForm![0]!.data!, 'base64'), fakePdf(doc.versionId));
    const patientEntry = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!;
    assert.match(patientEntry.request!.ifNoneExist!, /^identifier=urn%3Aoid%3A1\.2\.392\.100495\.20\.3\.51\.11312345678%7C00012345$/);
  });

  test('503 is retried and the same Bundle is sent again; 400 fails for good', async () => {
    let calls = 0;
    server.status = () => (++calls === 1 ? 503 : 200);
    const before = server.requests.length;
    const { doc } = await f.finalise({ versionId: 'rv-f-503' });
    const d = await settled(doc.versionId);
    assert.equal(d.status, 'delivered');
    assert.deepEqual(d.attemptLog!.map((a) => [a.outcome, a.httpStatus]), [['retry', 503], ['delivered', 200]]);
    assert.match(d.attemptLog![0]!.error!, /HTTP 503 \(retried\): processing: \?/);
    assert.ok(!d.attemptLog![0]!.error!.includes('山田'));
    const sent = server.requests.slice(before);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]!.body, sent[1]!.body, 're-sent identically (conditional writes make it idempotent)');

    server.status = () => 400;
    const bad = await f.finalise({ versionId: 'rv-f-400' });
    const failed = await settled(bad.doc.versionId);
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.attemptLog!.map((a) => [a.outcome, a.httpStatus]), [['failed', 400]]);
    assert.equal((await f.queue.get(failed.jobId!))?.state, 'failed');
  });
});
