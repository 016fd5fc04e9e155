import { test } from 'node:test';
import assert from 'node:assert/strict';
import ja from '../../i18n/ja.json' with { type: 'json' };
import en from '../../i18n/en.json' with { type: 'json' };
import { formatDuration, type DurationT } from './format.ts';

const translator = (texts: Record<string, string>): DurationT => (key, options) =>
  texts[key.split('.').at(-1)!]!.replace(/\{\{(\w+)\}\}/g, (_, k: string) => String(options[k]));

test('the countdown reads in days and hours, hours and minutes, or minutes and seconds', () => {
  const tja = translator(ja.worklist.duration);
  const ten = translator(en.worklist.duration);
  assert.equal(formatDuration(27 * 3600_000 + 59_000, tja), '1日3時間');
  assert.equal(formatDuration(2 * 3600_000 + 5 * 60_000, tja), '2時間05分');
  assert.equal(formatDuration(12 * 60_000 + 34_500, tja), '12分34秒');
  assert.equal(formatDuration(-(90 * 60_000), ten), '1h 30m', 'overdue times count the same way');
  assert.equal(formatDuration(4_000, ten), '0m 04s');
});
