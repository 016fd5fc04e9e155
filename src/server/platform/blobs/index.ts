/**
 * Content-addressed blob store. A blob's name is the SHA-256 of its bytes. Writes go to
 * a temporary file that is fsynced, renamed into place and whose directory is fsynced,
 * so a blob either exists whole or not at all, even across `kill -9` or power loss.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

const HEX = /^[0-9a-f]{64}$/;

/** A blob being written; call {@link BlobWriter.commit} or {@link BlobWriter.abort}. */
export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
  /** SHA-256 of the bytes written; ends writing. */
  digest(): string;
  /**
   * Flushes the bytes to disk (fsync) and closes the temporary file, which stays
   * readable at the returned path until commit or abort. Chunks passed to `write` must
   * not be modified until the seal completes.
   */
  seal(): Promise<{ sha256: string; size: number; tempPath: string }>;
  /** Makes the blob durable under its SHA-256 name (sealing it first if needed). */
  commit(): Promise<{ sha256: string; size: number }>;
  /** Discards the temporary file. Safe to call more than once, and after commit. */
  abort(): Promise<void>;
}

/** The blob store of one data folder. */
export class BlobStore {
  readonly root: string;
  private readonly tmpDir: string;

  private constructor(dataDir: string) {
    this.root = path.join(dataDir, 'blobs');
    this.tmpDir = path.join(dataDir, 'tmp');
  }

  /**
   * Opens the store, creating its folders, and removes temporary files left by an
   * interrupted write (they were never acknowledged).
   */
  static async open(dataDir: string): Promise<BlobStore> {
    const store = new BlobStore(dataDir);
    await fsp.mkdir(store.root, { recursive: true });
    await fsp.rm(store.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(store.tmpDir, { recursive: true });
    // One level of 256 fan-out folders, created once, so a commit never creates a folder.
    const missing: string[] = [];
    for (let i = 0; i < 256; i++) {
      const d = path.join(store.root, i.toString(16).padStart(2, '0'));
      if (!fs.existsSync(d)) missing.push(d);
    }
    if (missing.length) {
      await Promise.all(missing.map((d) => fsp.mkdir(d, { recursive: true })));
      await fsyncDir(store.root);
    }
    return store;
  }

  /** Path of a blob (whether or not it exists). */
  pathOf(sha256: string): string {
    if (!HEX.test(sha256)) throw new Error('invalid blob name');
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  /** Starts writing a new blob. */
  async create(): Promise<BlobWriter> {
    return new FileBlobWriter(this, path.join(this.tmpDir, `${randomUUID()}.part`));
  }

  /** Stores a whole buffer as a blob. */
  async put(bytes: Uint8Array): Promise<{ sha256: string; size: number }> {
    const w = await this.create();
    try {
      await w.write(bytes);
      return await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  /** Removes a blob that nothing refers to any more. */
  async remove(sha256: string): Promise<void> {
    await fsp.rm(this.pathOf(sha256), { force: true });
  }

  /** Whether a blob exists. */
  async has(sha256: string): Promise<boolean> {
    try {
      await fsp.access(this.pathOf(sha256));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Reads a whole blob. With `expectedBytes` (its recorded size) the file is read in one
   * system call and closed without waiting, which matters for the many small reads of a
   * reader scrolling a series; a file of any other size is read whole all the same. With
   * `into` as well, the file is read into that buffer when it fits (the answer is then a
   * view of it).
   */
  async read(sha256: string, expectedBytes?: number, into?: Buffer): Promise<Buffer> {
    if (expectedBytes === undefined || !(expectedBytes >= 0)) return fsp.readFile(this.pathOf(sha256));
    const fh = await fsp.open(this.pathOf(sha256), 'r');
    let closing = false;
    try {
      // One byte more than expected tells a longer file from an exact one. `into` (a buffer
      // the caller reuses) saves the cost of fresh memory for every read.
      const buf = into && into.length > expectedBytes ? into.subarray(0, expectedBytes + 1) : Buffer.allocUnsafeSlow(expectedBytes + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      closing = true;
      if (bytesRead > expectedBytes) {
        await fh.close();
        return await fsp.readFile(this.pathOf(sha256));
      }
      fh.close().catch(() => undefined);
      return buf.subarray(0, bytesRead);
    } finally {
      if (!closing) await fh.close();
    }
  }

  /**
   * Reads the start of a blob into `into` (as many bytes as it holds) on the calling thread,
   * which waits for the disk meanwhile: for a file the page cache most likely holds, where
   * that costs less than handing the read to another thread and back. Returns the bytes read.
   */
  readNow(sha256: string, into: Uint8Array): number {
    const fd = fs.openSync(this.pathOf(sha256), 'r');
    try {
      return fs.readSync(fd, into, 0, into.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Streams a blob. */
  stream(sha256: string): Readable {
    return fs.createReadStream(this.pathOf(sha256));
  }

  /** Reads at most `length` bytes from the start of a blob. */
  async readHead(sha256: string, length: number): Promise<Buffer> {
    const fh = await fsp.open(this.pathOf(sha256), 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  /** Recomputes a blob's SHA-256 and tells whether it still matches its name. */
  async verify(sha256: string): Promise<boolean> {
    const h = createHash('sha256');
    for await (const chunk of this.stream(sha256)) h.update(chunk as Buffer);
    return h.digest('hex') === sha256;
  }

  /** Writable temp folder inside the data folder (same file system as the blobs). */
  get tempDir(): string {
    return this.tmpDir;
  }
}

/** Buffered bytes are written out once this many are pending (and at seal). */
const FLUSH_BYTES = 4 * 1024 * 1024;

class FileBlobWriter implements BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  private done = false;
  private digestHex: string | undefined;
  private fh: fsp.FileHandle | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private sealing: Promise<{ sha256: string; size: number; tempPath: string }> | undefined;

  constructor(
    private readonly store: BlobStore,
    private readonly tmp: string,
  ) {}

  get size(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.done) throw new Error('blob writer already finished');
    this.hash.update(chunk);
    this.written += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Small objects reach the disk in one vectored write at seal time; large ones in 4 MB steps.
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    this.fh ??= await fsp.open(this.tmp, 'wx', 0o600);
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    while (bufs.length) {
      const { bytesWritten } = await this.fh.writev(bufs);
      // A short write is rare on regular files; continue after the bytes written.
      let skip = bytesWritten;
      while (bufs.length && skip >= bufs[0]!.length) skip -= bufs.shift()!.length;
      if (skip > 0) bufs[0] = bufs[0]!.subarray(skip);
    }
  }

  digest(): string {
    this.digestHex ??= this.hash.digest('hex');
    return this.digestHex;
  }

  seal(): Promise<{ sha256: string; size: number; tempPath: string }> {
    if (!this.sealing) {
      if (this.done) return Promise.reject(new Error('blob writer already finished'));
      this.done = true;
      const sha256 = this.digest();
      this.sealing = (async () => {
        try {
          await this.flush();
          await this.fh!.datasync();
        } finally {
          await this.fh?.close();
          this.fh = undefined;
        }
        return { sha256, size: this.written, tempPath: this.tmp };
      })();
    }
    return this.sealing;
  }

  async commit(): Promise<{ sha256: string; size: number }> {
    const { sha256 } = await this.seal();
    const dest = this.store.pathOf(sha256);
    if (fs.existsSync(dest)) {
      // Same content already stored: the existing file is the blob.
      await fsp.rm(this.tmp, { force: true });
    } else {
      await fsp.rename(this.tmp, dest);
      await fsyncDir(path.dirname(dest));
    }
    return { sha256, size: this.written };
  }

  async abort(): Promise<void> {
    this.pending = [];
    if (this.sealing) {
      await this.sealing.catch(() => undefined);
    } else {
      this.done = true;
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
    }
    await fsp.rm(this.tmp, { force: true });
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export { ReadThreads, ReadThreadGone, type ThreadRead } from './read-threads.ts';
