/**
 * The canonical form hashed into the audit chain (form 1). Anyone can re-verify the trail
 * from a database dump with these few lines:
 *
 * ```
 * canonical = JSON.stringify({ seq, id, recorded_at, actor_kind, actor_id, actor_name,
 *                              actor_role, action, object_type, object_id, facility_id,
 *                              patient_ref, outcome, client_address, details })
 * hash      = lowercase hex SHA-256( UTF-8( prev_hash + canonical ) )
 * ```
 *
 * - Keys appear exactly in the order above ({@link HASHED_FIELDS}), no whitespace;
 *   strings are serialised by ECMA-262 `JSON.stringify` (§25.5.2.2 QuoteJSONString),
 *   `seq` is a JSON number, an absent `facility_id` / `patient_ref` is `null`.
 * - `details` is hashed as the stored JSON *text* (a JSON string inside the canonical
 *   object), so its inner key order never matters and the database returns exactly what
 *   was hashed.
 * - `prev_hash` is the 64-character hash of entry `seq - 1`, or {@link GENESIS_HASH} for
 *   seq 1. Its fixed length makes the concatenation unambiguous.
 * - Stored strings are well-formed Unicode without NUL ({@link wellFormed}): PostgreSQL
 *   rejects NUL and both databases would replace lone surrogates, which would make the
 *   stored value differ from the hashed one.
 *
 * A chain of plain hashes proves order and completeness only relative to a trusted copy
 * of the head: whoever can write the database can recompute every hash. Forwarding each
 * entry to a remote collector (syslog.ts) and publishing the head hash elsewhere are what
 * make rewriting detectable.
 */
import { createHash } from 'node:crypto';
import type { AuditEventTable } from './schema.ts';

/** `prev_hash` of the first entry, and the head hash of an empty trail. */
export const GENESIS_HASH = '0'.repeat(64);

/** The hashed columns, in canonical order (everything except `prev_hash` and `hash`). */
export const HASHED_FIELDS = [
  'seq',
  'id',
  'recorded_at',
  'actor_kind',
  'actor_id',
  'actor_name',
  'actor_role',
  'action',
  'object_type',
  'object_id',
  'facility_id',
  'patient_ref',
  'outcome',
  'client_address',
  'details',
] as const;

/** The hashed part of an audit row. */
export type HashedFields = Pick<AuditEventTable, (typeof HASHED_FIELDS)[number]>;

/** The canonical JSON of an entry's hashed fields (see the module comment). */
export function canonicalJson(row: HashedFields): string {
  const o: Record<string, unknown> = {};
  for (const k of HASHED_FIELDS) o[k] = k === 'seq' ? Number(row.seq) : (row[k] ?? null);
  return JSON.stringify(o);
}

/** `hash` of an entry: SHA-256 over `prev_hash` followed by the canonical JSON, lowercase hex. */
export function chainHash(prevHash: string, row: HashedFields): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson(row), 'utf8').digest('hex');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces NUL and lone surrogates with U+FFFD, so that what is stored is what was hashed. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD').replace(/\0/g, '\uFFFD');
}
