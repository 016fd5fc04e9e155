/**
 * Reports through HTTP: a physician claims a study, writes the draft (saved continuously,
 * stale saves refused), finalises it with the second factor and gets a signed PDF; a
 * transcriptionist drafts for a named physician but cannot finalise; an unqualified
 * physician cannot sign; a final report is never changed in place and an addendum keeps
 * both versions; the attending physician confirms reading, and only at their facility.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { generate } from 'otplib';
import { buildApp } from '../app.ts';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import type { ReportView, StudyReportingView, UnconfirmedReportView } from '../../shared/reports.ts';
import type { WorklistPage } from '../../shared/worklist.ts';
import { newUid } from '../archive/dicom/synthetic.ts';
import { OP, PASSWORD, call, phantomCt, stow, type TestUser } from '../reading/test-support.ts';

interface Physician extends TestUser {
  secret: string;
}

const SECTIONS = {
  clinicalInformation: '咳嗽が続く。',
  technique: '胸部単純CT。',
  comparison: '比較対象なし。',
  findings: '右上葉に径12mmの結節を認める。',
  impression: '右上葉結節。精査を推奨。',
};

describe('reports: drafts, finalising with signature, versions, confirmation', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let facilityA: string;
  let reader: Physician;
  let uncertified: Physician;
  let scribe: TestUser;
  let attendingA: TestUser;
  let attendingB: TestUser;
  const study = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-REPORT' };
  const study2 = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-REPORT2' };

  let registered = 0;

  /** Signs in with TOTP and keeps the secret, so that signing can be re-authenticated. */
  async function physician(username: string, role: string, facilityId: string | null, certified: boolean): Promise<Physician> {
    const id = await rt.accounts.create(OP, { username, displayName: `${username} 医師`, password: PASSWORD, grants: [{ role, facilityId }], mustChangePassword: false });
    await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
    const client = { address: '127.0.0.1', userAgent: 'test' };
    const first = await rt.auth.login(username, PASSWORD, client);
    let secret = '';
    let cookie = first.cookie;
    if (first.response.status === 'mfa-enrolment-required') {
      secret = first.response.enrolment.secret;
      ({ cookie } = await rt.auth.secondFactor(first.cookie, await generate({ secret }), client));
    } else assert.ok(!certified, 'physicians enrol a second factor at their first login');
    const info = (await rt.auth.session(cookie, client))!;
    await rt.credentials.recordLicence(OP, id, { kind: 'jp-medical', number: String(100000 + ++registered), country: 'JP', evidence: '医籍登録 確認済み' });
    if (certified) await rt.credentials.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: `C-${username}`, issuedOn: '2020-04-01', expiresOn: '2099-03-31', evidence: '専門医証' });
    return { id, cookie, csrf: info.csrfToken, secret };
  }

  async function simpleUser(username: string, role: string, facilityId: string | null): Promise<TestUser> {
    const p = await physician(username, role, facilityId, false);
    return p;
  }

  /** A fresh code: the last used time step is forgotten so each signing gets its own code. */
  async function totp(p: Physician): Promise<string> {
    await rt.accounts.repo.updateUser(p.id, { totp_last_step: null });
    return generate({ secret: p.secret });
  }

  async function itemOf(user: TestUser, studyUid: string) {
    const page = (await call(app, user, 'GET', '/api/worklist?status=all')).json() as WorklistPage;
    const item = page.items.find((i) => i.studyUid === studyUid);
    assert.ok(item, 'the study is on the worklist');
    return item;
  }

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    facilityA = (await rt.facilities.add(OP, { name: '山田記念病院', aets: ['A'] })).id;
    const facilityB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
    const token = (await rt.tokens.create(OP, { facilityId: facilityA, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    await stow(app, token, [phantomCt(study).bytes, phantomCt(study2).bytes]);
    reader = await physician('reader', 'radiologist', null, true);
    uncertified = await physician('junior', 'radiologist', null, false);
    scribe = await simpleUser('scribe', 'transcriptionist', null);
    attendingA = await simpleUser('attending-a', 'attending-physician', facilityA);
    attendingB = await simpleUser('attending-b', 'attending-physician', facilityB);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  let report: ReportView;

  test('a physician must hold the claim before starting the report', async () => {
    const refused = await call(app, reader, 'POST', `/api/studies/${study.studyUid}/report`, { templateId: 'tpl-ct-chest' });
    assert.equal(refused.statusCode, 409, refused.body);
    const item = await itemOf(reader, study.studyUid);
    assert.equal((await call(app, reader, 'POST', `/api/worklist/${item.id}/claim`)).statusCode, 200);
    const started = await call(app, reader, 'POST', `/api/studies/${study.studyUid}/report`, { templateId: 'tpl-ct-chest', location: 'home' });
    assert.equal(started.statusCode, 201, started.body);
    report = started.json() as ReportView;
    assert.equal(report.status, 'draft');
    assert.match(report.sections.findings, /肺野/, 'the chest CT template fills the findings section');
    assert.equal((await itemOf(reader, study.studyUid)).status, 'draft');
  });

  test('drafts are saved continuously, and a save from a stale revision is refused', async () => {
    const saved = await call(app, reader, 'PUT', `/api/reports/${report.id}/draft`, { revision: report.revision, sections: SECTIONS, location: 'home' });
    assert.equal(saved.statusCode, 200, saved.body);
    const next = saved.json() as ReportView;
    assert.equal(next.revision, report.revision + 1);
    assert.equal(next.sections.findings, SECTIONS.findings);
    const stale = await call(app, reader, 'PUT', `/api/reports/${report.id}/draft`, { revision: report.revision, sections: { ...SECTIONS, findings: '上書き' } });
    assert.equal(stale.statusCode, 409);
    const bad = await call(app, reader, 'PUT', `/api/reports/${report.id}/draft`, { revision: next.revision, sections: { ...SECTIONS, findings: 42 } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /sections\.findings/);
    report = next;
  });

  test('a wrong second factor signs nothing', async () => {
    const res = await call(app, reader, 'POST', `/api/reports/${report.id}/finalise`, { totp: '000000', revision: report.revision, location: 'home' });
    assert.equal(res.statusCode, 403, res.body);
    const view = (await call(app, reader, 'GET', `/api/studies/${study.studyUid}/report`)).json() as StudyReportingView;
    assert.equal(view.report?.status, 'draft');
    assert.equal(view.report?.versions.length, 0);
  });

  test('finalising with the second factor signs a PDF and moves the worklist item to final', async () => {
    const res = await call(app, reader, 'POST', `/api/reports/${report.id}/finalise`, { totp: await totp(reader), revision: report.revision, location: 'home' });
    assert.equal(res.statusCode, 200, res.body);
    report = res.json() as ReportView;
    assert.equal(report.status, 'final');
    assert.equal(report.versions.length, 1);
    const v1 = report.versions[0]!;
    assert.equal(v1.kind, 'final');
    assert.ok(v1.timestamp.time && v1.timestamp.tsa, 'the version carries its timestamp');
    const pdf = await call(app, reader, 'GET', `/api/report-versions/${v1.id}/pdf`);
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal(pdf.headers['cache-control'], 'no-store');
    assert.equal(pdf.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.match(pdf.rawPayload.toString('latin1'), /\/ByteRange/);
    assert.equal((await itemOf(reader, study.studyUid)).status, 'final');
  });

  test('a final report is never changed in place; an addendum is a new signed version and both stay readable', async () => {
    const edit = await call(app, reader, 'PUT', `/api/reports/${report.id}/draft`, { revision: report.revision, sections: { ...SECTIONS, impression: '書き換え' } });
    assert.equal(edit.statusCode, 409);
    const noReason = await call(app, reader, 'POST', `/api/reports/${report.id}/amend`, { kind: 'addendum', reason: '', sections: { ...SECTIONS }, totp: '123456', location: 'home' });
    assert.equal(noReason.statusCode, 400);
    const added = { clinicalInformation: '', technique: '', comparison: '', findings: '', impression: '造影CTを追加で推奨。' };
    const res = await call(app, reader, 'POST', `/api/reports/${report.id}/amend`, { kind: 'addendum', reason: '推奨検査の追記', sections: added, totp: await totp(reader), location: 'on-site' });
    assert.equal(res.statusCode, 200, res.body);
    const amended = res.json() as ReportView;
    assert.deepEqual(amended.versions.map((v) => [v.version, v.kind]), [
      [1, 'final'],
      [2, 'addendum'],
    ]);
    assert.equal(amended.versions[0]!.sections.impression, SECTIONS.impression, 'version 1 is unchanged');
    assert.match(amended.versions[1]!.sections.impression, /右上葉結節。精査を推奨。\n\n【追記 \d{4}-\d{2}-\d{2}】\n造影CTを追加で推奨。/);
    assert.equal(amended.versions[1]!.reason, '推奨検査の追記');
    for (const v of amended.versions) assert.equal((await call(app, reader, 'GET', `/api/report-versions/${v.id}/pdf`)).statusCode, 200);
    report = amended;
  });

  test('a transcriptionist drafts for a named physician but cannot finalise; the physician can', async () => {
    const started = await call(app, scribe, 'POST', `/api/studies/${study2.studyUid}/report`, { physicianId: reader.id, templateId: 'tpl-generic' });
    assert.equal(started.statusCode, 201, started.body);
    const draft = started.json() as ReportView;
    assert.equal(draft.physician.id, reader.id);
    const saved = (await call(app, scribe, 'PUT', `/api/reports/${draft.id}/draft`, { revision: draft.revision, sections: SECTIONS })).json() as ReportView;
    const refused = await call(app, scribe, 'POST', `/api/reports/${draft.id}/finalise`, { totp: '123456', revision: saved.revision, location: 'on-site' });
    assert.equal(refused.statusCode, 403);
    const other = await call(app, uncertified, 'POST', `/api/reports/${draft.id}/finalise`, { totp: await totp(uncertified), revision: saved.revision, location: 'on-site' });
    assert.equal(other.statusCode, 403, 'only the named physician finalises');
    const ok = await call(app, reader, 'POST', `/api/reports/${draft.id}/finalise`, { totp: await totp(reader), revision: saved.revision, location: 'on-site' });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('a physician without a certification covering the study cannot sign', async () => {
    const s3 = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-REPORT3' };
    const token = (await rt.tokens.create(OP, { facilityId: facilityA, name: 'pacs2', scopes: ['dicomweb:write'] })).token;
    await stow(app, token, [phantomCt(s3).bytes]);
    const item = await itemOf(uncertified, s3.studyUid);
    const claim = await call(app, uncertified, 'POST', `/api/worklist/${item.id}/claim`);
    assert.equal(claim.statusCode, 403, 'an uncertified physician may not even claim the study');
    const draft = (await call(app, scribe, 'POST', `/api/studies/${s3.studyUid}/report`, { physicianId: uncertified.id })).json();
    assert.match(String(draft.message), /certification/);
  });

  test('the attending physician confirms reading, only at their own facility', async () => {
    const list = (await call(app, attendingA, 'GET', '/api/reports/unconfirmed')).json() as UnconfirmedReportView[];
    const v2 = report.versions[1]!;
    assert.ok(list.some((x) => x.versionId === v2.id));
    assert.equal((await call(app, attendingB, 'POST', `/api/report-versions/${v2.id}/confirm`)).statusCode, 404);
    assert.equal((await call(app, reader, 'POST', `/api/report-versions/${v2.id}/confirm`)).statusCode, 403);
    const ok = await call(app, attendingA, 'POST', `/api/report-versions/${v2.id}/confirm`);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().readConfirmation.source, 'web');
    const after = (await call(app, reader, 'GET', '/api/reports/unconfirmed')).json() as UnconfirmedReportView[];
    assert.ok(!after.some((x) => x.versionId === v2.id), 'a confirmed version leaves the list');
    assert.ok(after.some((x) => x.versionId === report.versions[0]!.id), 'each version is confirmed on its own');
  });
});
