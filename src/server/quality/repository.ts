/**
 * SQL for reading terminals, their daily visual checks and constancy tests (the only place
 * that touches these tables).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ReadingTerminalTable, TerminalConstancyTestTable, TerminalDailyCheckTable } from '../platform/db/schema.ts';

export type TerminalRow = Selectable<ReadingTerminalTable>;
export type DailyCheckRow = Selectable<TerminalDailyCheckTable>;
export type ConstancyRow = Selectable<TerminalConstancyTestTable>;

/** A database handle or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Which terminals a listing returns: all, or those of these facilities (null: the provider's). */
export type TerminalScope = 'all' | { facilities: readonly string[]; provider: boolean };

/** Persistence of terminals and their QC records. */
export class TerminalRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(ex: Executor, row: TerminalRow): Promise<void> {
    await ex.insertInto('reading_terminals').values(row).execute();
  }

  /** One terminal (inside a transaction when `ex` is one). */
  byId(id: string, ex: Executor = this.db): Promise<TerminalRow | undefined> {
    return ex.selectFrom('reading_terminals').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Terminals in scope, by facility then name. */
  list(scope: TerminalScope): Promise<TerminalRow[]> {
    let q = this.db.selectFrom('reading_terminals').selectAll();
    if (scope !== 'all') {
      const { facilities, provider } = scope;
      q = q.where((eb) => {
        const ors = [];
        if (facilities.length) ors.push(eb('facility_id', 'in', [...facilities]));
        if (provider) ors.push(eb('facility_id', 'is', null));
        return ors.length ? eb.or(ors) : eb.val(false);
      });
    }
    return q.orderBy('facility_id').orderBy('name').orderBy('id').execute();
  }

  /** Updates a terminal and raises its version by one. */
  async update(ex: Executor, id: string, values: Partial<TerminalRow>, version: number): Promise<void> {
    await ex.updateTable('reading_terminals').set({ ...values, version: version + 1 }).where('id', '=', id).execute();
  }

  /** Records a daily check and makes it the terminal's newest. */
  async insertDailyCheck(ex: Executor, row: DailyCheckRow): Promise<void> {
    await ex.insertInto('terminal_daily_checks').values(row).execute();
    await ex
      .updateTable('reading_terminals')
      .set({ last_check_at: row.checked_at, last_check_on: row.checked_on, last_check_passed: row.passed })
      .where('id', '=', row.terminal_id)
      .execute();
  }

  /** Daily checks of a terminal, newest first. */
  dailyChecks(terminalId: string, limit: number): Promise<DailyCheckRow[]> {
    return this.db.selectFrom('terminal_daily_checks').selectAll().where('terminal_id', '=', terminalId).orderBy('checked_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async insertConstancy(ex: Executor, row: ConstancyRow): Promise<void> {
    await ex.insertInto('terminal_constancy_tests').values(row).execute();
  }

  /** Constancy tests of a terminal, newest (by test date, then recording time) first. */
  constancyTests(terminalId: string, limit: number): Promise<ConstancyRow[]> {
    return this.db
      .selectFrom('terminal_constancy_tests')
      .selectAll()
      .where('terminal_id', '=', terminalId)
      .orderBy('tested_on', 'desc')
      .orderBy('recorded_at', 'desc')
      .limit(limit)
      .execute();
  }
}
