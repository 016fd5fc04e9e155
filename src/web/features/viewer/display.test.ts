/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fidelityOf, fitScale, imageMatrix, INITIAL_TRANSFORM, panForZoomAt, ratioLabel, rotate, toCanvas, toImage, zoomStep } from './display.ts';

test('the zoom ratio reads image pixels : screen pixels', () => {
  assert.equal(ratioLabel(1), '1:1');
  assert.equal(ratioLabel(2.5), '1:2.5');
  assert.equal(ratioLabel(0.5), '2:1');
  assert.equal(ratioLabel(1 / 3), '3:1');
  assert.equal(fidelityOf(0.999), 'reduced');
  assert.equal(fidelityOf(1), 'exact');
  assert.equal(fidelityOf(1.25), 'magnified');
});

test('fit takes the rotated image into account', () => {
  assert.equal(fitScale(1000, 500, 512, 256, 0), 1000 / 512);
  assert.equal(fitScale(1000, 500, 512, 256, 90), 500 / 512);
});

test('at 1:1 the image lands on whole device pixels, whatever the canvas size and pan', () => {
  for (const [cw, ch, panX, panY] of [[1001, 701, 0, 0], [800, 600, 0.4, -13.7], [999, 333, 17.5, 2.25]] as const) {
    for (const rotation of [0, 90, 180, 270] as const) {
      for (const flipH of [false, true]) {
        const m = imageMatrix({ ...INITIAL_TRANSFORM, zoom: 1, panX, panY, rotation, flipH }, cw, ch, 512, 384);
        // Every image pixel corner maps to an integer device position.
        for (const [x, y] of [[0, 0], [512, 384], [37, 101]]) {
          const p = toCanvas(m, x!, y!);
          assert.ok(Math.abs(p.x - Math.round(p.x)) < 1e-9 && Math.abs(p.y - Math.round(p.y)) < 1e-9, `rotation ${rotation} flip ${flipH}: (${p.x}, ${p.y})`);
        }
        assert.equal(Math.abs(m.a * m.d - m.b * m.c), 1, 'scale 1');
      }
    }
  }
});

test('image and canvas coordinates map back and forth', () => {
  const m = imageMatrix({ ...INITIAL_TRANSFORM, zoom: 2.5, panX: 10, panY: -4, rotation: 90, flipV: true }, 900, 700, 512, 512);
  const p = toCanvas(m, 100.25, 300.5);
  const back = toImage(m, p.x, p.y);
  assert.ok(Math.abs(back.x - 100.25) < 1e-9 && Math.abs(back.y - 300.5) < 1e-9);
});

test('zooming keeps the point under the mouse in place', () => {
  const view = { ...INITIAL_TRANSFORM, zoom: 1, panX: 0, panY: 0 };
  const before = imageMatrix(view, 800, 600, 512, 512);
  const under = toImage(before, 150, 120);
  const pan = panForZoomAt(view, 800, 600, 150, 120, 1, 3);
  const after = imageMatrix({ ...view, zoom: 3, ...pan }, 800, 600, 512, 512);
  const p = toCanvas(after, under.x, under.y);
  assert.ok(Math.abs(p.x - 150) <= 1 && Math.abs(p.y - 120) <= 1, `${p.x},${p.y}`);
});

test('zoom steps pass through 1:1 and rotation wraps', () => {
  assert.equal(zoomStep(0.8, 1), 1);
  assert.equal(zoomStep(1.2, -1), 1);
  assert.equal(zoomStep(1, 1), 1.5);
  assert.equal(rotate(270, 1), 0);
  assert.equal(rotate(0, -1), 270);
});
