/**
 * Image intake: validates a received object, makes its bytes durable in the blob store
 * and records it in the index. An object is acknowledged only after both are on disk,
 * so an acknowledged instance survives a crash; a refused one leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from '../platform/log.ts';
import type { BlobStore } from '../platform/blobs/index.ts';
import type { Database, Study } from '../platform/db/schema.ts';
import { describeActor, type Actor } from '../platform/context.ts';
import { extractAttributes, INDEX_TAGS, type InstanceAttributes } from './dicom/attributes.ts';
import { DicomParseError, readFileMeta, scanDataset, type ByteSource } from './dicom/parse.ts';
import { ACCEPTED_TRANSFER_SYNTAXES } from './dicom/uids.ts';
import type { ReceivedObject } from './intake.ts';
import { ArchiveRepository } from './repository.ts';
import type { IntakeFailure } from './status.ts';
import type { AuditService } from '../audit/index.ts';

/** What happened to one received object. */
export type IntakeResult =
  | {
      ok: true;
      kind: 'stored' | 'duplicate';
      sopClassUid: string;
      sopInstanceUid: string;
      studyInstanceUid: string;
      seriesInstanceUid: string;
    }
  | { ok: false; failure: IntakeFailure; message: string; sopClassUid: string; sopInstanceUid: string };

/** How the object arrived. */
export interface IntakeOrigin {
  actor: Extract<Actor, { kind: 'device' | 'token' | 'system' }>;
  facilityId: string;
  callingAet: string;
  /** `priors`: retrieved by Enkaku from the facility's PACS (C-GET) as a prior study. */
  source: 'dimse' | 'stow' | 'import' | 'priors';
}

/**
 * Follow-up work for studies Enkaku has not seen before (fetching their priors). It is
 * decided before the index transaction, where other tables may be read, and recorded
 * inside it, atomically with the study (ARCHITECTURE rule 6: the work is keyed on the study).
 */
export interface NewStudyHook {
  /**
   * Called before each received instance is recorded.
   * @returns what to do in the index transaction if this instance creates its study, or undefined for nothing
   */
  prepare(origin: IntakeOrigin): Promise<((trx: Transaction<Database>, study: Study) => Promise<void>) | undefined>;
}

/** Lenient UID check for received objects: digits and dots, at most 64 characters. */
function uidOk(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(uid);
}

/** The archive's intake service. */
export class IntakeService {
  readonly repo: ArchiveRepository;
  private readonly newStudyHooks: NewStudyHook[] = [];

  constructor(
    db: Kysely<Database>,
    private readonly blobs: BlobStore,
    private readonly log: Logger,
    private readonly audit: AuditService<Database>,
  ) {
    this.repo = new ArchiveRepository(db);
  }

  /**
   * Adds a follow-up for new studies (the priors fetch, reconciliation with orders). They
   * run in the order added, inside the index transaction of the study's first instance.
   */
  onNewStudy(hook: NewStudyHook): void {
    this.newStudyHooks.push(hook);
  }

  /** What the hooks want done if this instance creates its study, or undefined for nothing. */
  private async prepareNewStudy(origin: IntakeOrigin): Promise<((trx: Transaction<Database>, study: Study) => Promise<void>) | undefined> {
    if (this.newStudyHooks.length === 0) return undefined;
    const steps = (await Promise.all(this.newStudyHooks.map((h) => h.prepare(origin)))).filter((f) => f !== undefined);
    if (steps.length === 0) return undefined;
    if (steps.length === 1) return steps[0];
    return async (trx, study) => {
      for (const step of steps) await step(trx, study);
    };
  }

  /**
   * Ingests a Part 10 file (STOW-RS part, imported file).
   * @param expectedStudyUid - when set (STOW-RS to /studies/{uid}), instances of other studies are refused
   */
  async ingestPart10(obj: ReceivedObject, origin: IntakeOrigin, expectedStudyUid?: string): Promise<IntakeResult> {
    let attrs: InstanceAttributes;
    let ts: string;
    let datasetSha: string;
    try {
      const meta = readFileMeta(obj.source);
      ts = meta.transferSyntaxUid;
      if (!ACCEPTED_TRANSFER_SYNTAXES.includes(ts)) {
        return this.refuse(obj, origin, 'unsupported-transfer-syntax', `transfer syntax ${ts} is not supported`, meta.mediaStorageSopClassUid, meta.mediaStorageSopInstanceUid);
      }
      attrs = extractAttributes(scanDataset(obj.source, meta.datasetOffset, ts, INDEX_TAGS));
      if (meta.mediaStorageSopInstanceUid && meta.mediaStorageSopInstanceUid !== attrs.sopInstanceUid) {
        return this.refuse(obj, origin, 'sop-mismatch', 'Media Storage SOP Instance UID (0002,0003) differs from SOP Instance UID (0008,0018)', attrs.sopClassUid, attrs.sopInstanceUid);
      }
      datasetSha = hashFrom(obj.source, meta.datasetOffset);
    } catch (err) {
      return this.refuseParse(obj, origin, err);
    }
    if (expectedStudyUid !== undefined && attrs.studyInstanceUid !== expectedStudyUid) {
      return this.refuse(obj, origin, 'sop-mismatch', 'Study Instance UID does not match the study in the request URL', attrs.sopClassUid, attrs.sopInstanceUid);
    }
    return this.store(obj, origin, attrs, ts, datasetSha);
  }

  /**
   * Ingests a data set received by C-STORE, already framed as a Part 10 file whose
   * meta group (built from the command) ends at `datasetOffset`.
   */
  async ingestDimse(
    obj: ReceivedObject,
    origin: IntakeOrigin,
    command: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; datasetOffset: number },
  ): Promise<IntakeResult> {
    let attrs: InstanceAttributes;
    try {
      attrs = extractAttributes(scanDataset(obj.source, command.datasetOffset, command.transferSyntaxUid, INDEX_TAGS));
    } catch (err) {
      return this.refuseParse(obj, origin, err, command.sopClassUid, command.sopInstanceUid);
    }
    if (attrs.sopInstanceUid !== command.sopInstanceUid || attrs.sopClassUid !== command.sopClassUid) {
      return this.refuse(obj, origin, 'sop-mismatch', 'the data set\'s SOP Class/Instance UID differ from the C-STORE command\'s Affected SOP Class/Instance UID', command.sopClassUid, command.sopInstanceUid);
    }
    const datasetSha = obj.datasetSha256 ?? hashFrom(obj.source, command.datasetOffset);
    return this.store(obj, origin, attrs, command.transferSyntaxUid, datasetSha);
  }

  private async store(obj: ReceivedObject, origin: IntakeOrigin, a: InstanceAttributes, ts: string, datasetSha: string): Promise<IntakeResult> {
    for (const [name, uid] of [
      ['SOP Class UID (0008,0016)', a.sopClassUid],
      ['SOP Instance UID (0008,0018)', a.sopInstanceUid],
      ['Study Instance UID (0020,000D)', a.studyInstanceUid],
      ['Series Instance UID (0020,000E)', a.seriesInstanceUid],
    ] as const) {
      if (!uidOk(uid)) return this.refuse(obj, origin, 'missing-uid', `${name} is missing or invalid`, a.sopClassUid, a.sopInstanceUid);
    }
    const ok = (kind: 'stored' | 'duplicate'): IntakeResult => ({
      ok: true,
      kind,
      sopClassUid: a.sopClassUid,
      sopInstanceUid: a.sopInstanceUid,
      studyInstanceUid: a.studyInstanceUid,
      seriesInstanceUid: a.seriesInstanceUid,
    });
    try {
      // An identical re-send needs no second copy on disk.
      const t0 = performance.now();
      const existing = await this.repo.instanceByUid(a.sopInstanceUid);
      if (existing && existing.facility_id === origin.facilityId && existing.dataset_sha256 === datasetSha) {
        await obj.discard();
        this.log.info({ event: 'intake.duplicate', sopInstanceUid: a.sopInstanceUid, actor: describeActor(origin.actor) }, 'identical instance received again');
        return ok('duplicate');
      }
      const t1 = performance.now();
      const onNewStudy = await this.prepareNewStudy(origin);
      await obj.commit();
      const t2 = performance.now();
      const result = await this.repo.recordInstance(
        a,
        {
          facilityId: origin.facilityId,
          callingAet: origin.callingAet,
          source: origin.source,
          transferSyntaxUid: ts,
          blobSha256: obj.sha256,
          datasetSha256: datasetSha,
          sizeBytes: obj.size,
          receivedAt: new Date().toISOString(),
        },
        async (trx, what) => {
          await this.audit.append(trx, {
            actor: origin.actor,
            action: what.action,
            object: { type: 'instance', id: a.sopInstanceUid },
            facilityId: origin.facilityId,
            patientRef: what.patientRef,
            outcome: what.action === 'instance.store' ? 'success' : 'failure',
            details: { source: origin.source, studyUid: a.studyInstanceUid, sha256: obj.sha256, bytes: obj.size, callingAet: origin.callingAet },
          });
        },
        onNewStudy,
      );
      switch (result.kind) {
        case 'stored':
          if (this.log.isLevelEnabled('debug')) this.log.debug(
            {
              event: 'intake.stored',
              sopInstanceUid: a.sopInstanceUid,
              bytes: obj.size,
              source: origin.source,
              lookupMs: +(t1 - t0).toFixed(2),
              blobMs: +(t2 - t1).toFixed(2),
              indexMs: +(performance.now() - t2).toFixed(2),
            },
            'instance stored',
          );
          return ok('stored');
        case 'duplicate':
          await this.dropIfUnreferenced(obj.sha256);
          return ok('duplicate');
        case 'conflict':
          this.log.warn(
            { event: 'intake.conflict', sopInstanceUid: a.sopInstanceUid, kept: result.instance.blob_sha256, refused: obj.sha256, actor: describeActor(origin.actor) },
            'different content under an existing SOP Instance UID: first version kept, conflict recorded',
          );
          return { ok: false, failure: 'conflict', message: 'an instance with this SOP Instance UID and different content is already stored; the first version is kept and the conflict recorded', sopClassUid: a.sopClassUid, sopInstanceUid: a.sopInstanceUid };
        case 'foreign-study':
          await this.dropIfUnreferenced(obj.sha256);
          return this.refuse(undefined, origin, 'not-authorized', 'this study or instance belongs to another facility', a.sopClassUid, a.sopInstanceUid);
      }
    } catch (err) {
      await obj.discard().catch(() => undefined);
      this.log.error({ event: 'intake.error', err: (err as Error).message, sopInstanceUid: a.sopInstanceUid }, 'intake failed');
      return { ok: false, failure: 'processing', message: 'internal error while storing; nothing was stored', sopClassUid: a.sopClassUid, sopInstanceUid: a.sopInstanceUid };
    }
  }

  private async dropIfUnreferenced(sha256: string): Promise<void> {
    if (!(await this.repo.blobReferenced(sha256))) await this.blobs.remove(sha256);
  }

  private refuseParse(obj: ReceivedObject, origin: IntakeOrigin, err: unknown, sopClassUid = '', sopInstanceUid = ''): Promise<IntakeResult> {
    if (err instanceof DicomParseError) return this.refuse(obj, origin, 'malformed', err.message, sopClassUid, sopInstanceUid);
    this.log.error({ event: 'intake.parse-error', err: (err as Error).message }, 'unexpected parser error');
    return this.refuse(obj, origin, 'malformed', 'the object could not be read as DICOM', sopClassUid, sopInstanceUid);
  }

  private async refuse(
    obj: ReceivedObject | undefined,
    origin: IntakeOrigin,
    failure: IntakeFailure,
    message: string,
    sopClassUid: string,
    sopInstanceUid: string,
  ): Promise<IntakeResult> {
    await obj?.discard();
    this.log.warn({ event: 'intake.refused', failure, reason: message, sopInstanceUid: sopInstanceUid || undefined, actor: describeActor(origin.actor), source: origin.source }, 'object refused');
    return { ok: false, failure, message, sopClassUid, sopInstanceUid };
  }
}

/** SHA-256 of the bytes from `offset` to the end of a source. */
function hashFrom(src: ByteSource, offset: number): string {
  const h = createHash('sha256');
  const step = 1 << 20;
  for (let pos = offset; pos < src.length; pos += step) h.update(src.read(pos, Math.min(step, src.length - pos)));
  return h.digest('hex');
}
