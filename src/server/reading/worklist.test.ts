/**
 * The reading worklist (W6, L1, L2) through HTTP and the service: an item per arriving study
 * with its due time from the facility contract, claims that only one qualified reader wins,
 * claims that expire, facility scoping, automatic assignment by qualification and load,
 * saved views, the report service's calls, and live events per facility (SSE).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import type { FacilityContractTerms } from '../../shared/api.ts';
import type { WorklistItem, WorklistPage, WorklistView } from '../../shared/worklist.ts';
import { auditOf, orderInput, patient, studyId } from '../orders/test-fixtures.ts';
import { OP, call, signedIn, type TestUser } from './test-support.ts';
import { WorklistService } from './worklist-service.ts';
import { arrive, eventually, openEvents, qualify, userActor, type Credentials } from './worklist-test-support.ts';

const TERMS = (due: FacilityContractTerms['dueMinutes'], modalities: string[] = []): FacilityContractTerms => ({
  scope: { modalities, bodyParts: [] },
  dueMinutes: due,
  retentionDays: 365,
  contactLadder: [{ name: '当直医', role: '当直', phone: '03-0000-0000', hours: '24時間' }],
  delivery: { route: 'manual', transcriptionConfirmer: '依頼医' },
  onwardSharing: false,
  monitorCheckRequired: false,
  optOutNotice: 'お知らせ',
});

const MINUTE = 60_000;
const minutesBetween = (a: string, b: string): number => (Date.parse(b) - Date.parse(a)) / MINUTE;

describe('the reading worklist', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  let facilityA: string;
  let facilityB: string;
  const u: Record<string, TestUser> = {};

  const list = async (who: TestUser, query = ''): Promise<WorklistPage> => {
    const res = await call(app, who, 'GET', `/api/worklist${query ? `?${query}` : ''}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as WorklistPage;
  };
  const itemOf = async (studyUid: string, who: TestUser = u.radA!): Promise<WorklistItem> => {
    const page = await list(who, 'status=all&limit=200');
    const item = page.items.find((i) => i.studyUid === studyUid);
    assert.ok(item, `the study ${studyUid} is on the worklist of ${Object.entries(u).find(([, v]) => v === who)?.[0]}`);
    return item;
  };

  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
    facilityA = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['WLA'] })).id;
    facilityB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['WLB'] })).id;
    await rt.contracts.set(OP, facilityA, TERMS({ stat: 30, urgent: 120, routine: 1440 }));
    const physicians: Array<[string, string, Credentials]> = [
      ['radA', 'radiologist', 'diagnostic'],
      ['radB', 'radiologist', 'diagnostic'],
      ['mammo', 'radiologist', 'mammography'],
      ['foreign', 'radiologist', 'foreign'],
      ['nocert', 'radiologist', 'licence-only'],
      ['mgmt', 'management-physician', 'diagnostic'],
    ];
    for (const [name, role, creds] of physicians) {
      u[name] = await signedIn(rt, name.toLowerCase(), role, null);
      await qualify(rt, u[name]!.id, creds);
    }
    u.attendingA = await signedIn(rt, 'attending-a', 'attending-physician', facilityA);
    u.techB = await signedIn(rt, 'tech-b', 'technologist', facilityB);
    u.scribe = await signedIn(rt, 'scribe', 'transcriptionist', null);
    u.auditor = await signedIn(rt, 'auditor', 'auditor', null);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  test('a study arriving with its order becomes an item due by the contract\'s minutes for the order\'s priority', async () => {
    await rt.orders.receive(OP, orderInput(facilityA, { placerOrderNumber: 'WL-1', messageId: 'WL-1', accessionNumber: 'ACC-WL-1', priority: 'stat', patient: patient('WLP-1') }));
    const uid = await arrive(rt, facilityA, { modality: 'CT', accessionNumber: 'ACC-WL-1', patient: { id: 'WLP-1', name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412' } });
    const item = await itemOf(uid);
    assert.equal(item.priority, 'stat');
    assert.equal(item.status, 'unread');
    assert.equal(item.modality, 'CT');
    assert.equal(item.bodyPart, '胸部', 'the order\'s body part');
    assert.ok(item.orderId);
    assert.equal(item.facilityName, 'Hospital A');
    assert.equal(item.patient.name.ideographic, '山田^太郎');
    assert.equal(minutesBetween(item.arrivedAt, item.dueAt), 30);
    // Without an order it is routine: one day under this contract.
    const plain = await itemOf(await arrive(rt, facilityA, { modality: 'CT', accessionNumber: 'ACC-WL-2' }));
    assert.equal(plain.priority, 'routine');
    assert.equal(plain.orderId, null);
    assert.equal(minutesBetween(plain.arrivedAt, plain.dueAt), 1440);
    // Facility B has no contract on record: the default terms (routine: 2 days).
    const b = await itemOf(await arrive(rt, facilityB, { modality: 'MR' }));
    assert.equal(minutesBetween(b.arrivedAt, b.dueAt), 2880);
    // Listing is audited (it shows patients).
    const views = await auditOf(rt, 'worklist.view');
    assert.ok(views.length > 0 && views.every((v) => !('patientName' in v.details)));
  });

  test('an order that links later sets priority and due time again (refresh)', async () => {
    const who = { id: 'WLP-LATE', name: { alphabetic: 'Suzuki^Hanako', ideographic: '鈴木^花子', phonetic: 'すずき^はなこ' }, sex: 'F' as const, birthDate: '19700101' };
    const uid = await arrive(rt, facilityA, { modality: 'CT', accessionNumber: 'ACC-LATE', patient: who });
    const before = await itemOf(uid);
    assert.equal(before.priority, 'routine');
    // The order arrives after its study; reconciliation links it.
    await rt.orders.receive(OP, orderInput(facilityA, { placerOrderNumber: 'WL-LATE', messageId: 'WL-LATE', accessionNumber: 'ACC-LATE', priority: 'urgent', patient: patient('WLP-LATE') }));
    await rt.worklist.refresh(await studyId(rt, uid));
    const item = await itemOf(uid);
    assert.equal(item.priority, 'urgent');
    assert.ok(item.orderId);
    assert.equal(minutesBetween(item.arrivedAt, item.dueAt), 120);
    assert.ok(item.version > before.version);
  });

  test('two readers cannot claim one study: of two claims at once exactly one wins', async () => {
    const item = await itemOf(await arrive(rt, facilityA, { modality: 'CT' }));
    const [a, b] = await Promise.all([call(app, u.radA, 'POST', `/api/worklist/${item.id}/claim`), call(app, u.radB, 'POST', `/api/worklist/${item.id}/claim`)]);
    assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 409], `${a.body} / ${b.body}`);
    const [winner, loser] = a.statusCode === 200 ? [u.radA!, u.radB!] : [u.radB!, u.radA!];
    const claimed = (a.statusCode === 200 ? a : b).json() as WorklistItem;
    assert.equal(claimed.claimedBy?.id, winner.id);
    assert.equal(claimed.status, 'in-progress');
    assert.equal(minutesBetween(claimed.updatedAt, claimed.claimExpiresAt!), 30);
    // The loser is told who holds it; a later try is refused too, and cannot release it.
    const again = await call(app, loser, 'POST', `/api/worklist/${item.id}/claim`);
    assert.equal(again.statusCode, 409);
    assert.match(again.json().message as string, /already claimed by/);
    assert.equal((await call(app, loser, 'POST', `/api/worklist/${item.id}/release`)).statusCode, 403);
    // The holder renews and releases; then the other reader may claim it.
    assert.equal((await call(app, winner, 'POST', `/api/worklist/${item.id}/renew`)).statusCode, 200);
    const released = await call(app, winner, 'POST', `/api/worklist/${item.id}/release`);
    assert.equal(released.statusCode, 200);
    assert.equal((released.json() as WorklistItem).status, 'unread');
    assert.equal((await call(app, loser, 'POST', `/api/worklist/${item.id}/claim`)).statusCode, 200);
    // A management physician force-releases, audited with whose claim it was.
    assert.equal((await call(app, u.mgmt, 'POST', `/api/worklist/${item.id}/release`)).statusCode, 200);
    const [forced] = (await auditOf(rt, 'worklist.force-release')).filter((e) => e.details.item === item.id);
    assert.equal(forced!.details.claimedBy, loser.id);
    const claims = (await auditOf(rt, 'worklist.claim')).filter((e) => e.details.item === item.id && e.outcome === 'success');
    assert.equal(claims.length, 2);
  });

  test('a claim expires after ENKAKU_CLAIM_MINUTES: another reader takes it over, and housekeeping frees it', async () => {
    const item = await itemOf(await arrive(rt, facilityA, { modality: 'CT' }));
    let clock = new Date();
    const listen = rt.config.databaseUrl ? { url: rt.config.databaseUrl, schema: rt.config.databaseSchema } : undefined;
    const svc = new WorklistService({ db: rt.db.kysely, dialect: rt.db.dialect, audit: rt.audit, credentials: rt.credentials, log: rt.log, claimMinutes: 30, sweepSeconds: 0, listen, now: () => clock });
    try {
      const a = userActor(u.radA!.id, 'radiologist');
      const b = userActor(u.radB!.id, 'radiologist');
      await svc.claim(a, item.id);
      clock = new Date(clock.getTime() + 29 * MINUTE);
      await assert.rejects(svc.claim(b, item.id), /already claimed/);
      clock = new Date(clock.getTime() + 2 * MINUTE);
      const taken = await svc.claim(b, item.id);
      assert.equal(taken.claimedBy?.id, u.radB!.id);
      const [entry] = (await auditOf(rt, 'worklist.claim')).filter((e) => e.details.item === item.id && e.details.tookOverExpiredClaimOf);
      assert.equal(entry!.details.tookOverExpiredClaimOf, u.radA!.id);
      // Left alone past its time, housekeeping ends the claim (audited) and the study is unread again.
      clock = new Date(clock.getTime() + 31 * MINUTE);
      assert.ok((await svc.expireClaims()) >= 1);
      const row = (await svc.repo.byId(item.id))!;
      assert.equal(row.claimed_by, null);
      assert.equal(row.status, 'unread');
      assert.ok((await auditOf(rt, 'worklist.claim-expire')).some((e) => e.details.item === item.id && e.details.claimedBy === u.radB!.id));
    } finally {
      await svc.close();
    }
  });

  test('a physician without a Japanese licence or a certification for the modality cannot claim', async () => {
    const ct = await itemOf(await arrive(rt, facilityA, { modality: 'CT' }));
    const foreign = await call(app, u.foreign, 'POST', `/api/worklist/${ct.id}/claim`);
    assert.equal(foreign.statusCode, 403);
    assert.match(foreign.json().message as string, /医師法第17条/);
    const nocert = await call(app, u.nocert, 'POST', `/api/worklist/${ct.id}/claim`);
    assert.equal(nocert.statusCode, 403);
    assert.match(nocert.json().message as string, /no certification covering CT/);
    const mammoOnCt = await call(app, u.mammo, 'POST', `/api/worklist/${ct.id}/claim`);
    assert.equal(mammoOnCt.statusCode, 403);
    const refusals = (await auditOf(rt, 'worklist.claim')).filter((e) => e.details.item === ct.id);
    assert.deepEqual(refusals.map((e) => e.outcome), ['failure', 'failure', 'failure']);
    // The mammography reader reads mammograms.
    const mg = await itemOf(await arrive(rt, facilityA, { modality: 'MG' }));
    assert.equal(mg.modality, 'MG');
    assert.equal((await call(app, u.mammo, 'POST', `/api/worklist/${mg.id}/claim`)).statusCode, 200);
    // Facility staff and transcriptionists see the worklist but never claim.
    for (const who of [u.attendingA!, u.scribe!]) assert.equal((await call(app, who, 'POST', `/api/worklist/${ct.id}/claim`)).statusCode, 403);
  });

  test('facility users see only their facility; the provider\'s readers see every facility', async () => {
    const a = await list(u.attendingA!, 'status=all&limit=200');
    assert.ok(a.items.length > 0 && a.items.every((i) => i.facilityId === facilityA), 'attending of A: only A');
    const b = await list(u.techB!, 'status=all&limit=200');
    assert.ok(b.items.length > 0 && b.items.every((i) => i.facilityId === facilityB), 'technologist of B: only B');
    assert.equal((await call(app, u.attendingA, 'GET', `/api/worklist?facilityId=${facilityB}`)).statusCode, 403);
    const all = await list(u.scribe!, 'status=all&limit=200');
    assert.ok(all.items.some((i) => i.facilityId === facilityA) && all.items.some((i) => i.facilityId === facilityB));
    // An item of B does not exist for a user of A.
    const itemB = b.items[0]!;
    assert.equal((await call(app, u.auditor, 'GET', '/api/worklist')).statusCode, 403);
    const radOnB = await list(u.radA!, `facilityId=${facilityB}`);
    assert.ok(radOnB.items.some((i) => i.id === itemB.id));
  });

  test('filters, sorting by due time and keyset pages', async () => {
    const stat = await list(u.radA!, `priority=stat&facilityId=${facilityA}`);
    assert.ok(stat.items.length >= 1 && stat.items.every((i) => i.priority === 'stat'));
    const ct = await list(u.radA!, 'modality=ct');
    assert.ok(ct.items.every((i) => i.modality === 'CT'));
    const acc = await list(u.radA!, 'accession=ACC-WL');
    assert.deepEqual(acc.items.map((i) => i.accessionNumber).sort(), ['ACC-WL-1', 'ACC-WL-2']);
    const first = await list(u.radA!, 'limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.nextCursor);
    const second = await list(u.radA!, `limit=2&cursor=${first.nextCursor}`);
    const all = [...first.items, ...second.items];
    assert.equal(new Set(all.map((i) => i.id)).size, all.length, 'no item twice');
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.dueAt <= all[i]!.dueAt, 'earliest due first');
    const latest = await list(u.radA!, 'limit=2&sort=-due');
    assert.ok(latest.items[0]!.dueAt >= latest.items[1]!.dueAt);
    assert.equal((await call(app, u.radA, 'GET', `/api/worklist?limit=2&sort=-due&cursor=${first.nextCursor}`)).statusCode, 400, 'a cursor of another sort');
    // Overdue: nothing here is past due yet.
    assert.equal((await list(u.radA!, 'overdue=true')).items.length, 0);
    // Mine: what radA holds.
    const target = (await list(u.radA!, `facilityId=${facilityA}&who=unassigned`)).items[0]!;
    await call(app, u.radA, 'POST', `/api/worklist/${target.id}/claim`);
    assert.ok((await list(u.radA!, 'who=mine')).items.some((i) => i.id === target.id));
    assert.ok(!(await list(u.radB!, 'who=mine')).items.some((i) => i.id === target.id));
    assert.ok(!(await list(u.radB!, 'who=unassigned')).items.some((i) => i.id === target.id));
    assert.equal((await call(app, u.radA, 'GET', '/api/worklist?priority=soon')).statusCode, 400);
  });

  test('the report service: assertClaimedBy holds only for the claimer; setStatus closes the item and ends the claim', async () => {
    const uid = await arrive(rt, facilityA, { modality: 'CT' });
    const item = await itemOf(uid);
    const sid = await studyId(rt, uid);
    const a = userActor(u.radA!.id, 'radiologist');
    const b = userActor(u.radB!.id, 'radiologist');
    await assert.rejects(rt.worklist.assertClaimedBy(a, sid), (e: Error & { code?: string }) => e.code === 'conflict');
    await call(app, u.radA, 'POST', `/api/worklist/${item.id}/claim`);
    await assert.rejects(rt.worklist.assertClaimedBy(b, sid), (e: Error & { code?: string }) => e.code === 'locked');
    await rt.db.kysely.transaction().execute(async (trx) => {
      await rt.worklist.assertClaimedBy(a, sid, trx);
      await rt.worklist.setStatus(trx, sid, 'draft', 'report-1');
    });
    assert.equal((await itemOf(uid)).status, 'draft');
    await rt.db.kysely.transaction().execute((trx) => rt.worklist.setStatus(trx, sid, 'final'));
    const done = await itemOf(uid);
    assert.equal(done.status, 'final');
    assert.equal(done.reportId, 'report-1');
    assert.equal(done.claimedBy, null);
    assert.ok(!(await list(u.radA!, 'limit=200')).items.some((i) => i.id === item.id), 'the open view leaves it out');
    assert.ok((await list(u.radA!, 'status=final&limit=200')).items.some((i) => i.id === item.id));
    assert.equal((await call(app, u.radB, 'POST', `/api/worklist/${item.id}/claim`)).statusCode, 409);
  });

  test('a management physician assigns to a qualified reader only', async () => {
    const item = await itemOf(await arrive(rt, facilityA, { modality: 'CT' }));
    assert.equal((await call(app, u.radA, 'POST', `/api/worklist/${item.id}/assign`, { userId: u.radB!.id })).statusCode, 403);
    assert.equal((await call(app, u.mgmt, 'POST', `/api/worklist/${item.id}/assign`, { userId: u.mammo!.id })).statusCode, 422);
    const ok = await call(app, u.mgmt, 'POST', `/api/worklist/${item.id}/assign`, { userId: u.radB!.id, readingMode: 'double' });
    assert.equal(ok.statusCode, 200, ok.body);
    const assigned = ok.json() as WorklistItem;
    assert.equal(assigned.assignedTo?.id, u.radB!.id);
    assert.equal(assigned.readingMode, 'double');
    assert.ok((await list(u.radB!, 'who=mine')).items.some((i) => i.id === item.id));
    const [entry] = (await auditOf(rt, 'worklist.assign')).filter((e) => e.details.item === item.id);
    assert.equal(entry!.details.assignedTo, u.radB!.id);
    // Double reading: the first and the second reader are two people.
    await call(app, u.radB, 'POST', `/api/worklist/${item.id}/claim`);
    await call(app, u.radB, 'POST', `/api/worklist/${item.id}/release`);
    const second = await call(app, u.radA, 'POST', `/api/worklist/${item.id}/claim`);
    assert.equal(second.statusCode, 200);
    assert.deepEqual([(second.json() as WorklistItem).firstReader, (second.json() as WorklistItem).secondReader], [u.radB!.id, u.radA!.id]);
  });

  test('saved views belong to their user', async () => {
    const saved = await call(app, u.radA, 'POST', '/api/worklist/views', { name: 'STAT CT', filters: { priority: ['stat'], modality: 'ct' } });
    assert.equal(saved.statusCode, 201, saved.body);
    const view = saved.json() as WorklistView;
    assert.deepEqual(view.filters, { priority: ['stat'], modality: 'CT' });
    const replaced = await call(app, u.radA, 'POST', '/api/worklist/views', { name: 'STAT CT', filters: { priority: ['stat', 'urgent'] } });
    assert.equal((replaced.json() as WorklistView).id, view.id);
    assert.deepEqual(((await call(app, u.radA, 'GET', '/api/worklist/views')).json() as WorklistView[]).map((v) => v.name), ['STAT CT']);
    assert.deepEqual((await call(app, u.radB, 'GET', '/api/worklist/views')).json(), []);
    assert.equal((await call(app, u.radB, 'DELETE', `/api/worklist/views/${view.id}`)).statusCode, 404);
    assert.equal((await call(app, u.radA, 'POST', '/api/worklist/views', { name: '', filters: {} })).statusCode, 400);
    assert.equal((await call(app, u.radA, 'DELETE', `/api/worklist/views/${view.id}`)).statusCode, 200);
  });

  test('an SSE client receives the claim of a study of a facility it sees, and not of one it does not', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const a = await openEvents(port, u.attendingA!.cookie);
    const b = await openEvents(port, u.techB!.cookie);
    try {
      const item = await itemOf(await arrive(rt, facilityA, { modality: 'CT' }));
      const claimed = await call(app, u.radA, 'POST', `/api/worklist/${item.id}/claim`);
      assert.equal(claimed.statusCode, 200);
      const seen = await a.waitFor((e) => e.type === 'changed' && e.id === item.id && Boolean(e.changes.claimedBy));
      assert.ok(seen.type === 'changed');
      assert.equal(seen.facilityId, facilityA);
      assert.deepEqual(seen.changes.claimedBy, { id: u.radA!.id, name: 'rada' });
      assert.equal(seen.changes.status, 'in-progress');
      assert.ok(!JSON.stringify(seen).includes('山田'), 'no patient data in events');
      assert.ok(a.events.some((e) => e.type === 'created' && e.id === item.id), 'the new item was announced');
      // An event of facility B for comparison: B's client hears its own facility, and never A's.
      const itemB = await itemOf(await arrive(rt, facilityB, { modality: 'CT' }));
      await call(app, u.radA, 'POST', `/api/worklist/${itemB.id}/claim`);
      await b.waitFor((e) => e.type === 'changed' && e.id === itemB.id);
      assert.ok(b.events.every((e) => e.type === 'resync' || e.facilityId === facilityB), JSON.stringify(b.events));
      assert.ok(!a.events.some((e) => e.type !== 'resync' && e.id === itemB.id));
    } finally {
      a.close();
      b.close();
    }
    // Without a session or a worklist role there is no stream.
    assert.equal((await app.inject({ method: 'GET', url: '/api/worklist/events' })).statusCode, 401);
    assert.equal((await call(app, u.auditor, 'GET', '/api/worklist/events?lifetime=0')).statusCode, 403);
    const once = await call(app, u.scribe, 'GET', '/api/worklist/events?lifetime=0');
    assert.equal(once.statusCode, 200);
    assert.match(once.headers['content-type'] as string, /text\/event-stream/);
    assert.match(once.body, /event: ready/);
  });
});

describe('automatic assignment', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let facility: string;
  const ids: Record<string, string> = {};
  const mgmt = () => userActor(ids.mgmt!, 'management-physician');
  const assignedTo = async (uid: string): Promise<string> =>
    eventually(async () => {
      const row = await rt.worklist.itemOfStudy(await studyId(rt, uid));
      return row?.assigned_to ?? undefined;
    });

  before(async () => {
    rt = await testRuntime();
    facility = (await rt.facilities.add(OP, { name: 'Clinic C', aets: ['WLC'] })).id;
    await rt.contracts.set(OP, facility, TERMS({ stat: 30, urgent: 120, routine: 1440 }, ['CT', 'MG']));
    const people: Array<[string, string, Credentials]> = [
      ['d1', 'radiologist', 'diagnostic'],
      ['d2', 'radiologist', 'diagnostic'],
      ['mammo', 'radiologist', 'mammography'],
      ['foreign', 'radiologist', 'foreign'],
      ['nocert', 'radiologist', 'licence-only'],
      ['mgmt', 'management-physician', 'none'],
    ];
    for (const [name, role, creds] of people) {
      ids[name] = await rt.accounts.create(OP, { username: `aa-${name}`, displayName: name, password: 'Correct-Horse-9-Battery', grants: [{ role, facilityId: null }], mustChangePassword: false });
      await qualify(rt, ids[name]!, creds);
    }
    await rt.worklist.events.ready();
  });
  after(() => rt?.cleanup());

  test('it picks the qualified reader with the fewest open items, and only where it is on', async () => {
    // Off by default: a study stays unassigned.
    const off = await arrive(rt, facility, { modality: 'CT' });
    // d1 already holds two studies.
    for (let i = 0; i < 2; i++) {
      const uid = await arrive(rt, facility, { modality: 'CT' });
      const row = await eventually(async () => rt.worklist.itemOfStudy(await studyId(rt, uid)));
      await rt.worklist.assign(mgmt(), row.id, { userId: ids.d1 });
    }
    assert.equal((await rt.worklist.itemOfStudy(await studyId(rt, off)))!.assigned_to, null);
    await rt.worklist.setSettings(OP, { facilityId: null, autoAssign: true });
    // A CT: the unqualified (foreign licence, no certification, mammography only, the
    // management physician without credentials) have the least load but are passed over;
    // of the two qualified, d2 holds fewer.
    assert.equal(await assignedTo(await arrive(rt, facility, { modality: 'CT' })), ids.d2);
    assert.equal(await assignedTo(await arrive(rt, facility, { modality: 'CT' })), ids.d2);
    // A mammogram: the mammography reader qualifies and holds nothing.
    assert.equal(await assignedTo(await arrive(rt, facility, { modality: 'MG' })), ids.mammo);
    const audit = (await auditOf(rt, 'worklist.assign')).filter((e) => e.details.auto === true);
    assert.equal(audit.length, 3);
    // Housekeeping assigns what was left while it was off: d2 and d1 now hold two each... d1 first by id order or d2.
    await rt.worklist.sweep();
    assert.ok([ids.d1, ids.d2].includes(await assignedTo(off)));
    // Outside the contract's scope (MR) nothing is assigned; neither where the facility turned it off.
    const mr = await arrive(rt, facility, { modality: 'MR' });
    const mrItem = await eventually(async () => rt.worklist.itemOfStudy(await studyId(rt, mr)));
    assert.deepEqual(await rt.worklist.autoAssign(mrItem.id), { assignedTo: null, reason: 'outside the facility contract\'s scope' });
    await rt.worklist.setSettings(OP, { facilityId: facility, autoAssign: false });
    const ct = await arrive(rt, facility, { modality: 'CT' });
    const ctItem = await eventually(async () => rt.worklist.itemOfStudy(await studyId(rt, ct)));
    assert.equal((await rt.worklist.autoAssign(ctItem.id)).reason, 'automatic assignment is off');
    assert.deepEqual(await rt.worklist.settings(OP), { autoAssign: true, facilities: [{ facilityId: facility, autoAssign: false }] });
    // A management physician may still ask for the automatic choice.
    const forced = await rt.worklist.assign(mgmt(), ctItem.id, { auto: true });
    assert.ok([ids.d1, ids.d2].includes(forced.assignedTo!.id));
  });
});
