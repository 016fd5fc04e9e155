/**
 * Reading stored instances back with their integrity checked (A6): the file's SHA-256 is
 * recomputed on every read and compared with the digest recorded at intake. A mismatch is
 * refused and reported, never served or rendered.
 *
 * The digest is never computed on the thread that answers requests, so that checking a large
 * file does not hold up everyone else's: files lent for parsing are read and hashed on
 * worker threads ({@link ReadThreads}), the others on libuv's thread pool (WebCrypto).
 */
import { createHash, webcrypto } from 'node:crypto';
import { ReadThreadGone, type BlobStore, type ReadThreads, type ThreadRead } from '../platform/blobs/index.ts';
import { AppError } from '../platform/errors.ts';
import type { SourceRead } from './render/index.ts';

/** The part of an instance row a verified read needs. */
export interface StoredRef {
  sop_instance_uid: string;
  blob_sha256: string;
  /** The file's size as recorded at intake, when known: it is then read in one go. */
  size_bytes?: number | string | bigint | null;
}

/** The file size recorded at intake, when known. */
function recordedSize(ref: StoredRef): number | undefined {
  const size = ref.size_bytes == null ? NaN : Number(ref.size_bytes);
  return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/** Lower-case hex SHA-256 of `bytes`, computed off the calling thread. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

/** Files up to this size are read into reusable buffers by {@link VerifiedReader.withFile}. */
const POOLED_MAX_BYTES = 4 * 1024 * 1024;
/** Reusable buffers kept at most. */
const POOL_SIZE = 16;

/** Size of reused memory for a file of `size` bytes (one byte more, in 64 KiB steps). */
const poolSize = (size: number): number => Math.min(POOLED_MAX_BYTES, Math.ceil((size + 1) / 65_536) * 65_536);

/** Reads stored DICOM files and refuses any whose bytes no longer match their digest. */
export class VerifiedReader {
  private readonly pool: Buffer[] = [];
  private readonly sharedPool: SharedArrayBuffer[] = [];

  /**
   * @param threads worker threads that read and hash lent files; without them lent files are
   *   read on libuv's thread pool
   */
  constructor(
    private readonly blobs: BlobStore,
    private readonly onMismatch: (sopInstanceUid: string, blobSha256: string) => Promise<void>,
    private readonly threads?: ReadThreads,
  ) {}

  /**
   * Reads a stored file, hands it to `use` while its digest is checked, and returns what
   * `use` made once the check has passed. The bytes are lent: they are valid only until
   * `use` returns or settles, and nothing may keep them or a view of them (strings and
   * numbers made from them are fine). Reusing the memory of earlier reads makes reading many
   * files in a row (the metadata of a series) several times faster than fresh memory.
   * With `now`, a file of its recorded size is read on the calling thread (which waits for
   * the disk): for a single request on an otherwise idle server, which then answers sooner
   * than by handing the read to another thread and back.
   * @throws AppError internal when the file fails its integrity check (after reporting it)
   */
  async withFile<T>(ref: StoredRef, use: (bytes: Buffer) => T | Promise<T>, now = false): Promise<T> {
    const size = recordedSize(ref);
    if (this.threads && size !== undefined && size < POOLED_MAX_BYTES) {
      const lent = await this.withFileOnThread(this.threads, ref, size, use, now);
      if (lent) return lent.made;
      // A file of another size than recorded, or a read thread that stopped: read as below.
    }
    let buf: Buffer | undefined;
    if (size !== undefined && size < POOLED_MAX_BYTES) {
      buf = this.pool.pop();
      if (!buf || buf.length <= size) buf = Buffer.allocUnsafeSlow(poolSize(size));
    }
    try {
      // The digest takes its own copy of the bytes before it returns (WebCrypto).
      const r = await this.readVerifying(ref, buf);
      try {
        return await use(r.bytes);
      } finally {
        await r.verified;
      }
    } finally {
      if (buf && this.pool.length < POOL_SIZE) this.pool.push(buf);
    }
  }

  /**
   * {@link withFile} through the read threads: undefined (and `use` not called) when the file
   * does not have its recorded size or the thread stopped before reading it. With `now`, the
   * file is read on the calling thread and only its digest is computed on a worker.
   */
  private async withFileOnThread<T>(threads: ReadThreads, ref: StoredRef, size: number, use: (bytes: Buffer) => T | Promise<T>, now: boolean): Promise<{ made: T } | undefined> {
    let memory = this.sharedPool.pop();
    if (!memory || memory.byteLength <= size) memory = new SharedArrayBuffer(poolSize(size));
    let read: ThreadRead | undefined;
    try {
      if (now) {
        // One byte more than recorded tells a longer file from an exact one.
        const bytesRead = this.blobs.readNow(ref.blob_sha256, new Uint8Array(memory, 0, size + 1));
        const sha256 = bytesRead === size ? threads.hash(memory, size) : Promise.reject(new Error('not the recorded size'));
        sha256.catch(() => undefined);
        read = { bytesRead, sha256 };
      } else {
        try {
          read = await threads.read(this.blobs.pathOf(ref.blob_sha256), size, memory);
        } catch (err) {
          if (err instanceof ReadThreadGone) return undefined;
          throw err;
        }
      }
      if (read.bytesRead !== size) return undefined;
      const bytes = Buffer.from(memory, 0, size);
      // A thread that stopped while hashing: the digest is computed here instead.
      const digest = read.sha256.catch((err: unknown) => {
        if (err instanceof ReadThreadGone) return createHash('sha256').update(bytes).digest('hex');
        throw err;
      });
      const verified = digest.then((hex) => this.verdict(ref, hex));
      verified.catch(() => undefined);
      try {
        return { made: await use(bytes) };
      } finally {
        await verified;
      }
    } finally {
      // The memory is free again once the worker has finished hashing it.
      if (read) await read.sha256.catch(() => undefined);
      if (this.sharedPool.length < POOL_SIZE) this.sharedPool.push(memory);
    }
  }

  private check(ref: StoredRef, bytes: Buffer): Promise<void> {
    return sha256Hex(bytes).then((hex) => this.verdict(ref, hex));
  }

  /** Passes when `hex` is the recorded digest; otherwise reports the mismatch and throws. */
  private async verdict(ref: StoredRef, hex: string): Promise<void> {
    if (hex === ref.blob_sha256) return;
    await this.onMismatch(ref.sop_instance_uid, ref.blob_sha256);
    throw new AppError('internal', 'a stored instance failed its integrity check and was not served; administrators were alerted');
  }

  /**
   * The stored Part 10 file of an instance, exactly as kept.
   * @throws AppError internal when the file fails its integrity check (after reporting it)
   */
  async read(ref: StoredRef): Promise<Buffer> {
    const r = await this.readVerifying(ref);
    await r.verified;
    return r.bytes;
  }

  /**
   * The stored file at once, with its integrity check still running: the bytes may be
   * parsed meanwhile, but nothing made from them may be kept or handed out before
   * `verified` has resolved; it rejects (after reporting) when they are not what was stored.
   * With `into`, the file is read into that buffer when it fits (see BlobStore.read).
   */
  async readVerifying(ref: StoredRef, into?: Buffer): Promise<SourceRead> {
    const bytes = await this.blobs.read(ref.blob_sha256, recordedSize(ref), into);
    const verified = this.check(ref, bytes);
    // The caller awaits `verified`; this keeps a caller that failed before doing so from
    // leaving an unhandled rejection behind.
    verified.catch(() => undefined);
    return { bytes, verified };
  }
}
