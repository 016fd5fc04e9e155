/**
 * The parts of findings that need no database: the one outside message (a prompt with the
 * opaque id and the category, W11), phone numbers for the SMS gateway, the monthly review's
 * schedule in Asia/Tokyo, name matching of the ladder, and the statistics' quantiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingUrl, outsideMessage, smsNumber } from './channels.ts';
import { nextReview } from './escalation.ts';
import { nameKey } from './ladder.ts';
import { quantile } from './views.ts';

test('the outside message says only: open Enkaku, with the finding\'s id or link and its category', () => {
  const id = '0b6c7d0e-1111-4222-8333-944445555666';
  const m = outsideMessage({ findingId: id, category: 'critical', kind: 'raised', url: findingUrl('https://enkaku.example.jp/', id) });
  assert.deepEqual(m.json, { type: 'enkaku.finding', event: 'raised', findingId: id, category: 'critical', url: `https://enkaku.example.jp/findings/${id}` });
  assert.match(m.text, /Enkaku を開いて/);
  assert.match(m.text, new RegExp(`https://enkaku.example.jp/findings/${id}`));
  assert.match(m.subject, /緊急.*critical/);
  const noUrl = outsideMessage({ findingId: id, category: 'incidental', kind: 'escalated', url: findingUrl(undefined, id) });
  assert.equal(noUrl.json.url, null);
  assert.match(noUrl.text, new RegExp(`Enkaku の通知 ${id}`));
  assert.match(noUrl.text, /再通知/);
  // The builder's input has no room for anything else: its only fields are listed here.
  assert.deepEqual(Object.keys(m).sort(), ['json', 'subject', 'text']);
});

test('phone numbers for SMS: digits with an optional +, separators removed; anything else is no number', () => {
  assert.equal(smsNumber('090-1111-2222'), '09011112222');
  assert.equal(smsNumber('+81 90 1111 2222'), '+819011112222');
  assert.equal(smsNumber('(03) 1234-5678'), '0312345678');
  assert.equal(smsNumber('内線 123'), null);
  assert.equal(smsNumber(''), null);
});

test('the monthly review runs at 00:00 Asia/Tokyo on the 1st of the next month', () => {
  // 2026-01-31 23:30 in Tokyo is still January: the next review is for February.
  assert.deepEqual(nextReview(new Date('2026-01-31T14:30:00Z'), 0), { key: 'monthly:2026-02', period: '2026-02', runAfter: new Date('2026-01-31T15:00:00Z') });
  // 2026-02-01 00:30 in Tokyo: February has begun, the next is March.
  assert.deepEqual(nextReview(new Date('2026-01-31T15:30:00Z'), 0), { key: 'monthly:2026-03', period: '2026-03', runAfter: new Date('2026-02-28T15:00:00Z') });
  assert.equal(nextReview(new Date('2026-12-15T00:00:00Z'), 0).key, 'monthly:2027-01');
  const weekly = nextReview(new Date('2026-03-10T12:00:00Z'), 7);
  assert.ok(weekly.runAfter > new Date('2026-03-10T12:00:00Z'));
  assert.ok(weekly.runAfter.getTime() - Date.parse('2026-03-10T12:00:00Z') <= 7 * 86_400_000);
  assert.match(weekly.key, /^every-7d:\d+$/);
});

test('ladder names match without spaces, width or HL7 separators', () => {
  assert.equal(nameKey('佐藤 花子'), nameKey('佐藤花子'));
  assert.equal(nameKey('佐藤　花子'), nameKey('佐藤^花子'));
  assert.equal(nameKey('ＳＡＴＯ Hanako'), nameKey('sato hanako'));
  assert.notEqual(nameKey('佐藤 花子'), nameKey('佐藤 華子'));
});

test('quantiles of acknowledgement minutes', () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([4], 0.9), 4);
  assert.equal(quantile([1, 2, 3, 10], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9.1);
});
