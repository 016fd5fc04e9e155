/**
 * SQL for key images and viewing sessions (the only place that touches these tables).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, KeyImageTable, ViewerSessionTable } from '../platform/db/schema.ts';

export type KeyImageRow = Selectable<KeyImageTable>;
export type ViewerSessionRow = Selectable<ViewerSessionTable>;
export type Executor = Kysely<Database> | Transaction<Database>;

/** Persistence of key images and viewing sessions. */
export class ReadingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Key images of a study that are not removed, oldest first. */
  keyImages(studyUid: string, ex: Executor = this.db): Promise<KeyImageRow[]> {
    return ex.selectFrom('key_images').selectAll().where('study_uid', '=', studyUid).where('removed_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  }

  /** The active key image of one frame of an instance, if marked. */
  activeKeyImage(ex: Executor, studyUid: string, sopInstanceUid: string, frame: number): Promise<KeyImageRow | undefined> {
    return ex
      .selectFrom('key_images')
      .selectAll()
      .where('study_uid', '=', studyUid)
      .where('sop_instance_uid', '=', sopInstanceUid)
      .where('frame', '=', frame)
      .where('removed_at', 'is', null)
      .executeTakeFirst();
  }

  keyImage(id: string, ex: Executor = this.db): Promise<KeyImageRow | undefined> {
    return ex.selectFrom('key_images').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertKeyImage(ex: Executor, row: KeyImageRow): Promise<void> {
    await ex.insertInto('key_images').values(row).execute();
  }

  /** Marks a key image removed (the row stays as history). */
  async removeKeyImage(ex: Executor, id: string, by: string, at: string): Promise<void> {
    await ex.updateTable('key_images').set({ removed_by: by, removed_at: at }).where('id', '=', id).where('removed_at', 'is', null).execute();
  }

  async insertViewerSession(ex: Executor, row: ViewerSessionRow): Promise<void> {
    await ex.insertInto('viewer_sessions').values(row).execute();
  }

  viewerSession(id: string, ex: Executor = this.db): Promise<ViewerSessionRow | undefined> {
    return ex.selectFrom('viewer_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Ends a viewing session once; returns whether this call ended it. */
  async endViewerSession(ex: Executor, id: string, at: string): Promise<boolean> {
    const r = await ex.updateTable('viewer_sessions').set({ ended_at: at }).where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
