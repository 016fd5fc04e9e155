/**
 * A group-commit queue: work items submitted from many places (the connections of a
 * listener) are handed to a runner in batches. While the batches in flight run (their
 * transactions commit), new items wait; as soon as one is done, the next batch takes every
 * item waiting, up to `maxBatch`. Each submitter's promise settles with its own item's
 * result once the batch that carried it has finished.
 *
 * Nothing waits for more work to arrive: a batch starts as soon as a runner slot is free,
 * after the events already delivered by the operating system have been read (`setImmediate`),
 * so that messages that arrived together, and whose reading a synchronous commit held up,
 * go together. Under light traffic an item runs alone, at once.
 */

/** Options of a {@link GroupCommitQueue}. */
export interface GroupCommitOptions {
  /** Most items per batch (default 64). */
  maxBatch?: number;
  /** Batches run at once (default 1). */
  concurrency?: number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/** Batches items for a runner that takes many at once; see the module notes. */
export class GroupCommitQueue<T, R> {
  private readonly waiting: Array<Waiting<T, R>> = [];
  private running = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly concurrency: number;

  /**
   * @param run - handles a batch: resolves with one result per item, in the same order
   *   (a rejection fails every item of the batch)
   */
  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 64);
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  /** Items waiting for a batch (not counting the batches running). */
  get pending(): number {
    return this.waiting.length;
  }

  /** Queues an item; resolves with its result once its batch has run. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a batch on the next turn of the event loop, when a slot is free. */
  private schedule(): void {
    if (this.scheduled || this.running >= this.concurrency || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running >= this.concurrency || this.waiting.length === 0) return;
      this.running++;
      void this.runBatch(this.waiting.splice(0, this.maxBatch)).finally(() => {
        this.running--;
        this.schedule();
      });
      this.schedule();
    });
  }

  private async runBatch(batch: Array<Waiting<T, R>>): Promise<void> {
    try {
      const results = await this.run(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`group commit runner returned ${results.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
