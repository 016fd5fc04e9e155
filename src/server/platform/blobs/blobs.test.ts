import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobStore } from './index.ts';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-blobs-'));
}

test('a blob is stored under the SHA-256 of its bytes and reads back identical', async () => {
  const dir = tmp();
  const store = await BlobStore.open(dir);
  const bytes = Buffer.from('DICOM bytes kept exactly as received \u0000\u00ff', 'latin1');
  const { sha256, size } = await store.put(bytes);
  assert.equal(sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(size, bytes.length);
  assert.deepEqual(await store.read(sha256), bytes);
  assert.ok(await store.verify(sha256));
  assert.equal(fs.readdirSync(path.join(dir, 'tmp')).length, 0, 'no temporary file remains');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a read given the recorded size returns the whole file, whatever its size now', async () => {
  const dir = tmp();
  const store = await BlobStore.open(dir);
  const bytes = Buffer.alloc(300_000, 7);
  const { sha256 } = await store.put(bytes);
  assert.deepEqual(await store.read(sha256, bytes.length), bytes);
  const file = store.pathOf(sha256);
  fs.chmodSync(file, 0o600);
  fs.writeFileSync(file, Buffer.concat([bytes, Buffer.from('more')]));
  assert.equal((await store.read(sha256, bytes.length)).length, bytes.length + 4, 'a longer file is read to its end');
  fs.writeFileSync(file, bytes.subarray(0, 1000));
  assert.equal((await store.read(sha256, bytes.length)).length, 1000, 'a shorter file is read as it is');
  await assert.rejects(store.read('0'.repeat(64), 10), { code: 'ENOENT' });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('storing the same bytes twice keeps one file', async () => {
  const dir = tmp();
  const store = await BlobStore.open(dir);
  const a = await store.put(Buffer.from('same'));
  const b = await store.put(Buffer.from('same'));
  assert.equal(a.sha256, b.sha256);
  assert.equal(fs.readdirSync(path.join(dir, 'blobs', a.sha256.slice(0, 2))).length, 1);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an aborted write leaves nothing behind, and leftovers of a crash are cleared on open', async () => {
  const dir = tmp();
  const store = await BlobStore.open(dir);
  const w = await store.create();
  await w.write(Buffer.from('half an object'));
  await w.abort();
  assert.equal(fs.readdirSync(path.join(dir, 'tmp')).length, 0);
  // A crash mid-write leaves a .part file; reopening removes it.
  fs.writeFileSync(path.join(dir, 'tmp', 'crashed.part'), 'partial');
  await BlobStore.open(dir);
  assert.equal(fs.readdirSync(path.join(dir, 'tmp')).length, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('verify detects a blob altered on disk', async () => {
  const dir = tmp();
  const store = await BlobStore.open(dir);
  const { sha256 } = await store.put(Buffer.from('original'));
  fs.chmodSync(store.pathOf(sha256), 0o600);
  fs.writeFileSync(store.pathOf(sha256), 'tampered');
  assert.equal(await store.verify(sha256), false);
  fs.rmSync(dir, { recursive: true, force: true });
});
