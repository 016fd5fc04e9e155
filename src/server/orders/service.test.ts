import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime } from '../../../test/helpers.ts';
import type { Actor } from '../platform/context.ts';

const OPERATOR: Actor = { kind: 'system', name: 'test' };

test('DICOM nodes and the prior policy of a facility', async (t) => {
  const rt = await testRuntime();
  t.after(() => rt.cleanup());
  const f = await rt.facilities.add(OPERATOR, { name: '北病院', aets: ['KITA_CT'] });

  await assert.rejects(rt.facilities.setPriorPolicy(OPERATOR, '北病院', { enabled: true }), /register the PACS/, 'priors need a PACS first');
  await assert.rejects(rt.facilities.addNode(OPERATOR, '北病院', { aet: 'KITA_PACS', host: 'pacs.kita', port: 104, tls: false, query: false, destination: false }), /must be/);
  await assert.rejects(rt.facilities.addNode(OPERATOR, '北病院', { aet: 'KITA_PACS', host: 'pacs kita', port: 104, tls: false, query: true, destination: false }), /invalid host/);
  await assert.rejects(rt.facilities.addNode(OPERATOR, '北病院', { aet: 'KITA_PACS', host: 'pacs.kita', port: 0, tls: false, query: true, destination: false }), /invalid port/);
  await assert.rejects(rt.facilities.addNode({ kind: 'device', facilityId: f.id, aet: 'KITA_CT', address: '127.0.0.1' }, '北病院', { aet: 'X', host: 'h', port: 1, tls: false, query: true, destination: false }), /operator/);

  const pacs = await rt.facilities.addNode(OPERATOR, '北病院', { aet: 'KITA_PACS', host: 'pacs.kita', port: 104, tls: true, query: true, destination: true });
  await rt.facilities.addNode(OPERATOR, '北病院', { aet: 'KITA_VIEW', host: '10.0.0.5', port: 11112, tls: false, query: false, destination: true });
  await assert.rejects(rt.facilities.addNode(OPERATOR, '北病院', { aet: 'KITA_PACS', host: 'other', port: 104, tls: false, query: true, destination: false }), /already registered/);

  assert.equal((await rt.facilities.priorSource(f.id))?.id, pacs.id);
  assert.equal((await rt.facilities.moveDestination(f.id, 'KITA_VIEW'))?.port, 11112);
  assert.equal(await rt.facilities.moveDestination(f.id, 'UNKNOWN'), undefined, 'unregistered destinations are unknown');

  assert.deepEqual(await rt.facilities.priorPolicy(f.id), { enabled: false, years: 5, modalities: [], maxStudies: 5, retrieve: 'get' });
  const p = await rt.facilities.setPriorPolicy(OPERATOR, '北病院', { enabled: true, years: 3, modalities: ['ct', 'MR', 'CT'], retrieve: 'move' });
  assert.deepEqual(p, { enabled: true, years: 3, modalities: ['CT', 'MR'], maxStudies: 5, retrieve: 'move' });
  assert.deepEqual(await rt.facilities.priorPolicy(f.id), p, 'policy is kept');
  await rt.facilities.setPriorPolicy(OPERATOR, '北病院', { maxStudies: 2 });
  assert.equal((await rt.facilities.priorPolicy(f.id)).maxStudies, 2, 'updates keep other settings');
  assert.equal((await rt.facilities.priorPolicy(f.id)).years, 3);
  await assert.rejects(rt.facilities.setPriorPolicy(OPERATOR, '北病院', { years: -1 }), /years/);
  await assert.rejects(rt.facilities.setPriorPolicy(OPERATOR, '北病院', { modalities: ['C T'] }), /modality/);
});
