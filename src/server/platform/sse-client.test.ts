/** The event-stream reader used by the tests and benchmarks that watch Enkaku's streams. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sseReader } from './sse-client.ts';

test('events split across chunks arrive whole, in order, and a partial block waits', () => {
  const seen: Array<[string, string]> = [];
  const read = sseReader((name, data) => seen.push([name, data]));
  read('event: ready\ndata: {}\n\nevent: find');
  assert.deepEqual(seen, [['ready', '{}']]);
  read('ing\ndata: {"type":"raised"}\n');
  assert.equal(seen.length, 1, 'no blank line yet: the block is not complete');
  read('\n: heartbeat\n\ndata: plain\n\n');
  assert.deepEqual(seen, [
    ['ready', '{}'],
    ['finding', '{"type":"raised"}'],
    ['message', ''],
    ['message', 'plain'],
  ]);
});
