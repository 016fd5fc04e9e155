/**
 * Prior studies from the facility's PACS (guideline §3-1 過去画像等の検索機能, W3). When a
 * study Enkaku has not seen arrives from a facility whose prior policy is on, a
 * `priors.fetch` job keyed on its Study Instance UID is recorded in the same transaction.
 * The job, once the study has had time to arrive, asks the facility's PACS (C-FIND, Study
 * Root, STUDY level) for the patient's earlier studies within the policy (years back,
 * modalities, how many) and retrieves those Enkaku does not hold yet, by C-GET on the
 * same association or by C-MOVE to Enkaku's own AE title. Retrieving again is harmless:
 * the intake recognises instances it already holds.
 */
import fs from 'node:fs';
import type tls from 'node:tls';
import type { Kysely, Transaction } from 'kysely';
import type { EnkakuConfig } from '../../config.ts';
import type { AuditService } from '../../audit/index.ts';
import type { FacilityService } from '../../orders/index.ts';
import type { BlobStore } from '../../platform/blobs/index.ts';
import type { Database, Study } from '../../platform/db/schema.ts';
import type { Logger } from '../../platform/log.ts';
import { PermanentJobError, type EnqueueResult, type Executor, type JobContext, type JobQueue, type JobWorker } from '../../platform/outbox/index.ts';
import type { PriorsFetchProgress } from '../../../shared/api.ts';
import type { IntakeOrigin, IntakeService, NewStudyHook } from '../service.ts';
import { intakeSink } from './receive.ts';
import { PriorsRepository } from './repository.ts';
import { cFind, cGet, cMove, describeOutcome, type DicomPeer, type RetrieveOutcome, type ScuOptions } from './scu.ts';
import { candidateOf, modalitiesOfSeries, selectPriors, seriesFindIdentifier, studyFindIdentifier, tokyoToday, yearsBefore, type PriorCandidate, type PriorCriteria } from './select.ts';

/** Job kind of the priors fetch; the key is the new study's Study Instance UID. */
export const PRIORS_FETCH = 'priors.fetch';

/** How the fetch appears in the audit trail. */
const PRIORS_ACTOR = { kind: 'system', name: 'priors' } as const;

/** How long a facility's "priors on" is remembered by the intake hook (policy changes take effect after this). */
const POLICY_TTL_MS = 5000;

/** What the priors service needs. */
export interface PriorsDeps {
  db: Kysely<Database>;
  config: EnkakuConfig;
  facilities: FacilityService;
  intake: IntakeService;
  blobs: BlobStore;
  jobs: JobQueue;
  audit: AuditService<Database>;
  log: Logger;
  /** Clock (tests). */
  now?: (() => Date) | undefined;
}

type Progress = PriorsFetchProgress & { studies: NonNullable<PriorsFetchProgress['studies']> };

/** The counts of a progress from its list of studies. */
function recount(p: Progress): void {
  p.studiesWanted = p.studies.length;
  p.studiesDone = p.studies.filter((s) => s.state === 'done').length;
  p.failures = p.studies.filter((s) => s.state === 'failed').length;
  p.instancesReceived = p.studies.reduce((n, s) => n + s.instances, 0);
}

/** The priors service: intake hook (enqueue) and job handler (query and retrieve). */
export class PriorsService implements NewStudyHook {
  private readonly repo: PriorsRepository;
  private readonly now: () => Date;
  private readonly enabledCache = new Map<string, { enabled: boolean; until: number }>();

  constructor(private readonly deps: PriorsDeps) {
    this.repo = new PriorsRepository(deps.db);
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Intake hook: for an instance from a facility whose prior policy is on (and that was not
   * itself retrieved as a prior), the `priors.fetch` job to record if it creates its study.
   */
  async prepare(origin: IntakeOrigin): Promise<((trx: Transaction<Database>, study: Study) => Promise<void>) | undefined> {
    if (origin.source === 'priors') return undefined;
    if (!(await this.enabled(origin.facilityId))) return undefined;
    return async (trx, study) => {
      await this.enqueue(trx, study);
    };
  }

  private async enabled(facilityId: string): Promise<boolean> {
    const t = Date.now();
    const cached = this.enabledCache.get(facilityId);
    if (cached && cached.until > t) return cached.enabled;
    const enabled = (await this.deps.facilities.priorPolicy(facilityId)).enabled;
    this.enabledCache.set(facilityId, { enabled, until: t + POLICY_TTL_MS });
    return enabled;
  }

  /**
   * Enqueues the priors fetch of a study, to run `ENKAKU_PRIORS_DELAY_SECONDS` from now
   * (idempotent: one job per study).
   * @param ex - the transaction that recorded the study, or the database
   */
  async enqueue(ex: Executor, study: Pick<Study, 'study_uid' | 'facility_id'>): Promise<EnqueueResult> {
    return this.deps.jobs.enqueue(ex, {
      kind: PRIORS_FETCH,
      key: study.study_uid,
      facilityId: study.facility_id,
      payload: { studyUid: study.study_uid },
      runAfter: new Date(this.now().getTime() + this.deps.config.priors.delaySeconds * 1000),
    });
  }

  /** Registers the `priors.fetch` handler on a worker. */
  register(worker: JobWorker): void {
    worker.register(PRIORS_FETCH, (ctx) => this.fetch(ctx));
  }

  /**
   * The `priors.fetch` job: query the facility's PACS for the patient's prior studies and
   * retrieve the wanted ones, reporting progress as it goes.
   * @throws on network failures and failed retrievals (the job is retried with backoff);
   *         PermanentJobError when the facility's set-up makes the fetch impossible
   */
  async fetch(ctx: JobContext): Promise<Record<string, unknown>> {
    const studyUid = typeof ctx.payload.studyUid === 'string' ? ctx.payload.studyUid : ctx.job.key;
    const progress: Progress = { studiesFound: 0, studiesWanted: 0, studiesDone: 0, instancesReceived: 0, failures: 0, studies: [] };
    const skip = (reason: string): Record<string, unknown> => ({ ...progress, skipped: reason });
    const study = await this.repo.studyWithPatient(studyUid);
    if (!study) return skip('the study is not in Enkaku');
    const { facilities, config } = this.deps;
    const policy = await facilities.priorPolicy(study.facility_id);
    if (!policy.enabled) return skip('prior studies are off for this facility');
    const node = await facilities.priorSource(study.facility_id);
    if (!node) throw new PermanentJobError('no PACS is registered for this facility (enkaku facility add-node --query)');
    const patientId = study.patient_id.trim();
    // Wildcards in a Patient ID would match other patients (PS3.4 C.2.2.2.4).
    if (!patientId || /[*?\\]/.test(patientId)) return skip('the study has no Patient ID that can be searched exactly');
    if (policy.retrieve === 'move') {
      const owner = await facilities.byCallingAet(node.aet);
      if (owner?.id !== study.facility_id) {
        throw new PermanentJobError(`C-MOVE needs the PACS AE title ${node.aet} registered as a calling AE title of this facility (enkaku facility add-aet), so that Enkaku accepts what it sends`);
      }
    }
    progress.via = policy.retrieve;
    const peer: DicomPeer = { aet: node.aet, host: node.host, port: node.port, tls: node.tls === 1 };
    const scu: ScuOptions = { callingAet: config.dicom.aet, tls: node.tls === 1 ? this.tlsOptions() : undefined, signal: ctx.signal };
    const today = tokyoToday(this.now());
    const criteria: PriorCriteria = {
      currentStudyUid: study.study_uid,
      patientId,
      issuer: study.issuer.trim(),
      from: yearsBefore(today, policy.years),
      to: today,
      modalities: policy.modalities,
      maxStudies: policy.maxStudies,
    };

    const [answers = []] = await cFind(peer, scu, [studyFindIdentifier(criteria)]);
    const candidates = answers.map(candidateOf).filter((c): c is PriorCandidate => c !== undefined);
    if (policy.modalities.length) await this.fillModalities(peer, scu, candidates, criteria);
    const { found, wanted } = selectPriors(candidates, criteria);
    const present = await this.repo.presentStudyUids(wanted.map((w) => w.studyUid));
    // Studies an earlier attempt did not finish are retrieved again even if partly present;
    // those it finished stay in the progress as done.
    const earlier = (ctx.previous.studies as Progress['studies'] | undefined) ?? [];
    const unfinished = new Set(earlier.filter((s) => s.state !== 'done').map((s) => s.studyUid));
    const toFetch = wanted.filter((w) => !present.has(w.studyUid) || unfinished.has(w.studyUid));
    const doneBefore = earlier.filter((s) => s.state === 'done' && present.has(s.studyUid) && wanted.some((w) => w.studyUid === s.studyUid));
    progress.studies = [...doneBefore, ...toFetch.map((w) => ({ studyUid: w.studyUid, state: 'pending' as const, instances: 0 }))];
    progress.studiesFound = found.length;
    recount(progress);
    await this.deps.audit.record({
      actor: PRIORS_ACTOR,
      action: 'study.query',
      object: { type: 'study', id: study.study_uid },
      facilityId: study.facility_id,
      patientRef: study.patient_ref,
      details: { purpose: 'priors', node: node.aet, found: found.length, wanted: toFetch.length, jobId: ctx.job.id },
    });
    await ctx.report(progress as unknown as Record<string, unknown>);
    if (toFetch.length === 0) return progress as unknown as Record<string, unknown>;

    // A retrieved prior is not a new study to fetch priors for, however it arrives (a C-MOVE
    // brings it through the C-STORE SCP): mark its own fetch as done before it comes.
    for (const w of toFetch) {
      await this.deps.jobs.recordDone(this.deps.db, {
        kind: PRIORS_FETCH,
        key: w.studyUid,
        facilityId: study.facility_id,
        payload: { studyUid: w.studyUid, priorOf: study.study_uid },
        progress: { studiesFound: 0, studiesWanted: 0, studiesDone: 0, instancesReceived: 0, failures: 0, skipped: 'retrieved as a prior study', priorOf: study.study_uid },
      });
    }

    const uids = toFetch.map((w) => w.studyUid);
    /** Records a study's outcome: done when all its instances are in (`ok`), failed otherwise. */
    const settle = async (uid: string, ok: boolean, instances: number, error: string): Promise<void> => {
      const entry = progress.studies.find((s) => s.studyUid === uid)!;
      entry.instances = instances;
      entry.state = ok ? 'done' : 'failed';
      if (ok) delete entry.error;
      else entry.error = error;
      recount(progress);
      await ctx.report(progress as unknown as Record<string, unknown>);
    };
    /** Final status success or warning (PS3.4 C.4.2.1.5, C.4.3.1.4) and something retrieved. */
    const succeeded = (o: RetrieveOutcome): boolean => (o.status === 0x0000 || o.status === 0xb000) && o.failed === 0 && o.completed + o.warning > 0;
    const why = (o: RetrieveOutcome): string => (o.status === 0x0000 && o.completed + o.warning + o.failed === 0 ? 'the PACS sent no instances' : describeOutcome(o));
    if (policy.retrieve === 'get') {
      const received = new Map<string, Set<string>>();
      const all = new Set<string>();
      const origin: IntakeOrigin = {
        actor: { kind: 'device', facilityId: study.facility_id, aet: node.aet, address: node.host },
        facilityId: study.facility_id,
        callingAet: node.aet,
        source: 'priors',
      };
      const sink = (): ReturnType<typeof intakeSink> =>
        intakeSink({ intake: this.deps.intake, blobs: this.deps.blobs, log: this.deps.log, maxInstanceBytes: config.dicom.maxInstanceBytes }, origin, (r) => {
          if (!r.ok) return;
          if (!received.has(r.studyInstanceUid)) received.set(r.studyInstanceUid, new Set());
          received.get(r.studyInstanceUid)!.add(r.sopInstanceUid);
          all.add(r.sopInstanceUid);
        }, all);
      const count = (uid: string): number => received.get(uid)?.size ?? 0;
      const first = new Map<string, RetrieveOutcome>();
      await cGet(peer, scu, uids, sink(), 'all', async (uid, o) => {
        first.set(uid, o);
        if (succeeded(o) && count(uid) >= o.completed + o.warning) await settle(uid, true, count(uid), '');
      });
      // Sub-operations that failed may be instances the PACS holds compressed and tried to
      // send over the uncompressed context of their class: ask once more, offering only
      // the compressed syntaxes. The instances already received are not stored again.
      const again = uids.filter((uid) => (first.get(uid)?.failed ?? 0) > 0);
      if (again.length) await cGet(peer, scu, again, sink(), 'compressed');
      for (const uid of uids) {
        const o = first.get(uid);
        if (!o || progress.studies.find((s) => s.studyUid === uid)!.state === 'done') continue;
        const total = o.completed + o.warning + o.failed;
        await settle(uid, total > 0 && count(uid) >= total, count(uid), why(o));
      }
    } else {
      await cMove(peer, scu, config.dicom.aet, uids, (uid, o) => settle(uid, succeeded(o), o.completed + o.warning, why(o)));
    }
    for (const s of progress.studies) {
      if (s.state === 'pending') {
        s.state = 'failed';
        s.error = 'no final response';
      }
    }
    recount(progress);
    await ctx.report(progress as unknown as Record<string, unknown>);
    this.deps.log.info(
      { event: 'priors.fetched', jobId: ctx.job.id, via: policy.retrieve, node: node.aet, found: progress.studiesFound, wanted: progress.studiesWanted, done: progress.studiesDone, instances: progress.instancesReceived, failures: progress.failures },
      'prior studies retrieved',
    );
    if (progress.failures > 0) {
      const first = progress.studies.find((s) => s.state === 'failed')!;
      throw new Error(`${progress.failures} of ${toFetch.length} prior studies could not be retrieved from ${node.aet} (${first.error ?? 'failed'})`);
    }
    return progress as unknown as Record<string, unknown>;
  }

  /**
   * Fills in the modalities of candidates whose answer lacked Modalities in Study, from a
   * SERIES-level C-FIND per study (Modality is a required key there, PS3.4 C.6.2.1.2).
   * Only candidates that pass every other check are asked about.
   */
  private async fillModalities(peer: DicomPeer, scu: ScuOptions, candidates: PriorCandidate[], criteria: PriorCriteria): Promise<void> {
    const unknown = selectPriors(candidates, { ...criteria, modalities: [], maxStudies: Number.MAX_SAFE_INTEGER }).found.filter((c) => c.modalities.length === 0);
    if (unknown.length === 0) return;
    const series = await cFind(peer, scu, unknown.map((c) => seriesFindIdentifier(c.studyUid)));
    unknown.forEach((c, i) => {
      c.modalities = modalitiesOfSeries(series[i] ?? []);
    });
  }

  /** DICOM TLS to the PACS (PS3.15 B.1): Enkaku's DICOM certificate as client certificate, its CA bundle to verify the PACS. */
  private tlsOptions(): tls.ConnectionOptions {
    const c = this.deps.config.dicom;
    return {
      ...(c.tlsCert && c.tlsKey ? { cert: fs.readFileSync(c.tlsCert), key: fs.readFileSync(c.tlsKey) } : {}),
      ...(c.tlsCa ? { ca: fs.readFileSync(c.tlsCa) } : {}),
      minVersion: this.deps.config.tlsMinVersion,
      rejectUnauthorized: true,
    };
  }
}
