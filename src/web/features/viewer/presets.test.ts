/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dragWindow, presetForKey, presetsFor, windowParam } from './presets.ts';

test('keys 1 to 7 are the CT presets and 0 the object\u2019s own window', () => {
  assert.deepEqual(presetForKey('1')?.window, { center: 40, width: 80 });
  assert.deepEqual(presetForKey('2')?.window, { center: 75, width: 215 });
  assert.deepEqual(presetForKey('3')?.window, { center: -600, width: 1500 });
  assert.deepEqual(presetForKey('4')?.window, { center: 50, width: 350 });
  assert.deepEqual(presetForKey('5')?.window, { center: 40, width: 400 });
  assert.deepEqual(presetForKey('6')?.window, { center: 60, width: 160 });
  assert.deepEqual(presetForKey('7')?.window, { center: 500, width: 2000 });
  assert.equal(presetForKey('0')?.id, 'auto');
  assert.equal(presetForKey('0')?.window, undefined);
  assert.deepEqual(presetsFor('MR').map((p) => p.id), ['auto']);
});

test('the window parameter and dragging', () => {
  assert.equal(windowParam({ center: -600, width: 1500 }), '-600,1500,linear');
  assert.equal(windowParam(undefined), undefined);
  const w = dragWindow({ center: 40, width: 400 }, 10, -5);
  assert.ok(w.width > 400 && w.center < 40);
  assert.equal(dragWindow({ center: 0, width: 2 }, -1000, 0).width, 1);
});
