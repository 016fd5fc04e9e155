/**
 * Reused memory for the short-lived buffers of one rendering (display pixels, PNG rows,
 * encoder output). Fresh memory for every slice would be zeroed or faulted in by the kernel
 * page by page, which costs as much as the display stages themselves.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /** @param kept buffers kept for reuse at most */
  constructor(private readonly kept: number) {}

  /**
   * At least `bytes` bytes (contents undefined): a kept buffer that fits and is at most four
   * times larger, else new memory rounded up to 64 KiB.
   */
  take(bytes: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= bytes && b.length <= 4 * bytes);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.ceil(bytes / 65_536) * 65_536);
  }

  /** Gives a buffer back once nothing reads or writes it any more. */
  give(b: Buffer): void {
    if (this.free.length < this.kept) this.free.push(b);
  }
}
