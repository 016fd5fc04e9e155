/**
 * The chain verifier: walks the trail in seq order, page by page (bounded memory for
 * millions of entries), recomputes every hash and checks seq continuity, the prev_hash
 * links and the head row. At the first anomaly it looks at the neighbourhood to name
 * what happened, so that an auditor knows where to look:
 *
 * | what is seen at entry E (expected seq E, previous hash P) | problem |
 * |---|---|
 * | E lies beyond the head row (the head was not advanced with it) | inserted |
 * | seq jumps from E-1 to S > E | deleted (E..S-1 missing) |
 * | E's content does not match its hash, prev_hash is P, the next entry links to E | edited |
 * | E's prev_hash is not P but E hashes correctly with P (prev_hash rewritten) | edited |
 * | E's prev_hash is the hash of a later entry | reordered |
 * | the next entry links to P, skipping E | inserted |
 * | E is intact but its prev_hash is not P (E-1 was changed and rehashed) | edited (E-1) |
 * | E's prev_hash is unknown (its predecessor is gone, later seqs renumbered) | deleted |
 * | the walk ends before the head's seq | truncated |
 * | entries exist beyond the head's seq | inserted |
 * | the head hash differs from the last entry's | edited |
 */
import { GENESIS_HASH, chainHash } from './canonical.ts';
import type { AuditEventRow, AuditRepository } from './repository.ts';
import type { TamperKind, VerifyResult } from './model.ts';

/** Options of a verification run. */
export interface VerifyOptions {
  /** Entries read per query; default 1000. */
  pageSize?: number;
  /** Called after each page with the last verified seq. */
  onProgress?: (seq: number) => void;
}

function bad(firstBadSeq: number, problem: TamperKind, message: string): VerifyResult {
  return { ok: false, firstBadSeq, problem, message };
}

/** Names the damage at the first entry that does not fit (see the table above). */
async function explain(repo: AuditRepository, r: AuditEventRow, expected: number, prev: string): Promise<VerifyResult> {
  const head = await repo.head();
  // Read after the row: the head only moves forward, so a row beyond it was not appended by Enkaku.
  if (head && r.seq > head.seq) return bad(r.seq, 'inserted', `entry ${r.seq} lies beyond the audit head (seq ${head.seq}): it was not appended through the audit service`);
  if (r.seq < expected) return bad(r.seq, 'inserted', `entry ${r.seq} precedes the first entry of the chain`);
  if (r.seq > expected) {
    const range = r.seq - 1 === expected ? `entry ${expected} is` : `entries ${expected} to ${r.seq - 1} are`;
    return bad(expected, 'deleted', `${range} missing (the chain continues at ${r.seq})`);
  }
  const linked = r.prev_hash === prev;
  if (!linked && chainHash(prev, r) === r.hash) return bad(r.seq, 'edited', `entry ${r.seq}: its prev_hash field was changed`);
  if (!linked) {
    const at = await repo.seqOfHash(r.prev_hash);
    if (at !== undefined && at > r.seq) return bad(r.seq, 'reordered', `entry ${r.seq} was chained after entry ${at}: entries were renumbered out of order`);
  }
  const next = await repo.next(r.seq);
  if (next && next.prev_hash === prev && next.prev_hash !== r.hash) {
    return bad(r.seq, 'inserted', `entry ${r.seq} is not part of the chain: entry ${next.seq} follows entry ${r.seq - 1} directly`);
  }
  if (!linked && chainHash(r.prev_hash, r) === r.hash) {
    // E itself is intact at its seq, so what it was chained to has changed.
    if (r.seq === 1) return bad(1, 'edited', 'entry 1 does not start from the genesis hash');
    return bad(r.seq - 1, 'edited', `entry ${r.seq - 1} was changed and its hash recomputed: entry ${r.seq} is still chained to the original`);
  }
  if (!linked) return bad(r.seq, 'deleted', `entry ${r.seq} does not follow entry ${r.seq - 1}: the entry it was chained to is missing and later entries were renumbered`);
  return bad(r.seq, 'edited', `entry ${r.seq} does not match its hash: a field was changed`);
}

/**
 * Verifies the whole chain. Safe while Enkaku runs: entries appended during the walk are
 * verified too, and the final head check reads the head and the last seq in one statement.
 */
export async function verifyChain(repo: AuditRepository, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = Math.max(2, opts.pageSize ?? 1000);
  let expected = 1;
  let prev = GENESIS_HASH;
  let after: number | undefined;
  for (;;) {
    const rows = await repo.page(after, pageSize);
    for (const r of rows) {
      if (r.seq !== expected || r.prev_hash !== prev || chainHash(r.prev_hash, r) !== r.hash) return explain(repo, r, expected, prev);
      prev = r.hash;
      after = r.seq;
      expected++;
    }
    if (rows.length) opts.onProgress?.(expected - 1);
    if (rows.length === pageSize) continue;
    const { head, maxSeq } = await repo.headAndMaxSeq();
    const last = expected - 1;
    if (maxSeq !== null && maxSeq > last) continue; // appended meanwhile: keep walking
    if (!head) return bad(last + 1, 'truncated', 'the audit head row is missing: a truncated tail cannot be ruled out');
    if (head.seq > last) {
      const range = head.seq === last + 1 ? `entry ${head.seq} is` : `entries ${last + 1} to ${head.seq} are`;
      return bad(last + 1, 'truncated', `${range} missing at the end (the audit head records ${head.seq})`);
    }
    if (head.seq < last) return bad(head.seq + 1, 'inserted', `entries ${head.seq + 1} to ${last} lie beyond the audit head (seq ${head.seq})`);
    if (head.hash !== prev) return bad(Math.max(last, 1), 'edited', `the last entry's hash differs from the audit head's`);
    return { ok: true, count: last, headHash: prev };
  }
}
