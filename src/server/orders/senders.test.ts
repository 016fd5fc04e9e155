import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';

const OP = { kind: 'system', name: 'test' } as const;

describe('Hl7SenderRegistry', () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let a = '';
  let b = '';
  before(async () => {
    rt = await testRuntime();
    a = (await rt.facilities.add(OP, { name: 'Sender A', aets: [] })).id;
    b = (await rt.facilities.add(OP, { name: 'Sender B', aets: [] })).id;
  });
  after(async () => rt?.cleanup());

  it('binds a sending facility, and an application of it more precisely, to facilities', async () => {
    await rt.hl7Senders.add(OP, 'Sender A', { sendingFacility: '1312345678' });
    await rt.hl7Senders.add(OP, 'Sender B', { sendingFacility: '1312345678', sendingApplication: 'RIS-B' });
    assert.equal((await rt.hl7Senders.resolve('1312345678', 'HIS'))?.facilityId, a, 'any application of the facility');
    assert.equal((await rt.hl7Senders.resolve('1312345678', 'RIS-B'))?.facilityId, b, 'the exact application first');
    assert.equal(await rt.hl7Senders.resolve('9999999999', 'HIS'), undefined);
    assert.equal(await rt.hl7Senders.resolve('', ''), undefined);
    assert.deepEqual((await rt.hl7Senders.list(b)).map((s) => s.sendingApplication), ['RIS-B']);
  });

  it('refuses duplicates, unknown facilities, HL7 delimiters and non-operators', async () => {
    await assert.rejects(rt.hl7Senders.add(OP, 'Sender A', { sendingFacility: '1312345678' }), { code: 'conflict' });
    await assert.rejects(rt.hl7Senders.add(OP, 'Nowhere', { sendingFacility: 'X' }), { code: 'not_found' });
    await assert.rejects(rt.hl7Senders.add(OP, 'Sender A', { sendingFacility: 'A^B' }), { code: 'bad_request' });
    await assert.rejects(rt.hl7Senders.add({ kind: 'token', facilityId: a, tokenId: 't', scopes: ['orders:write'], address: '' }, 'Sender A', { sendingFacility: 'Y' }), { code: 'forbidden' });
  });
});
