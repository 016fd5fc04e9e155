/**
 * Prior studies from the facility's PACS (W3) against a real dcmtk `dcmqrscp`: a new study
 * sent to Enkaku by storescu starts a `priors.fetch` job that finds the patient's earlier
 * studies at the PACS (C-FIND) and retrieves those within the policy by C-GET or C-MOVE;
 * other patients' studies, studies too old and other modalities stay at the PACS; a PACS
 * that is down fails the attempt, and the job succeeds once it is back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, needTools, testRuntime, which } from '../helpers.ts';
import { run, startDcmqrscp, type QrScp } from './dcmtk.ts';
import { startDimse, type DimseListener } from '../../src/server/archive/index.ts';
import { writeSeries, SAMPLE_PATIENTS, type SyntheticCharset, type SyntheticModality, type SyntheticPatient } from '../../src/server/archive/dicom/synthetic.ts';
import { BufferSource, readFileMeta } from '../../src/server/archive/dicom/parse.ts';
import { TS } from '../../src/server/archive/dicom/uids.ts';
import { tokyoToday, yearsBefore, PRIORS_FETCH } from '../../src/server/archive/priors/index.ts';
import { JobQueue, JobWorker, jobJson } from '../../src/server/platform/outbox/index.ts';
import type { Job } from '../../src/server/platform/db/schema.ts';
import type { Runtime } from '../../src/server/runtime.ts';
import type { Actor } from '../../src/server/platform/context.ts';

const OP = { kind: 'system', name: 'test' } as const;
const TOOLS = ['dcmqrscp', 'storescu'];
const INSTALL = 'apt-get install dcmtk';

/** Polls until `check` returns a value. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('prior studies from the facility PACS (dcmqrscp)', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let dimse: DimseListener;
  let pacs: QrScp | undefined;
  let worker: JobWorker;
  let work: string;
  let facilityA: string;
  let seed = 100;
  const today = tokyoToday(new Date());

  /** Writes a study of the patient dated `years` back (plus `days`), returns its files and UID. */
  const study = async (patient: SyntheticPatient, modality: SyntheticModality, years: number, count: number, days = 0, charset: SyntheticCharset = '\\ISO 2022 IR 87', transferSyntax: string = TS.ExplicitVRLittleEndian) => {
    const date = yearsBefore(today, years);
    const d = new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8)) - days));
    const studyDate = d.toISOString().slice(0, 10).replaceAll('-', '');
    const dir = path.join(work, `s${seed}`);
    const s = await writeSeries(dir, { modality, count, rows: 32, columns: 32, patient, studyDate, charset, transferSyntax, seed: seed++ });
    return { files: s.files, uid: s.studyInstanceUid };
  };
  const sendToEnkaku = (aet: string, files: string[]) => run('storescu', ['-aec', 'ENKAKU', '-aet', aet, '127.0.0.1', String(dimse.port), ...files]);
  const jobOf = (studyUid: string): Promise<Job | undefined> => rt.jobs.byKey(PRIORS_FETCH, studyUid);
  const finished = (studyUid: string): Promise<Job> =>
    until(`the priors job of ${studyUid}`, async () => {
      const j = await jobOf(studyUid);
      return (j?.state === 'done' || j?.state === 'failed') && j;
    });
  const instancesOf = async (studyUid: string) => {
    const s = await rt.intake.repo.studyByUid(studyUid);
    if (!s) return undefined;
    return rt.db.kysely.selectFrom('instances').selectAll().where('study_ref', '=', s.id).execute();
  };

  before(async () => {
    rt = await testRuntime({ priors: { delaySeconds: 0 } });
    facilityA = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['MODA', 'PACSA'] })).id;
    await rt.facilities.add(OP, { name: 'Hospital B', aets: ['MODB'] });
    dimse = await startDimse({ config: rt.config, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-priors-'));
    // Short backoff so that the "PACS down" case retries within the test.
    const queue = new JobQueue(rt.db.kysely, rt.db.dialect, { backoff: { baseMs: 400, maxMs: 1500 } });
    worker = new JobWorker(queue, { log: rt.log, pollMs: 100 });
    rt.priors.register(worker);
    worker.start();
    if (!TOOLS.every((t) => which(t))) return;
    const port = await freePort();
    // +xs: the PACS accepts JPEG lossless and prefers it where offered, so it keeps such studies compressed.
    pacs = await startDcmqrscp({ dir: path.join(work, 'pacs'), aet: 'PACSA', port, args: ['+xs'], destinations: [{ aet: 'ENKAKU', host: '127.0.0.1', port: dimse.port }] });
    await rt.facilities.addNode(OP, 'Hospital A', { aet: 'PACSA', host: '127.0.0.1', port, tls: false, query: true, destination: false });
    await rt.facilities.setPriorPolicy(OP, 'Hospital A', { enabled: true, years: 5, modalities: ['CT'], maxStudies: 5, retrieve: 'get' });
  });

  after(async () => {
    await worker?.stop();
    await pacs?.stop();
    await dimse?.close();
    await rt?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('C-GET: the priors within the policy arrive, byte for byte, with progress; nothing else does', async (t) => {
    if (!needTools(t, TOOLS, INSTALL)) return;
    const yamada = SAMPLE_PATIENTS[0]!;
    const recent = await study(yamada, 'CT', 1, 3);
    // Kept JPEG lossless at the PACS: it comes over the second, compressed presentation context.
    const older = await study(yamada, 'CT', 3, 2, 0, '\\ISO 2022 IR 87', TS.JpegLosslessSV1);
    const mr = await study(yamada, 'MR', 2, 1);
    const tooOld = await study(yamada, 'CT', 5, 1, 1);
    const otherPatient = await study(SAMPLE_PATIENTS[1]!, 'CT', 1, 1);
    const loaded = await pacs!.load([...recent.files, ...mr.files, ...tooOld.files, ...otherPatient.files]);
    assert.equal(loaded.code, 0, loaded.stderr);
    const compressed = await pacs!.load(older.files, ['-xs']);
    assert.equal(compressed.code, 0, compressed.stderr);

    const current = await study(yamada, 'CT', 0, 2);
    const sent = await sendToEnkaku('MODA', current.files);
    assert.equal(sent.code, 0, sent.stderr);
    const job = await finished(current.uid);
    assert.equal(job.state, 'done', job.last_error ?? '');
    assert.equal(job.attempts, 1, 'compressed and uncompressed priors in one attempt');
    assert.equal(job.facility_id, facilityA);
    const progress = jobJson(job.progress);
    assert.equal(progress.studiesFound, 2);
    assert.equal(progress.studiesWanted, 2);
    assert.equal(progress.studiesDone, 2);
    assert.equal(progress.instancesReceived, 5);
    assert.equal(progress.failures, 0);
    assert.equal(progress.via, 'get');

    for (const [prior, count] of [[recent, 3], [older, 2]] as const) {
      const rows = await instancesOf(prior.uid);
      assert.equal(rows?.length, count, `prior ${prior.uid}`);
      const s = (await rt.intake.repo.studyByUid(prior.uid))!;
      assert.equal(s.facility_id, facilityA);
      assert.equal(s.num_instances, count);
      for (const r of rows!) {
        assert.equal(r.source, 'priors');
        assert.equal(r.calling_aet, 'PACSA');
      }
    }
    // Original bytes: each stored data set is the one loaded into the PACS, in its transfer syntax.
    for (const f of [...recent.files, ...older.files]) {
      const original = fs.readFileSync(f);
      const meta = readFileMeta(new BufferSource(original));
      const row = (await rt.intake.repo.instanceByUid(meta.mediaStorageSopInstanceUid))!;
      const stored = await rt.blobs.read(row.blob_sha256);
      const storedMeta = readFileMeta(new BufferSource(stored));
      assert.equal(storedMeta.transferSyntaxUid, meta.transferSyntaxUid);
      assert.ok(stored.subarray(storedMeta.datasetOffset).equals(original.subarray(meta.datasetOffset)), 'data set kept as sent');
    }
    for (const absent of [mr, tooOld, otherPatient]) assert.equal(await rt.intake.repo.studyByUid(absent.uid), undefined);

    // The priors did not start fetches of their own; their arrival is audited as from the PACS.
    for (const prior of [recent, older]) {
      const marker = (await jobOf(prior.uid))!;
      assert.equal(marker.state, 'done');
      assert.equal(marker.attempts, 0);
      assert.equal(jobJson(marker.progress).priorOf, current.uid);
    }
    const stored = await rt.audit.search(OP, { action: 'instance.store', limit: 1000 });
    const fromPacs = stored.records.filter((r) => r.details.source === 'priors');
    assert.equal(fromPacs.length, 5);
    assert.ok(fromPacs.every((r) => r.actor.id === 'PACSA' && r.facilityId === facilityA));
    const queries = await rt.audit.search(OP, { action: 'study.query', limit: 10 });
    assert.equal(queries.records.length, 1);
    assert.equal(queries.records[0]!.object.id, current.uid);

    // What users see: the job of their facility, without PHI.
    const attending: Actor = { kind: 'user', userId: 'u1', username: 'doc', grants: [{ role: 'attending-physician', facilityId: facilityA }], address: '127.0.0.1', sessionId: 's' };
    const view = await rt.jobViews.get(attending, job.id);
    assert.deepEqual(view.payload, { studyUid: current.uid });
    const text = JSON.stringify(await rt.jobViews.list(attending, { kind: PRIORS_FETCH }));
    for (const phi of [yamada.id, 'Yamada', '山田', yamada.birthDate]) assert.ok(!text.includes(phi), `no ${phi} in job views`);

    // A facility without a prior policy: no job.
    const b = await study(SAMPLE_PATIENTS[3]!, 'CT', 0, 1);
    assert.equal((await sendToEnkaku('MODB', b.files)).code, 0);
    assert.equal(await jobOf(b.uid), undefined);
  });

  test('C-MOVE: the PACS sends the priors to Enkaku\'s own AE title', async (t) => {
    if (!needTools(t, TOOLS, INSTALL)) return;
    await rt.facilities.setPriorPolicy(OP, 'Hospital A', { retrieve: 'move' });
    const hamada = SAMPLE_PATIENTS[2]!;
    // 濵 is a JIS X 0212 kanji: UTF-8 here.
    const p2 = await study(hamada, 'CT', 2, 2, 0, 'ISO_IR 192');
    const p4 = await study(hamada, 'CT', 4, 1, 0, 'ISO_IR 192');
    assert.equal((await pacs!.load([...p2.files, ...p4.files])).code, 0);
    const current = await study(hamada, 'CT', 0, 1, 0, 'ISO_IR 192');
    assert.equal((await sendToEnkaku('MODA', current.files)).code, 0);
    const job = await finished(current.uid);
    assert.equal(job.state, 'done', job.last_error ?? '');
    assert.equal(job.attempts, 1);
    const progress = jobJson(job.progress);
    assert.deepEqual([progress.via, progress.studiesFound, progress.studiesWanted, progress.studiesDone, progress.instancesReceived, progress.failures], ['move', 2, 2, 2, 3, 0]);
    for (const [prior, count] of [[p2, 2], [p4, 1]] as const) {
      const rows = (await instancesOf(prior.uid))!;
      assert.equal(rows.length, count);
      assert.ok(rows.every((r) => r.calling_aet === 'PACSA' && r.source === 'dimse' && r.facility_id === facilityA));
      const marker = (await jobOf(prior.uid))!;
      assert.equal(marker.attempts, 0, 'a moved prior does not fetch priors of its own');
    }
    await rt.facilities.setPriorPolicy(OP, 'Hospital A', { retrieve: 'get' });
  });

  test('with the PACS down the job fails, backs off, and succeeds once the PACS is back', async (t) => {
    if (!needTools(t, TOOLS, INSTALL)) return;
    const satou = SAMPLE_PATIENTS[4]!;
    const prior = await study(satou, 'CT', 1, 2);
    assert.equal((await pacs!.load(prior.files)).code, 0);
    await pacs!.stop();
    const current = await study(satou, 'CT', 0, 1);
    assert.equal((await sendToEnkaku('MODA', current.files)).code, 0);
    const waiting = await until('a failed attempt', async () => {
      const j = await jobOf(current.uid);
      return j && j.state === 'queued' && j.attempts >= 1 && j;
    });
    assert.match(waiting.last_error ?? '', /ECONNREFUSED|refused|closed/i);
    assert.ok(Date.parse(waiting.run_after) > Date.parse(waiting.updated_at), 'the next attempt waits');
    assert.equal(await rt.intake.repo.studyByUid(prior.uid), undefined);
    await pacs!.start();
    const job = await finished(current.uid);
    assert.equal(job.state, 'done', job.last_error ?? '');
    assert.ok(job.attempts >= 2, `attempts ${job.attempts}`);
    assert.equal((await instancesOf(prior.uid))?.length, 2);
    assert.equal(jobJson(job.progress).studiesDone, 1);
  });
});
