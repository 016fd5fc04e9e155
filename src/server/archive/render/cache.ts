/**
 * A least-recently-used cache of decoded frames, bounded by the bytes their typed arrays
 * hold. Decoded pixels live only here, in memory: they are never written to disk, and
 * nothing else keeps them once evicted.
 */

/** Counters of a {@link FrameCache}. */
export interface FrameCacheStats {
  entries: number;
  /** Sum of the byte sizes of the cached entries. */
  bytes: number;
  /** The byte limit. */
  limit: number;
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * LRU cache of values with a known byte size. An entry larger than the whole limit is
 * not cached; inserting evicts the least recently used entries until the total fits.
 */
export class FrameCache<T> {
  private readonly map = new Map<string, { value: T; bytes: number }>();
  private total = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /** @param limit the most bytes the cached values may hold together (0 disables caching) */
  constructor(readonly limit: number) {
    if (!(Number.isFinite(limit) && limit >= 0)) throw new RangeError('the cache limit must be a number of bytes, 0 or more');
  }

  /** The cached value, now the most recently used, or undefined. */
  get(key: string): T | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** Whether a value is cached (does not count as a use). */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /**
   * Caches a value of `bytes` bytes, evicting least recently used entries as needed.
   * @returns whether the value was cached (false when it alone exceeds the limit)
   */
  set(key: string, value: T, bytes: number): boolean {
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.total -= old.bytes;
    }
    if (bytes > this.limit) return false;
    while (this.total + bytes > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.total -= this.map.get(oldest.value)!.bytes;
      this.map.delete(oldest.value);
      this.evictions++;
    }
    this.map.set(key, { value, bytes });
    this.total += bytes;
    return true;
  }

  /** Drops every entry whose key starts with `prefix` (e.g. all frames of one instance). */
  deletePrefix(prefix: string): void {
    for (const [k, e] of this.map) {
      if (k.startsWith(prefix)) {
        this.total -= e.bytes;
        this.map.delete(k);
      }
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.map.clear();
    this.total = 0;
  }

  /** Current counters. */
  stats(): FrameCacheStats {
    return { entries: this.map.size, bytes: this.total, limit: this.limit, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
