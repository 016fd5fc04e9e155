/**
 * Verified reads (A6): every read checks the file's SHA-256; files lent for parsing come
 * from reused memory and never mix up, whether read on worker threads or on the thread pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobStore, ReadThreads } from '../platform/blobs/index.ts';
import { VerifiedReader } from './read.ts';

async function setup(threads?: ReadThreads) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-read-'));
  const blobs = await BlobStore.open(dir);
  const mismatches: string[] = [];
  const reader = new VerifiedReader(blobs, async (sop) => {
    mismatches.push(sop);
  }, threads);
  const put = async (sop: string, bytes: Buffer) => {
    const { sha256, size } = await blobs.put(bytes);
    return { sop_instance_uid: sop, blob_sha256: sha256, size_bytes: size };
  };
  return { dir, blobs, reader, mismatches, put };
}

for (const mode of ['worker threads', 'read now, digest on a worker thread', 'thread pool'] as const) {
  test(`files lent in reused memory, many at once and of different sizes, each give their own content (${mode})`, async () => {
    const threads = mode === 'thread pool' ? undefined : new ReadThreads(2);
    const now = mode.startsWith('read now');
    const { dir, reader, put } = await setup(threads);
    const files = Array.from({ length: 40 }, (_, i) => Buffer.alloc(10_000 + i * 37_123, i + 1));
    const refs = await Promise.all(files.map((b, i) => put(`1.2.${i}`, b)));
    for (let round = 0; round < 2; round++) {
      const digests = await Promise.all(refs.map((r) => reader.withFile(r, async (bytes) => {
        await new Promise((res) => setTimeout(res, Math.random() * 3));
        return createHash('sha256').update(bytes).digest('hex');
      }, now)));
      assert.deepEqual(digests, refs.map((r) => r.blob_sha256));
    }
    // Without a recorded size the file is read whole all the same.
    assert.equal(await reader.withFile({ ...refs[3]!, size_bytes: null }, (b) => b.length, now), files[3]!.length);
    await threads?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`a lent file that fails its check is refused and reported, whatever the reader made of it (${mode})`, async () => {
    const threads = mode === 'thread pool' ? undefined : new ReadThreads(2);
    const now = mode.startsWith('read now');
    const { dir, blobs, reader, mismatches, put } = await setup(threads);
    const ref = await put('1.2.99', Buffer.alloc(70_000, 5));
    const file = blobs.pathOf(ref.blob_sha256);
    fs.chmodSync(file, 0o600);
    const altered = Buffer.alloc(70_000, 5);
    altered[100] = 6;
    fs.writeFileSync(file, altered);
    await assert.rejects(reader.withFile(ref, (b) => b.length, now), /integrity check/);
    await assert.rejects(reader.withFile(ref, () => {
      throw new Error('could not parse');
    }, now), /integrity check/, 'the integrity failure is what is reported');
    await assert.rejects(reader.read(ref), /integrity check/);
    assert.deepEqual(mismatches, ['1.2.99', '1.2.99', '1.2.99']);
    await threads?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('on worker threads: a file longer or shorter than recorded, or missing, is refused; a stopped thread is replaced', async () => {
  const threads = new ReadThreads(1);
  const { dir, blobs, reader, mismatches, put } = await setup(threads);
  const ref = await put('1.2.7', Buffer.alloc(50_000, 7));
  const file = blobs.pathOf(ref.blob_sha256);
  fs.chmodSync(file, 0o600);
  fs.appendFileSync(file, Buffer.from([1]));
  for (const now of [false, true]) {
    await assert.rejects(reader.withFile(ref, (b) => b.length, now), /integrity check/, 'one byte more');
  }
  fs.truncateSync(file, 49_000);
  for (const now of [false, true]) {
    await assert.rejects(reader.withFile(ref, (b) => b.length, now), /integrity check/, 'a shortened file');
  }
  assert.deepEqual(mismatches, ['1.2.7', '1.2.7', '1.2.7', '1.2.7']);
  fs.rmSync(file);
  for (const now of [false, true]) {
    await assert.rejects(reader.withFile(ref, (b) => b.length, now), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  }

  // A worker that stops fails its pending reads; the next read starts a new one.
  const good = await put('1.2.8', Buffer.alloc(30_000, 8));
  assert.equal(await reader.withFile(good, (b) => b[100]), 8);
  await (threads as unknown as { threads: Array<{ worker: { terminate(): Promise<number> } }> }).threads[0]!.worker.terminate();
  assert.equal(await reader.withFile(good, (b) => b[29_999]), 8);
  await (threads as unknown as { threads: Array<{ worker: { terminate(): Promise<number> } }> }).threads[0]!.worker.terminate();
  assert.equal(await reader.withFile(good, (b) => b[29_999], true), 8, 'read now, with its digest on a new worker');
  await threads.close();
  await assert.rejects(threads.read(blobs.pathOf(good.blob_sha256), 30_000, new SharedArrayBuffer(65_536)), /stopped: closed/);
  assert.equal(await reader.withFile(good, (b) => b.length), 30_000, 'a closed reader falls back to the thread pool');
  fs.rmSync(dir, { recursive: true, force: true });
});
