/**
 * Exam orders (W1, W5): idempotent intake, new/change/cancel in and out of order, the full
 * history, the order list and detail scoped by facility, JJ1017 in words, the web form,
 * protocol instructions and the consultation thread.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../../test/helpers.ts';
import { OPERATOR, auditOf, orderInput, patient, user } from '../test-fixtures.ts';

let rt: Awaited<ReturnType<typeof testRuntime>>;
let facilityA: string;
let facilityB: string;
const radiologist = user('radiologist', null);

before(async () => {
  rt = await testRuntime();
  facilityA = (await rt.facilities.add(OPERATOR, { name: '東病院', aets: ['HIGASHI'] })).id;
  facilityB = (await rt.facilities.add(OPERATOR, { name: '西病院', aets: ['NISHI'] })).id;
});
after(() => rt.cleanup());

const history = async (orderId: string) => (await rt.orders.detail(radiologist, orderId)).history.map((h) => [h.control, h.outcome]);

describe('intake', { concurrency: false }, () => {
  test('receive is idempotent on (facility, source, message id)', async () => {
    const msg = orderInput(facilityA, { placerOrderNumber: 'ORD-1', messageId: 'MSG-1', accessionNumber: 'ACC-1' });
    const first = await rt.orders.receive(OPERATOR, msg);
    assert.equal(first.kind, 'created');
    const again = await rt.orders.receive(OPERATOR, { ...msg, reason: 'changed text in a resend' });
    assert.deepEqual(again, { kind: 'duplicate', orderId: first.orderId });
    const fhir = await rt.orders.receive(OPERATOR, { ...msg, source: 'fhir' });
    assert.equal(fhir.kind, 'updated', 'the same id from another source is another message');
    assert.equal(fhir.note, 'stale', 'a second new for a known order is not applied');
    const d = await rt.orders.detail(radiologist, first.orderId);
    assert.equal(d.reason, '咳嗽が続く。肺炎の評価');
    assert.deepEqual(d.history.map((h) => h.outcome), ['created', 'stale']);
    assert.equal((await auditOf(rt, 'order.create', first.orderId)).length, 1);
  });

  test('new, change, cancel; a change of the cancelled order is refused and recorded, again and again', async () => {
    const base = { placerOrderNumber: 'ORD-2', accessionNumber: 'ACC-2' };
    const created = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M2-1', messageTime: '2026-03-10T01:00:00Z' }));
    const changed = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M2-2', control: 'change', priority: 'urgent', modality: 'MR', messageTime: '2026-03-10T02:00:00Z' }));
    assert.deepEqual(changed, { kind: 'updated', orderId: created.orderId });
    const d = await rt.orders.detail(radiologist, created.orderId);
    assert.equal(d.priority, 'urgent');
    assert.equal(d.modality, 'MR');
    assert.deepEqual(d.history[1]!.changed, ['priority', 'modality']);
    assert.equal(d.version, 2);

    assert.deepEqual(await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M2-3', control: 'cancel', messageTime: '2026-03-10T03:00:00Z' })), { kind: 'cancelled', orderId: created.orderId });
    const late = orderInput(facilityA, { ...base, messageId: 'M2-4', control: 'change', priority: 'stat', messageTime: '2026-03-10T04:00:00Z' });
    await assert.rejects(rt.orders.receive(OPERATOR, late), { code: 'conflict' });
    await assert.rejects(rt.orders.receive(OPERATOR, late), { code: 'conflict' }, 'a refused message is refused again, not a duplicate');
    const after = await rt.orders.detail(radiologist, created.orderId);
    assert.equal(after.status, 'cancelled');
    assert.equal(after.priority, 'urgent', 'the refused change did not apply');
    assert.deepEqual(after.history.map((h) => h.outcome), ['created', 'updated', 'cancelled', 'refused-conflict', 'refused-conflict']);
    const refusals = (await auditOf(rt, 'order.update', created.orderId)).filter((a) => a.outcome === 'failure');
    assert.equal(refusals.length, 2);
    assert.equal(refusals[0]!.details.reason, 'change of a cancelled order');
  });

  test('out of order: a change before its new creates the order; the late new does not overwrite it', async () => {
    const base = { placerOrderNumber: 'ORD-3' };
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M3-2', control: 'change', reason: '最新の依頼内容', messageTime: '2026-03-10T02:00:00Z' }));
    assert.deepEqual(r, { kind: 'created', orderId: r.orderId, note: 'created-from-change' });
    const late = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M3-1', reason: '古い依頼内容', messageTime: '2026-03-10T01:00:00Z' }));
    assert.deepEqual(late, { kind: 'updated', orderId: r.orderId, note: 'stale' });
    const d = await rt.orders.detail(radiologist, r.orderId);
    assert.equal(d.reason, '最新の依頼内容');
    assert.equal(d.createdFrom, 'change');
    assert.deepEqual(await history(r.orderId), [['change', 'created-from-change'], ['new', 'stale']]);

    // Without message times, arrival order counts, but a new still never overwrites a known order.
    const s = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-3b', messageId: 'M3b-2', control: 'change', reason: 'B' }));
    await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-3b', messageId: 'M3b-1', reason: 'A' }));
    assert.equal((await rt.orders.detail(radiologist, s.orderId)).reason, 'B');
    await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-3b', messageId: 'M3b-3', control: 'change', reason: 'C' }));
    assert.equal((await rt.orders.detail(radiologist, s.orderId)).reason, 'C', 'a later change applies');
  });

  test('out of order: an older change never overwrites a newer one; duplicates of it stay duplicates', async () => {
    const base = { placerOrderNumber: 'ORD-4' };
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M4-1', messageTime: '2026-03-10T01:00:00Z' }));
    await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M4-3', control: 'change', bodyPart: '腹部', messageTime: '2026-03-10T03:00:00Z' }));
    const older = orderInput(facilityA, { ...base, messageId: 'M4-2', control: 'change', bodyPart: '頭部', messageTime: '2026-03-10T02:00:00Z' });
    assert.equal((await rt.orders.receive(OPERATOR, older)).note, 'stale');
    assert.equal((await rt.orders.receive(OPERATOR, older)).kind, 'duplicate');
    const d = await rt.orders.detail(radiologist, r.orderId);
    assert.equal(d.bodyPart, '腹部');
    assert.equal(d.version, 2, 'stale messages do not count as versions');
    assert.deepEqual(d.history.map((h) => h.outcome), ['created', 'updated', 'stale']);
  });

  test('out of order: a cancel for an unknown order is a cancelled placeholder that a late new does not revive', async () => {
    const base = { placerOrderNumber: 'ORD-5' };
    const c = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M5-2', control: 'cancel', messageTime: '2026-03-10T02:00:00Z' }));
    assert.deepEqual(c, { kind: 'cancelled', orderId: c.orderId, note: 'cancel-placeholder' });
    const n = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M5-1', messageTime: '2026-03-10T01:00:00Z' }));
    assert.deepEqual(n, { kind: 'cancelled', orderId: c.orderId, note: 'already-cancelled' });
    const older = await rt.orders.receive(OPERATOR, orderInput(facilityA, { ...base, messageId: 'M5-0', control: 'change', messageTime: '2026-03-10T01:30:00Z' }));
    assert.deepEqual(older, { kind: 'cancelled', orderId: c.orderId, note: 'stale' }, 'a change older than the cancel is a late message, not a conflict');
    const d = await rt.orders.detail(radiologist, c.orderId);
    assert.equal(d.status, 'cancelled');
    assert.equal(d.createdFrom, 'cancel');
    assert.deepEqual(d.history.map((h) => h.outcome), ['cancel-placeholder', 'already-cancelled', 'stale']);

    // A cancel is final even when older than the last change.
    const o = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-5b', messageId: 'M5b-1', messageTime: '2026-03-10T01:00:00Z' }));
    await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-5b', messageId: 'M5b-3', control: 'change', messageTime: '2026-03-10T03:00:00Z' }));
    assert.equal((await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-5b', messageId: 'M5b-2', control: 'cancel', messageTime: '2026-03-10T02:00:00Z' }))).kind, 'cancelled');
    assert.equal((await rt.orders.detail(radiologist, o.orderId)).status, 'cancelled');
  });

  test('concurrent copies of one message and concurrent messages of one order settle to one order', async () => {
    const msg = orderInput(facilityA, { placerOrderNumber: 'ORD-C', messageId: 'MC-1', messageTime: '2026-03-10T01:00:00Z' });
    const results = await Promise.all(Array.from({ length: 6 }, () => rt.orders.receive(OPERATOR, msg)));
    assert.deepEqual(results.map((r) => r.kind).sort(), ['created', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    assert.equal(new Set(results.map((r) => r.orderId)).size, 1);
    const changes = await Promise.all([2, 3, 4, 5].map((n) => rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'ORD-C', messageId: `MC-${n}`, control: 'change', reason: `version ${n}`, messageTime: `2026-03-10T0${n}:00:00Z` }))));
    assert.ok(changes.every((r) => r.orderId === results[0]!.orderId));
    const d = await rt.orders.detail(radiologist, results[0]!.orderId);
    assert.equal(d.reason, 'version 5', 'the newest message wins whatever the order of commits');
    assert.equal(d.history.length, 5);
  });

  test('validation names the field; who may send for a facility', async () => {
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: '', messageId: 'V1' })), /placerOrderNumber is required/);
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'V', messageId: 'V1', requestedAt: 'yesterday' })), /requestedAt is not a date-time/);
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'V', messageId: 'V1', priority: 'asap' as never })), /priority must be one of/);
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'V', messageId: 'V1', modality: '' })), /modality is required/);
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'V', messageId: '' })), /messageId is required/);
    await assert.rejects(rt.orders.receive(OPERATOR, orderInput('no-such', { placerOrderNumber: 'V', messageId: 'V1' })), /facilityId: no such facility/);
    const tokenB = { kind: 'token', facilityId: facilityB, tokenId: 'tb', scopes: ['orders:write'], address: '' } as const;
    await assert.rejects(rt.orders.receive(tokenB, orderInput(facilityA, { placerOrderNumber: 'V', messageId: 'V1' })), { code: 'forbidden' });
    await assert.rejects(rt.orders.receive(user('technologist', facilityA), orderInput(facilityA, { placerOrderNumber: 'V', messageId: 'V1' })), { code: 'forbidden' }, 'users send through the form only');
    const ok = await rt.orders.receive(tokenB, orderInput(facilityB, { placerOrderNumber: 'V', messageId: 'V1', requestedAt: '202603100930', jj1017: 'NOT-A-CODE' }));
    const d = await rt.orders.detail(radiologist, ok.orderId);
    assert.equal(d.requestedAt, '2026-03-10T00:30:00.000Z', 'HL7 times without a zone are Tokyo time');
    assert.equal(d.jj1017?.valid, false, 'an invalid JJ1017 code from an interface is kept and shown as invalid');
    assert.match(d.jj1017!.error!, /JJ1017/);
  });
});

describe('views', { concurrency: false }, () => {
  test('JJ1017 in words on the detail; modality and contrast taken from the code', async () => {
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'J-1', messageId: 'J-1', modality: '', jj1017: '60001002000200000000000000000000' }));
    const d = await rt.orders.detail(radiologist, r.orderId);
    assert.equal(d.modality, 'CT');
    assert.equal(d.contrast, true);
    assert.equal(d.jj1017!.valid, true);
    assert.equal(d.jj1017!.description.ja, 'X線CT 造影 胸部 仰臥位');
    const part = (name: string) => d.jj1017!.elements.find((e) => e.element === name)!;
    assert.deepEqual(part('bodyPart').words, { ja: '胸部', en: 'chest' });
    assert.equal(part('bodyPart').ja, '部位');
    assert.deepEqual(part('procedureMinor').words, { ja: '造影', en: 'contrast' });
  });

  test('the list shows each order\'s JJ1017 code in words, as the detail does', async () => {
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'J-2', messageId: 'J-2', modality: '', jj1017: '60001002000200000000000000000000' }));
    const bad = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'J-3', messageId: 'J-3', procedureText: '頭部CT' }));
    const { orders } = await rt.orders.list(radiologist, { limit: 500 });
    const row = orders.find((o) => o.id === r.orderId)!;
    const detail = await rt.orders.detail(radiologist, r.orderId);
    assert.deepEqual(row.jj1017, detail.jj1017, 'the same code in words as on the order screen');
    assert.equal(row.jj1017!.description.ja, 'X線CT 造影 胸部 仰臥位');
    const words = Object.fromEntries(row.jj1017!.elements.filter((e) => e.words).map((e) => [e.element, e.words!.ja]));
    assert.deepEqual({ modality: words.modality, technique: words.procedureMinor, bodyPart: words.bodyPart }, { modality: 'X線CT', technique: '造影', bodyPart: '胸部' });
    assert.equal(orders.find((o) => o.id === bad.orderId)!.jj1017, null, 'no code, nothing to say');
  });

  test('the list: facility staff see their facility, provider readers all; filters and paging', async () => {
    const techA = user('technologist', facilityA);
    const listA = await rt.orders.list(techA, { limit: 500 });
    assert.ok(listA.total > 0 && listA.orders.every((o) => o.facilityId === facilityA));
    const all = await rt.orders.list(radiologist, { limit: 500 });
    assert.ok(all.orders.some((o) => o.facilityId === facilityB) && all.orders.some((o) => o.facilityId === facilityA));
    assert.equal(all.total, all.orders.length);
    await assert.rejects(rt.orders.list(techA, { facilityId: facilityB }), { code: 'forbidden' });
    await assert.rejects(rt.orders.list(user('facility-admin', facilityA), {}), { code: 'forbidden' });
    await assert.rejects(rt.orders.list(user('system-admin', null), {}), { code: 'forbidden' });

    const cancelled = await rt.orders.list(radiologist, { status: 'cancelled', limit: 500 });
    assert.ok(cancelled.orders.length >= 3 && cancelled.orders.every((o) => o.status === 'cancelled'));
    const mr = await rt.orders.list(radiologist, { modality: 'mr' });
    assert.ok(mr.orders.every((o) => o.modality === 'MR') && mr.total >= 1);
    const urgent = await rt.orders.list(radiologist, { priority: 'urgent' });
    assert.ok(urgent.orders.every((o) => o.priority === 'urgent'));
    // 2026-03-10T00:30Z is 09:30 on 10 March in Tokyo.
    assert.equal((await rt.orders.list(radiologist, { from: '2026-03-10', to: '2026-03-10' })).total, all.total);
    assert.equal((await rt.orders.list(radiologist, { from: '2026-03-11' })).total, 0);
    const page = await rt.orders.list(radiologist, { limit: 2, offset: 1 });
    assert.equal(page.orders.length, 2);
    assert.deepEqual(page.orders.map((o) => o.id), all.orders.slice(1, 3).map((o) => o.id));
    await assert.rejects(rt.orders.list(radiologist, { status: 'done' }), /status must be one of/);
    await assert.rejects(rt.orders.list(radiologist, { from: '2026-02-30' }), /from must be a date/);
    assert.ok((await auditOf(rt, 'order.search')).length > 0, 'searches are audited');
  });

  test('the web form: the facility\'s technologists and attending physicians; a resubmission is a duplicate', async () => {
    const techA = user('technologist', facilityA);
    const form = { facilityId: facilityA, submissionId: '5f0c1f2e-aaaa-4bbb-8ccc-000000000001', patient: { patientId: 'F-1', name: { ideographic: '田中^一郎' }, sex: 'M', birthDate: '1950-01-02' }, priority: 'urgent' as const, modality: 'ct', procedureText: '頭部CT', reason: '転倒後の頭痛' };
    const r = await rt.orders.submitForm(techA, form);
    assert.equal(r.outcome, 'created');
    assert.equal((await rt.orders.submitForm(techA, form)).outcome, 'duplicate');
    const d = await rt.orders.detail(techA, r.orderId);
    assert.equal(d.source, 'form');
    assert.match(d.placerOrderNumber, /^WEB-\d{8}-[0-9A-F]{8}$/);
    assert.equal(d.requester.name, techA.kind === 'user' ? techA.username : '');
    assert.equal(d.patient.birthDate, '19500102');
    await assert.rejects(rt.orders.submitForm(radiologist, form), { code: 'forbidden' });
    await assert.rejects(rt.orders.submitForm(user('technologist', facilityB), form), { code: 'forbidden' });
    await assert.rejects(rt.orders.submitForm(techA, { ...form, submissionId: undefined, reason: '' }), /reason/);
    await assert.rejects(rt.orders.submitForm(techA, { ...form, submissionId: undefined, jj1017: '6000100200020000000000000000000I' }), /jj1017: Invalid JJ1017 character "I" at position 32/, 'the form is strict about JJ1017');
  });

  test('protocol: radiologists write, the facility\'s technologists read; earlier versions kept', async () => {
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'P-1', messageId: 'P-1', contrast: true }));
    const techA = user('technologist', facilityA);
    await assert.rejects(rt.orders.setProtocol(techA, r.orderId, { text: 'x' }), { code: 'forbidden' });
    await assert.rejects(rt.orders.setProtocol(user('radiologist', facilityB), r.orderId, { text: 'x' }), { code: 'not_found' }, 'another facility\'s radiologist does not see the order');
    await assert.rejects(rt.orders.setProtocol(radiologist, r.orderId, { text: '' }), /text is required/);
    await rt.orders.setProtocol(radiologist, r.orderId, { text: '単純+造影、5mm' });
    const p = await rt.orders.setProtocol(user('management-physician', null), r.orderId, { text: '造影は動脈相と平衡相、1mm再構成' });
    assert.equal(p.text, '造影は動脈相と平衡相、1mm再構成');
    assert.deepEqual(p.earlier.map((e) => e.text), ['単純+造影、5mm']);
    assert.equal((await rt.orders.detail(techA, r.orderId)).protocol?.text, '造影は動脈相と平衡相、1mm再構成');
    assert.equal((await auditOf(rt, 'order.protocol', r.orderId)).length, 2);
    // Versions written within the same millisecond: the last one written is the current one.
    for (let i = 1; i <= 20; i++) await rt.orders.setProtocol(radiologist, r.orderId, { text: `第${i}版` });
    const latest = (await rt.orders.detail(techA, r.orderId)).protocol!;
    assert.equal(latest.text, '第20版');
    assert.deepEqual(latest.earlier.slice(0, 19).map((e) => e.text), Array.from({ length: 19 }, (_, i) => `第${19 - i}版`));
  });

  test('consultation thread: the order\'s facility staff and provider readers; another facility gets nothing', async () => {
    const r = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'C-1', messageId: 'C-1' }));
    const techA = user('technologist', facilityA);
    await rt.orders.postMessage(techA, r.orderId, { text: '造影剤の注入速度は？' });
    await rt.orders.postMessage(radiologist, r.orderId, { text: '3mL/秒でお願いします' });
    const thread = await rt.orders.messages(user('attending-physician', facilityA), r.orderId);
    assert.deepEqual(thread.map((m) => [m.author, m.text]), [[techA.kind === 'user' ? techA.username : '', '造影剤の注入速度は？'], ['radiologist-provider', '3mL/秒でお願いします']]);
    for (const other of [user('technologist', facilityB), user('attending-physician', facilityB)]) {
      await assert.rejects(rt.orders.messages(other, r.orderId), { code: 'not_found' });
      await assert.rejects(rt.orders.postMessage(other, r.orderId, { text: 'x' }), { code: 'not_found' });
      await assert.rejects(rt.orders.detail(other, r.orderId), { code: 'not_found' });
    }
    for (const nonReader of [user('facility-admin', facilityA), user('system-admin', null), user('auditor', null)]) {
      await assert.rejects(rt.orders.messages(nonReader, r.orderId), { code: 'forbidden' });
    }
    assert.equal((await rt.orders.detail(techA, r.orderId)).consultation.length, 2);
    assert.equal((await auditOf(rt, 'order.consultation-post', r.orderId)).length, 2);
    // Messages posted within the same millisecond keep the order they were posted in.
    for (let i = 1; i <= 20; i++) await rt.orders.postMessage(i % 2 ? techA : radiologist, r.orderId, { text: `続報 ${i}` });
    const later = (await rt.orders.messages(radiologist, r.orderId)).slice(2);
    assert.deepEqual(later.map((m) => m.text), Array.from({ length: 20 }, (_, i) => `続報 ${i + 1}`));
    assert.ok(later.every((m, i) => i === 0 || m.postedAt > later[i - 1]!.postedAt), 'each stamped after the one before');
  });

  test('an opted-out patient\'s orders are taken, and never shown with the linked record of another facility', async () => {
    const contract = { scope: { modalities: [], bodyParts: [] }, dueMinutes: { stat: 60, urgent: 240, routine: 2880 }, retentionDays: 365, contactLadder: [{ name: '当直', role: '当直', phone: '03-1111-2222', hours: '24時間' }], delivery: { route: 'fhir' as const, transcriptionConfirmer: '' }, onwardSharing: true, monitorCheckRequired: false, optOutNotice: 'お知らせ' };
    await rt.contracts.set(OPERATOR, facilityA, contract);
    await rt.contracts.set(OPERATOR, facilityB, contract);
    const a = await rt.orders.receive(OPERATOR, orderInput(facilityA, { placerOrderNumber: 'X-A', messageId: 'X-A', patient: patient('XP-A') }));
    const b = await rt.orders.receive(OPERATOR, orderInput(facilityB, { placerOrderNumber: 'X-B', messageId: 'X-B', patient: patient('XP-B') }));
    const pa = (await rt.orders.detail(radiologist, a.orderId)).patient.id;
    const pb = (await rt.orders.detail(radiologist, b.orderId)).patient.id;
    await rt.patients.link(OPERATOR, { patientA: pa, patientB: pb, reason: '同一人物' });
    const techA = user('technologist', facilityA);
    assert.deepEqual((await rt.orders.detail(techA, a.orderId)).relatedOrders.map((o) => o.id), [b.orderId], 'shared: B\'s order shows with A\'s');

    await rt.patients.recordOptOut(user('attending-physician', facilityB), pb, { date: '2026-03-01', source: '口頭' });
    const taken = await rt.orders.receive(OPERATOR, orderInput(facilityB, { placerOrderNumber: 'X-B2', messageId: 'X-B2', patient: patient('XP-B') }));
    assert.equal(taken.kind, 'created', 'the facility still gets its reading');
    const dA = await rt.orders.detail(techA, a.orderId);
    assert.deepEqual(dA.relatedOrders, [], 'nothing of the opted-out record reaches facility A');
    const dB = await rt.orders.detail(user('technologist', facilityB), taken.orderId);
    assert.equal(dB.optedOut, true);
    assert.deepEqual(dB.relatedOrders.map((o) => o.id), [b.orderId], 'its own facility sees its own orders');
  });
});
