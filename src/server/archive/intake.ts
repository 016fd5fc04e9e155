/**
 * Receives one object's bytes as they arrive (DIMSE fragments, a STOW-RS part, a file)
 * into a blob store temporary file, hashing on the way. Small objects are also kept in
 * memory so they can be parsed without reading them back; large ones are parsed from
 * the sealed temporary file. Nothing becomes visible until the service commits it.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import type { BlobStore, BlobWriter } from '../platform/blobs/index.ts';
import { BufferSource, type ByteSource } from './dicom/parse.ts';
import { FileSource } from './dicom/source.ts';

/** Objects up to this size are parsed from memory. */
const MEMORY_LIMIT = 32 * 1024 * 1024;

/** A received object, sealed on disk and ready to be parsed and committed. */
export interface ReceivedObject {
  source: ByteSource;
  size: number;
  /** SHA-256 of the whole file as it will be stored. */
  sha256: string;
  /** SHA-256 of the data set bytes when known while receiving (DIMSE). */
  datasetSha256: string | undefined;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Collects one object. */
export class Intake {
  private chunks: Buffer[] = [];
  private memBytes = 0;
  private overflow = false;
  private tooLarge = false;
  private datasetHash: Hash | undefined;

  private constructor(
    private readonly writer: BlobWriter,
    private readonly maxBytes: number,
  ) {}

  /**
   * Starts receiving.
   * @param prefix - bytes written before the received ones (the file meta built for a DIMSE data set); when given, the received bytes are hashed as the data set
   */
  static async start(blobs: BlobStore, maxBytes: number, prefix?: Buffer): Promise<Intake> {
    const intake = new Intake(await blobs.create(), maxBytes);
    if (prefix) {
      intake.datasetHash = createHash('sha256');
      await intake.append(prefix, false);
    }
    return intake;
  }

  /** Whether the object went over the size limit (its bytes were dropped). */
  get exceeded(): boolean {
    return this.tooLarge;
  }

  /** Bytes received so far. */
  get size(): number {
    return this.writer.size;
  }

  /** Appends received bytes. Past the size limit the bytes are dropped and the object will be refused. */
  async write(chunk: Buffer): Promise<void> {
    await this.append(chunk, true);
  }

  private async append(chunk: Buffer, received: boolean): Promise<void> {
    if (this.tooLarge) return;
    if (this.writer.size + chunk.length > this.maxBytes) {
      this.tooLarge = true;
      this.chunks = [];
      await this.writer.abort();
      return;
    }
    if (received) this.datasetHash?.update(chunk);
    if (!this.overflow) {
      if (this.memBytes + chunk.length <= MEMORY_LIMIT) {
        // Network and file streams hand over fresh buffers; they are kept, not copied.
        this.chunks.push(chunk);
        this.memBytes += chunk.length;
      } else {
        this.overflow = true;
        this.chunks = [];
      }
    }
    await this.writer.write(chunk);
  }

  /** Drops everything received. */
  async discard(): Promise<void> {
    this.chunks = [];
    await this.writer.abort();
  }

  /** Seals the bytes on disk and hands them over for parsing. */
  async finish(): Promise<ReceivedObject> {
    if (this.tooLarge) throw new Error('object exceeded the size limit');
    // The fsync runs in the background while the caller parses and validates.
    const sealing = this.writer.seal();
    sealing.catch(() => undefined);
    let source: ByteSource;
    let fd: number | undefined;
    if (!this.overflow) {
      source = new BufferSource(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.memBytes));
    } else {
      const sealed = await sealing;
      fd = fs.openSync(sealed.tempPath, 'r');
      source = new FileSource(fd, sealed.size);
    }
    this.chunks = [];
    const close = (): void => {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    };
    return {
      source,
      size: this.writer.size,
      sha256: this.writer.digest(),
      datasetSha256: this.datasetHash?.digest('hex'),
      commit: async () => {
        close();
        await this.writer.commit();
      },
      discard: async () => {
        close();
        await this.writer.abort();
      },
    };
  }
}
