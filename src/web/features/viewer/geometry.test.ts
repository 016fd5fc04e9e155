/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DicomJson } from './dicomJson.ts';
import { buildStack, framesOf, nearestSlice, sliceNormal, type StackItem } from './geometry.ts';

function slice(uid: string, instanceNumber: number, z: number): DicomJson {
  return {
    '00080018': { vr: 'UI', Value: [uid] },
    '00200013': { vr: 'IS', Value: [instanceNumber] },
    '00200032': { vr: 'DS', Value: [-175, -175, z] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    '00280010': { vr: 'US', Value: [512] },
    '00280011': { vr: 'US', Value: [512] },
    '00281050': { vr: 'DS', Value: ['40', '-600'] },
    '00281051': { vr: 'DS', Value: ['400', '1500'] },
  };
}

const items = (list: DicomJson[]): StackItem[] => list.flatMap((ds) => framesOf(ds, 'st', 'se'));

test('the slice normal of an axial image points to the head', () => {
  assert.deepEqual(sliceNormal([1, 0, 0, 0, 1, 0]), [0, 0, 1]);
  assert.equal(sliceNormal([1, 0, 0, 1, 0, 0]), undefined);
});

test('slices are ordered by position, in the direction of ascending instance numbers', () => {
  // Instance numbers out of step with the positions (a re-numbered series).
  const stack = buildStack(items([slice('c', 3, 45), slice('a', 1, 50), slice('b', 2, 47.5), slice('d', 9, 42.5)]));
  assert.deepEqual(stack.items.map((i) => i.sopInstanceUid), ['a', 'b', 'c', 'd']);
  assert.deepEqual(stack.positions, [50, 47.5, 45, 42.5]);
  assert.deepEqual(stack.items[0]!.window, { center: 40, width: 400 });
});

test('without positions the instance number decides', () => {
  const stack = buildStack(items([{ '00080018': { vr: 'UI', Value: ['y'] }, '00200013': { vr: 'IS', Value: [2] } }, { '00080018': { vr: 'UI', Value: ['x'] }, '00200013': { vr: 'IS', Value: [1] } }]));
  assert.deepEqual(stack.items.map((i) => i.sopInstanceUid), ['x', 'y']);
  assert.equal(stack.normal, undefined);
});

test('a prior with other slice spacing is matched to the nearest slice position', () => {
  const current = buildStack(items(Array.from({ length: 41 }, (_, i) => slice(`c${i}`, i + 1, 50 - i * 2.5))));
  const prior = buildStack(items(Array.from({ length: 20 }, (_, i) => slice(`p${i}`, i + 1, 47.5 - i * 5))));
  assert.equal(nearestSlice(prior, current.positions[15]!, current.normal), 7); // 12.5 mm
  assert.equal(nearestSlice(prior, 100, current.normal), 0);
  assert.equal(nearestSlice(prior, 12.5, [0, 1, 0]), undefined, 'another plane orientation');
  // A normal pointing the other way measures positions with the opposite sign.
  assert.equal(nearestSlice(prior, -12.5, [0, 0, -1]), 7);
});

test('multi-frame objects give one item per frame with per-frame positions', () => {
  const ds: DicomJson = {
    '00080018': { vr: 'UI', Value: ['mf'] },
    '00280008': { vr: 'IS', Value: [3] },
    '00181063': { vr: 'DS', Value: [40] },
    '52009229': { vr: 'SQ', Value: [{ '00209116': { vr: 'SQ', Value: [{ '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] } }] } }] },
    '52009230': { vr: 'SQ', Value: [0, 1, 2].map((f) => ({ '00209113': { vr: 'SQ', Value: [{ '00200032': { vr: 'DS', Value: [0, 0, f * 3] } }] } })) },
  };
  const frames = framesOf(ds, 'st', 'se');
  assert.equal(frames.length, 3);
  assert.ok(frames.every((f) => f.multiFrame && f.frameTimeMs === 40));
  assert.deepEqual(frames.map((f) => f.position?.[2]), [0, 3, 6]);
});
