/**
 * Recognising a unique-constraint violation on both databases, for the transactions that
 * rely on a unique index to settle a race (the loser retries and finds the winner's row).
 */

/** Whether an error is a unique violation (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Another transaction inserted a row that this one meant to insert (a patient created by
 * image intake meanwhile, found by an insert that skips conflicts): the transaction runs
 * again and finds the row. Retried like a unique violation.
 */
export class ConcurrentInsert extends Error {
  readonly code = 'enkaku_concurrent_insert';
  constructor(what: string) {
    super(`${what} was inserted by another transaction meanwhile`);
  }
}

/** Whether a transaction lost a race for a row and is worth running again (see {@link ConcurrentInsert}). */
export function isLostRace(err: unknown): boolean {
  return isUniqueViolation(err) || err instanceof ConcurrentInsert;
}
