/**
 * Recognising a unique-constraint violation on both databases, for the transactions that
 * rely on a unique index to settle a race (the loser retries and finds the winner's row).
 */

/** Whether an error is a unique violation (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
