import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { Hl7SenderRegistry } from './senders.ts';
import { auditOf } from './test-fixtures.ts';

const OP = { kind: 'system', name: 'test' } as const;

describe('Hl7SenderRegistry', () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let senders: Hl7SenderRegistry;
  let a = '';
  let b = '';
  before(async () => {
    rt = await testRuntime();
    senders = new Hl7SenderRegistry(rt.db.kysely, rt.audit);
    a = (await rt.facilities.add(OP, { name: 'Sender A', aets: [] })).id;
    b = (await rt.facilities.add(OP, { name: 'Sender B', aets: [] })).id;
  });
  after(async () => rt?.cleanup());

  it('binds a sending facility, and an application of it more precisely, to facilities', async () => {
    await senders.add(OP, 'Sender A', { sendingFacility: '1312345678' });
    await senders.add(OP, 'Sender B', { sendingFacility: '1312345678', sendingApplication: 'RIS-B' });
    assert.equal((await senders.resolve('1312345678', 'HIS'))?.facilityId, a, 'any application of the facility');
    assert.equal((await senders.resolve('1312345678', 'RIS-B'))?.facilityId, b, 'the exact application first');
    assert.equal(await senders.resolve('9999999999', 'HIS'), undefined);
    assert.equal(await senders.resolve('', ''), undefined);
    assert.deepEqual((await senders.list(b)).map((s) => s.sendingApplication), ['RIS-B']);
  });

  it('audits every registration: who, which facility, which MSH-4 and MSH-3', async () => {
    const sender = await senders.add({ kind: 'system', name: 'operator-cli' }, 'Sender B', { sendingFacility: '1399999999', sendingApplication: 'HIS-2' });
    const entries = await auditOf(rt, 'facility.hl7-sender.add', b);
    const entry = entries.find((e) => e.details.senderId === sender.id);
    assert.ok(entry, JSON.stringify(entries));
    assert.equal(entry.outcome, 'success');
    assert.deepEqual(entry.details, { senderId: sender.id, facilityName: 'Sender B', sendingFacility: '1399999999', sendingApplication: 'HIS-2' });
    const record = (await rt.audit.search(OP, { action: 'facility.hl7-sender.add', limit: 10 })).records.find((r) => r.details.senderId === sender.id)!;
    assert.equal(record.actor.kind, 'system');
    assert.equal(record.actor.name, 'operator-cli');
    assert.equal(record.facilityId, b);
    const wide = await senders.add(OP, 'Sender A', { sendingFacility: '1388888888' });
    assert.equal((await auditOf(rt, 'facility.hl7-sender.add', a)).find((e) => e.details.senderId === wide.id)?.details.sendingApplication, '(any)');
  });

  it('refuses duplicates, unknown facilities, HL7 delimiters and non-operators, and audits nothing for them', async () => {
    const before = (await auditOf(rt, 'facility.hl7-sender.add')).length;
    await assert.rejects(senders.add(OP, 'Sender A', { sendingFacility: '1312345678' }), { code: 'conflict' });
    await assert.rejects(senders.add(OP, 'Nowhere', { sendingFacility: 'X' }), { code: 'not_found' });
    await assert.rejects(senders.add(OP, 'Sender A', { sendingFacility: 'A^B' }), { code: 'bad_request' });
    await assert.rejects(senders.add({ kind: 'token', facilityId: a, tokenId: 't', scopes: ['orders:write'], address: '' }, 'Sender A', { sendingFacility: 'Y' }), { code: 'forbidden' });
    assert.equal((await auditOf(rt, 'facility.hl7-sender.add')).length, before);
  });

  it('registers nothing unaudited: a registry without the audit trail refuses', async () => {
    const unaudited = new Hl7SenderRegistry(rt.db.kysely);
    await assert.rejects(unaudited.add(OP, 'Sender A', { sendingFacility: '1377777777' }), { code: 'internal' });
    assert.equal(await senders.resolve('1377777777', ''), undefined);
  });
});
