/**
 * Reading stored instances back with their integrity checked (A6): the file's SHA-256 is
 * recomputed on every read and compared with the digest recorded at intake. A mismatch is
 * refused and reported, never served or rendered.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../platform/blobs/index.ts';
import { AppError } from '../platform/errors.ts';

/** The part of an instance row a verified read needs. */
export interface StoredRef {
  sop_instance_uid: string;
  blob_sha256: string;
}

/** Reads stored DICOM files and refuses any whose bytes no longer match their digest. */
export class VerifiedReader {
  constructor(
    private readonly blobs: BlobStore,
    private readonly onMismatch: (sopInstanceUid: string, blobSha256: string) => Promise<void>,
  ) {}

  /**
   * The stored Part 10 file of an instance, exactly as kept.
   * @throws AppError internal when the file fails its integrity check (after reporting it)
   */
  async read(ref: StoredRef): Promise<Buffer> {
    const bytes = await this.blobs.read(ref.blob_sha256);
    if (createHash('sha256').update(bytes).digest('hex') !== ref.blob_sha256) {
      await this.onMismatch(ref.sop_instance_uid, ref.blob_sha256);
      throw new AppError('internal', 'a stored instance failed its integrity check and was not served; administrators were alerted');
    }
    return bytes;
  }
}
