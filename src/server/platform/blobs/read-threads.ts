/**
 * Reading stored files on worker threads, into shared memory, with their SHA-256 computed
 * there as well. A viewer scrolling a series, or asking for its metadata, reads hundreds of
 * files in a row from the page cache, each of which must have its digest checked (A6):
 *
 * - On libuv's thread pool the file costs two round trips (open, read) and the digest
 *   (WebCrypto) a copy of the whole file into fresh memory, which the kernel then faults in
 *   page by page: together more than the parsing that follows.
 * - Here a worker opens, reads and closes the file in one go into memory the caller lends
 *   (a SharedArrayBuffer), says how many bytes it read, and then hashes those same bytes,
 *   while the calling thread is already parsing them.
 *
 * A worker that fails takes its pending reads with it (they reject with
 * {@link ReadThreadGone}; the caller may read otherwise) and is replaced on the next read.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The worker: plain JavaScript (it runs without the TypeScript loader). Messages in:
 * `{ id, file, expected, memory }`. Out: `{ id, bytesRead }` once the bytes are in `memory`,
 * then `{ id, sha256 }` (lower-case hex) when exactly `expected` bytes were read, or
 * `{ id, error, code }` when the file could not be read. Without `file`, the first
 * `expected` bytes of `memory` are only hashed: `{ id, sha256 }`.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  if (m.file === undefined) {
    // Digest only: the caller has read the bytes into the memory itself.
    try {
      parentPort.postMessage({ id: m.id, sha256: createHash('sha256').update(new Uint8Array(m.memory, 0, m.expected)).digest('hex') });
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: 'digest failed: ' + String(err && err.message) });
    }
    return;
  }
  let fd;
  let bytesRead = -1;
  try {
    fd = fs.openSync(m.file, 'r');
    // One byte more than expected tells a longer file from an exact one.
    const view = new Uint8Array(m.memory, 0, Math.min(m.memory.byteLength, m.expected + 1));
    bytesRead = fs.readSync(fd, view, 0, view.length, 0);
    fs.closeSync(fd);
    fd = undefined;
    parentPort.postMessage({ id: m.id, bytesRead });
    if (bytesRead === m.expected) {
      parentPort.postMessage({ id: m.id, sha256: createHash('sha256').update(view.subarray(0, bytesRead)).digest('hex') });
    }
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch {}
    }
    if (bytesRead < 0) parentPort.postMessage({ id: m.id, error: String(err && err.message), code: err && err.code });
    else parentPort.postMessage({ id: m.id, error: 'digest failed: ' + String(err && err.message) });
  }
});
`;

/** A read that was still pending when its worker thread stopped. */
export class ReadThreadGone extends Error {
  constructor(reason: string) {
    super(`file read thread stopped: ${reason}`);
    this.name = 'ReadThreadGone';
  }
}

/** A file read into lent shared memory, with its digest still being computed. */
export interface ThreadRead {
  /** Bytes read into the memory (at most expected + 1). */
  bytesRead: number;
  /**
   * Lower-case hex SHA-256 of the bytes read; computed only when exactly the expected number
   * was read (otherwise this rejects). The memory must not change before it settles.
   */
  sha256: Promise<string>;
}

interface Pending {
  expected: number;
  /** Undefined for a digest only ({@link ReadThreads.hash}). */
  read: { resolve(r: ThreadRead): void; reject(err: Error): void } | undefined;
  digest: { resolve(hex: string): void; reject(err: Error): void } | undefined;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

type Message = { id: number; bytesRead: number } | { id: number; sha256: string } | { id: number; error: string; code?: string };

/** A few worker threads that read files and compute their SHA-256 (see the module comment). */
export class ReadThreads {
  private readonly threads: Array<Thread | undefined>;
  private nextId = 1;
  private closed = false;

  /** @param count worker threads (default: half the CPUs, 2 to 8) */
  constructor(count = Math.min(8, Math.max(2, Math.floor(os.availableParallelism() / 2)))) {
    this.threads = new Array<Thread | undefined>(count).fill(undefined);
  }

  /**
   * Reads the first `expected + 1` bytes of `file` (fewer if `memory` is smaller) into
   * `memory`. Resolves once the bytes are there; the digest follows (see {@link ThreadRead}).
   * `memory` must not be written or reused before the digest has settled.
   * @throws Error with the file system's `code` (e.g. ENOENT) when the file cannot be read
   * @throws ReadThreadGone when the worker stopped (or the reader was closed) first
   */
  read(file: string, expected: number, memory: SharedArrayBuffer): Promise<ThreadRead> {
    if (this.closed) return Promise.reject(new ReadThreadGone('closed'));
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<ThreadRead>((resolve, reject) => {
      thread.pending.set(id, { expected, read: { resolve, reject }, digest: undefined });
      thread.worker.postMessage({ id, file, expected, memory });
    });
  }

  /**
   * The SHA-256 (lower-case hex) of the first `length` bytes of `memory`, computed on a worker
   * thread. `memory` must not change before the promise settles.
   * @throws ReadThreadGone when the worker stopped (or the reader was closed) first
   */
  hash(memory: SharedArrayBuffer, length: number): Promise<string> {
    if (this.closed) return Promise.reject(new ReadThreadGone('closed'));
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      thread.pending.set(id, { expected: length, read: undefined, digest: { resolve, reject } });
      thread.worker.postMessage({ id, expected: length, memory });
    });
  }

  /** Stops the worker threads; pending reads reject. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  /** The thread with the fewest reads pending, started if needed. */
  private pick(): Thread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t) {
        best = i;
        break;
      }
      if (best < 0 || t.pending.size < this.threads[best]!.pending.size) best = i;
    }
    return this.threads[best] ?? this.start(best);
  }

  private start(slot: number): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'enkaku-file-read' });
    // An idle reader never keeps the process alive.
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    this.threads[slot] = thread;
    worker.on('message', (m: Message) => this.receive(thread, m));
    const fail = (reason: string): void => {
      if (this.threads[slot] === thread) this.threads[slot] = undefined;
      const err = new ReadThreadGone(reason);
      for (const p of thread.pending.values()) {
        if (p.digest) p.digest.reject(err);
        else p.read?.reject(err);
      }
      thread.pending.clear();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exit ${code}`));
    return thread;
  }

  private receive(thread: Thread, m: Message): void {
    const p = thread.pending.get(m.id);
    if (!p) return;
    if ('error' in m) {
      thread.pending.delete(m.id);
      const err = Object.assign(new Error(m.error), m.code ? { code: m.code } : {});
      if (p.digest) p.digest.reject(err);
      else p.read?.reject(err);
      return;
    }
    if ('bytesRead' in m) {
      const sha256 = new Promise<string>((resolve, reject) => {
        p.digest = { resolve, reject };
      });
      // The caller may fail before awaiting the digest; its rejection is then not unhandled.
      sha256.catch(() => undefined);
      if (m.bytesRead !== p.expected) {
        // The worker computes no digest of a file that is not the expected size.
        thread.pending.delete(m.id);
        p.digest!.reject(new Error(`the file holds ${m.bytesRead > p.expected ? 'more' : 'fewer'} bytes than expected (${p.expected})`));
      }
      p.read?.resolve({ bytesRead: m.bytesRead, sha256 });
      return;
    }
    thread.pending.delete(m.id);
    p.digest?.resolve(m.sha256);
  }
}
