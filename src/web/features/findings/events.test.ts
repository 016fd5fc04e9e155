import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FindingAlertEvent, FindingView } from '../../../shared/findings.ts';
import { pendingAlertFor, reduceAlerts, type AlertsState } from './events.ts';

const empty: AlertsState = { live: 'live', alerts: [], seq: 0 };
const ev = (findingId: string, type: FindingAlertEvent['type'], category: FindingAlertEvent['category'] = 'critical'): FindingAlertEvent => ({ type, findingId, category, facilityName: '山田記念病院', deadlineAt: null });

test('a raised or escalated notice puts one alert per finding on screen, most pressing first', () => {
  let s = reduceAlerts(empty, { kind: 'event', event: ev('a', 'raised', 'incidental') });
  s = reduceAlerts(s, { kind: 'event', event: ev('b', 'raised', 'critical') });
  s = reduceAlerts(s, { kind: 'event', event: ev('a', 'escalated', 'incidental') });
  assert.deepEqual(s.alerts.map((a) => [a.event.findingId, a.event.type]), [['b', 'raised'], ['a', 'escalated']]);
});

test('an escalation brings a hidden alert back; acknowledgement and cancellation take it away', () => {
  let s = reduceAlerts(empty, { kind: 'event', event: ev('a', 'raised') });
  s = reduceAlerts(s, { kind: 'hide', findingId: 'a' });
  assert.equal(s.alerts[0]!.hidden, true);
  s = reduceAlerts(s, { kind: 'event', event: ev('a', 'escalated') });
  assert.equal(s.alerts[0]!.hidden, false);
  s = reduceAlerts(s, { kind: 'event', event: ev('a', 'acknowledged') });
  assert.equal(s.alerts.length, 0);
  s = reduceAlerts(s, { kind: 'event', event: ev('c', 'cancelled') });
  assert.equal(s.alerts.length, 0, 'a cancellation of an unknown notice shows nothing');
});

test('catching up after (re)connecting adds missed notices without repeating those on screen', () => {
  let s = reduceAlerts(empty, { kind: 'event', event: ev('a', 'raised') });
  s = reduceAlerts(s, { kind: 'hide', findingId: 'a' });
  s = reduceAlerts(s, { kind: 'sync', events: [{ ...ev('a', 'raised'), type: 'raised' }, { ...ev('b', 'escalated', 'urgent'), type: 'escalated' }] });
  assert.deepEqual(s.alerts.map((a) => [a.event.findingId, a.hidden]), [['a', true], ['b', false]]);
});

test('an open notice is pending for a user who has been told about it, and for nobody else', () => {
  const f = {
    id: 'f1',
    category: 'urgent',
    facilityName: '山田記念病院',
    status: 'open',
    deadlineAt: '2030-01-01T00:00:00.000Z',
    escalations: 1,
    recipients: [
      { step: 0, name: '佐藤 花子', role: '依頼医', userId: 'u-att', notifiedAt: '2029-12-31T23:00:00.000Z' },
      { step: 1, name: '田中 次郎', role: '当直医', userId: 'u-duty', notifiedAt: '2029-12-31T23:59:00.000Z' },
      { step: 2, name: '管理 太郎', role: '管理医', userId: 'u-mgmt', notifiedAt: null },
    ],
  } as unknown as FindingView;
  assert.deepEqual(pendingAlertFor(f, 'u-att'), { type: 'escalated', findingId: 'f1', category: 'urgent', facilityName: '山田記念病院', deadlineAt: '2030-01-01T00:00:00.000Z' });
  assert.equal(pendingAlertFor(f, 'u-duty')?.type, 'escalated');
  assert.equal(pendingAlertFor(f, 'u-mgmt'), null, 'not yet notified');
  assert.equal(pendingAlertFor(f, 'u-reader'), null);
  assert.equal(pendingAlertFor({ ...f, status: 'acknowledged' }, 'u-att'), null);
});
