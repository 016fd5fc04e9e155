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
import { OP, PASSWORD, call, phantomCt, signedIn, stow, type TestUser } from '../reading/test-support.ts';

interface Physician extends TestUser {
  secret: string;
}

/** A signed-in radiologist (provider) with a licence and a certification. */
async function signedInReader(rt: Runtime, username: string): Promise<TestUser> {
  const u = await signedIn(rt, username, 'radiologist', null);
  await rt.credentials.recordLicence(OP, u.id, { kind: 'jp-medical', number: '7654321', country: 'JP', evidence: '医籍登録 確認済み' });
  await rt.credentials.recordCertification(OP, u.id, { kind: 'diagnostic-radiology-specialist', number: 'AI-1', issuedOn: '2020-04-01', expiresOn: '2099-03-31', evidence: '専門医証' });
  return u;
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
    const choices = (await call(app, scribe, 'GET', `/api/studies/${study2.studyUid}/report/physicians`)).json() as Array<{ id: string; name: string }>;
    assert.ok(choices.some((p) => p.id === reader.id), 'the qualified physician is offered');
    assert.ok(!choices.some((p) => p.id === uncertified.id), 'a physician without a covering certification is not');
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

  test('a physician whose licence is revoked while reading cannot sign', async () => {
    const s4 = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-REPORT4' };
    const token = (await rt.tokens.create(OP, { facilityId: facilityA, name: 'pacs4', scopes: ['dicomweb:write'] })).token;
    await stow(app, token, [phantomCt(s4).bytes]);
    const locum = await physician('locum', 'radiologist', null, true);
    const item = await itemOf(locum, s4.studyUid);
    assert.equal((await call(app, locum, 'POST', `/api/worklist/${item.id}/claim`)).statusCode, 200);
    const draft = (await call(app, locum, 'POST', `/api/studies/${s4.studyUid}/report`, {})).json() as ReportView;
    const saved = (await call(app, locum, 'PUT', `/api/reports/${draft.id}/draft`, { revision: draft.revision, sections: SECTIONS })).json() as ReportView;
    const licence = (await rt.credentials.credentials(OP, locum.id)).licences[0]!;
    await rt.credentials.revokeLicence(OP, licence.id);
    const refused = await call(app, locum, 'POST', `/api/reports/${draft.id}/finalise`, { totp: await totp(locum), revision: saved.revision, location: 'home' });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json().message, /licence/);
    const view = (await call(app, locum, 'GET', `/api/studies/${s4.studyUid}/report`)).json() as StudyReportingView;
    assert.equal(view.report?.status, 'draft', 'nothing was signed');
    assert.equal(view.signing.allowed, false);
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

describe('AI results (I1) through FHIR', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let aiToken: string;
  let otherToken: string;
  let ordersToken: string;
  let reader: TestUser;
  const s = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-AI' };
  const observation = (over: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    status: 'preliminary',
    code: { text: '肺結節検出' },
    partOf: [{ identifier: { system: 'urn:dicom:uid', value: `urn:oid:${s.studyUid}` } }],
    device: { display: 'LungCAD 3.2' },
    valueString: '右上葉に結節候補 12mm (確信度 0.93)',
    ...over,
  });
  const post = (token: string, body: unknown, type = 'application/fhir+json') =>
    app.inject({ method: 'POST', url: '/fhir/R4/Observation', headers: { authorization: `Bearer ${token}`, 'content-type': type }, payload: JSON.stringify(body) });

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    const facility = (await rt.facilities.add(OP, { name: 'AI病院', aets: ['AIH'] })).id;
    const other = (await rt.facilities.add(OP, { name: '他院', aets: ['OTH'] })).id;
    await stow(app, (await rt.tokens.create(OP, { facilityId: facility, name: 'pacs', scopes: ['dicomweb:write'] })).token, [phantomCt(s).bytes]);
    aiToken = (await rt.tokens.create(OP, { facilityId: facility, name: 'cad', scopes: ['ai:write'] })).token;
    ordersToken = (await rt.tokens.create(OP, { facilityId: facility, name: 'ris', scopes: ['orders:write'] })).token;
    otherToken = (await rt.tokens.create(OP, { facilityId: other, name: 'cad', scopes: ['ai:write'] })).token;
    reader = await signedInReader(rt, 'ai-reader');
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  test('an AI system posts an Observation; the reader sees it labelled with its source, and nothing is finalised', async () => {
    const res = await post(aiToken, observation());
    assert.equal(res.statusCode, 201, res.body);
    assert.match(String(res.headers.location), /^\/fhir\/R4\/Observation\//);
    const view = (await call(app, reader, 'GET', `/api/studies/${s.studyUid}/report`)).json() as StudyReportingView;
    assert.deepEqual(view.aiFindings.map((f) => [f.source, f.text]), [['LungCAD 3.2', '右上葉に結節候補 12mm (確信度 0.93)']]);
    assert.equal(view.report, null, 'an AI result never starts or finalises a report');
  });

  test('refused with an OperationOutcome: wrong scope, another facility, no study reference, no source', async () => {
    assert.equal((await post(ordersToken, observation())).statusCode, 403);
    assert.equal((await post(otherToken, observation())).statusCode, 404, 'another facility\'s study does not exist for its token');
    const noStudy = await post(aiToken, observation({ partOf: [] }));
    assert.equal(noStudy.statusCode, 422);
    assert.equal(noStudy.json().resourceType, 'OperationOutcome');
    assert.match(noStudy.json().issue[0].diagnostics, /ImagingStudy/);
    assert.equal((await post(aiToken, observation({ device: undefined }))).statusCode, 422);
    assert.equal((await post(aiToken, { resourceType: 'Patient' })).statusCode, 400);
  });
});

describe('double reading (W9): independent reads, concordance, the arbiter', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let facility: string;
  let token: string;
  const readers: Physician[] = [];
  let registered = 500;

  async function physician(username: string): Promise<Physician> {
    const id = await rt.accounts.create(OP, { username, displayName: `${username} 医師`, password: PASSWORD, grants: [{ role: 'radiologist', facilityId: null }], mustChangePassword: false });
    await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
    const client = { address: '127.0.0.1', userAgent: 'test' };
    const first = await rt.auth.login(username, PASSWORD, client);
    assert.equal(first.response.status, 'mfa-enrolment-required');
    const secret = (first.response as { enrolment: { secret: string } }).enrolment.secret;
    const { cookie } = await rt.auth.secondFactor(first.cookie, await generate({ secret }), client);
    const info = (await rt.auth.session(cookie, client))!;
    await rt.credentials.recordLicence(OP, id, { kind: 'jp-medical', number: String(++registered), country: 'JP', evidence: '医籍登録 確認済み' });
    await rt.credentials.recordCertification(OP, id, { kind: 'diagnostic-radiology-specialist', number: `D-${username}`, issuedOn: '2020-04-01', expiresOn: '2099-03-31', evidence: '専門医証' });
    return { id, cookie, csrf: info.csrfToken, secret };
  }

  async function code(p: Physician): Promise<string> {
    await rt.accounts.repo.updateUser(p.id, { totp_last_step: null });
    return generate({ secret: p.secret });
  }

  /** Claims, writes with an assessment and finalises; answers the finalised report. */
  async function read(p: Physician, studyUid: string, assessment: string, impression: string): Promise<ReportView> {
    const page = (await call(app, p, 'GET', '/api/worklist?status=all')).json() as WorklistPage;
    const item = page.items.find((i) => i.studyUid === studyUid)!;
    const claim = await call(app, p, 'POST', `/api/worklist/${item.id}/claim`);
    assert.equal(claim.statusCode, 200, claim.body);
    const started = await call(app, p, 'POST', `/api/studies/${studyUid}/report`, {});
    assert.equal(started.statusCode, 201, started.body);
    const draft = started.json() as ReportView;
    const saved = (await call(app, p, 'PUT', `/api/reports/${draft.id}/draft`, { revision: draft.revision, sections: { ...SECTIONS, impression }, assessment })).json() as ReportView;
    const done = await call(app, p, 'POST', `/api/reports/${draft.id}/finalise`, { totp: await code(p), revision: saved.revision, location: 'on-site' });
    assert.equal(done.statusCode, 200, done.body);
    return done.json() as ReportView;
  }

  const deliveries = async (versionId: string) => (await rt.db.kysely.selectFrom('report_deliveries').select('id').where('version_id', '=', versionId).execute()).length;
  const item = async (studyUid: string) => ((await call(app, readers[0]!, 'GET', '/api/worklist?status=all')).json() as WorklistPage).items.find((i) => i.studyUid === studyUid)!;

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    facility = (await rt.facilities.add(OP, { name: '検診センター', aets: ['KENSHIN'] })).id;
    await rt.contracts.set(OP, facility, {
      scope: { modalities: [], bodyParts: [] },
      dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
      retentionDays: 365,
      contactLadder: [{ name: '担当医', role: '依頼医', phone: '03-0000-0000', hours: '平日' }],
      delivery: { route: 'manual', transcriptionConfirmer: '依頼医' },
      onwardSharing: false,
      monitorCheckRequired: false,
      doubleReading: true,
      optOutNotice: 'お知らせ',
    });
    token = (await rt.tokens.create(OP, { facilityId: facility, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    for (const name of ['first', 'second', 'arbiter']) readers.push(await physician(`dr-${name}`));
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  test('disagreeing reads go to a third reader, who sees both; only the arbiter\'s report is delivered and it names all three', async () => {
    const s = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-DOUBLE-1' };
    await stow(app, token, [phantomCt(s).bytes]);
    assert.equal((await item(s.studyUid)).readingMode, 'double', 'the screening contract makes the study a double reading');
    const [a, b, c] = readers as [Physician, Physician, Physician];
    const first = await read(a, s.studyUid, 'suspicious', '悪性疑い。');
    assert.equal(first.readingRole, 'first');
    assert.equal(await deliveries(first.versions[0]!.id), 0, 'an independent read is not delivered');
    assert.equal((await item(s.studyUid)).status, 'preliminary');
    assert.equal((await item(s.studyUid)).claimedBy, null, 'the first reader\'s claim ends');

    // The second reader does not see the first reader's report while reading.
    const page = (await call(app, b, 'GET', '/api/worklist?status=all')).json() as WorklistPage;
    assert.equal((await call(app, b, 'POST', `/api/worklist/${page.items.find((i) => i.studyUid === s.studyUid)!.id}/claim`)).statusCode, 200);
    const blind = (await call(app, b, 'GET', `/api/studies/${s.studyUid}/report`)).json() as StudyReportingView;
    assert.deepEqual(blind.others, []);
    await call(app, b, 'POST', `/api/worklist/${page.items.find((i) => i.studyUid === s.studyUid)!.id}/release`);
    const second = await read(b, s.studyUid, 'benign', '良性。');
    assert.equal(second.readingRole, 'second');
    assert.equal(await deliveries(second.versions[0]!.id), 0, 'discordant reads are not delivered');
    assert.equal((await item(s.studyUid)).status, 'preliminary');

    // The arbiter sees both reads and writes the report that leaves Enkaku.
    const arbiterItem = ((await call(app, c, 'GET', '/api/worklist?status=all')).json() as WorklistPage).items.find((i) => i.studyUid === s.studyUid)!;
    assert.equal((await call(app, c, 'POST', `/api/worklist/${arbiterItem.id}/claim`)).statusCode, 200);
    const seen = (await call(app, c, 'GET', `/api/studies/${s.studyUid}/report`)).json() as StudyReportingView;
    assert.deepEqual(seen.others.map((r) => [r.readingRole, r.sections.impression]).sort(), [['first', '悪性疑い。'], ['second', '良性。']]);
    await call(app, c, 'POST', `/api/worklist/${arbiterItem.id}/release`);
    const final = await read(c, s.studyUid, 'suspicious', '悪性疑い。精査を推奨。');
    assert.equal(final.readingRole, 'arbiter');
    assert.equal(await deliveries(final.versions[0]!.id), 1);
    assert.equal((await item(s.studyUid)).status, 'final');
    const canonical = JSON.parse((await call(app, c, 'GET', `/api/report-versions/${final.versions[0]!.id}/canonical`)).body) as { otherReaders: Array<{ userId: string; role: string }>; reader: { userId: string } };
    assert.equal(canonical.reader.userId, c.id);
    assert.deepEqual(canonical.otherReaders.map((o) => [o.userId, o.role]).sort(), [[a.id, 'first-reader'], [b.id, 'second-reader']].sort());
  });

  test('agreeing reads are delivered once, as the later read naming the other reader; no arbiter is asked for', async () => {
    const s = { studyUid: newUid(), seriesUid: newUid(), patientId: 'P-DOUBLE-2' };
    await stow(app, token, [phantomCt(s).bytes]);
    const [a, b, c] = readers as [Physician, Physician, Physician];
    const first = await read(b, s.studyUid, 'negative', '異常なし。');
    const second = await read(a, s.studyUid, 'negative', '異常なし。');
    assert.equal(await deliveries(first.versions[0]!.id), 0);
    assert.equal(await deliveries(second.versions[0]!.id), 1);
    assert.equal((await item(s.studyUid)).status, 'final');
    const canonical = JSON.parse((await call(app, a, 'GET', `/api/report-versions/${second.versions[0]!.id}/canonical`)).body) as { otherReaders: Array<{ userId: string; role: string }> };
    assert.deepEqual(canonical.otherReaders.map((o) => [o.userId, o.role]), [[b.id, 'first-reader']]);
    const claim = await call(app, c, 'POST', `/api/worklist/${(await item(s.studyUid)).id}/claim`);
    assert.equal(claim.statusCode, 409, 'a final study is not claimed again');
  });
});
