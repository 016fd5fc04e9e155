/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VARIANT_INDEX, LinkEstimator, LOSSY_LADDER } from './link.ts';

const PIXELS = 512 * 512;

test('before measuring, fast frames are JPEG quality 60 at full size', () => {
  const link = new LinkEstimator();
  assert.equal(link.choose(PIXELS), DEFAULT_VARIANT_INDEX);
  assert.deepEqual(LOSSY_LADDER[DEFAULT_VARIANT_INDEX], { quality: 60, scale: 1 });
});

test('a slow link lowers the quality, then the size; a fast one raises it step by step', () => {
  const link = new LinkEstimator(30, 0.75);
  // 20 Mbit/s: 2.5 MB/s; fast frames of 100 kB back to back take 40 ms each, too big for 30 per second.
  let t = 0;
  for (let i = 0; i < 20; i++) {
    link.record(t, t + 40, t + 80, 100_000);
    link.recordLossy(1, 100_000, PIXELS);
    t += 40;
  }
  const slow = link.choose(PIXELS);
  assert.ok(slow > DEFAULT_VARIANT_INDEX, `rung ${slow}`);
  const budget = (link.throughput()! * 0.75) / 30;
  assert.ok(link.predictBytes(slow, PIXELS) <= budget || slow === LOSSY_LADDER.length - 1);
  // 1 Gbit/s loopback-like answers.
  const fast = new LinkEstimator();
  for (let i = 0; i < 20; i++) fast.record(i, i + 1, i + 1.2, 40_000);
  assert.equal(fast.choose(PIXELS), 0, 'one rung up from the default');
});

test('parallel answers count their transfer time once', () => {
  const link = new LinkEstimator();
  for (let i = 0; i < 6; i++) link.record(0, 10, 110, 100_000);
  assert.equal(Math.round(link.throughput()!), 6_000_000);
});
