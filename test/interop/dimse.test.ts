/**
 * DIMSE intake against real dcmtk clients: C-ECHO, C-STORE in several transfer syntaxes,
 * AE title checks, duplicates, conflicts, facility isolation, concurrency and DICOM TLS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import dcmjsDimse from 'dcmjs-dimse';
import { needTools, testRuntime, listFiles } from '../helpers.ts';
import { run } from './dcmtk.ts';
import { startDimse, type DimseListener } from '../../src/server/archive/index.ts';
import { writeSeries, SAMPLE_PATIENTS, newUid } from '../../src/server/archive/dicom/synthetic.ts';
import { readFileMeta, BufferSource } from '../../src/server/archive/dicom/parse.ts';
import { TS } from '../../src/server/archive/dicom/uids.ts';
import type { Runtime } from '../../src/server/runtime.ts';

const OP = { kind: 'system', name: 'test' } as const;

type StoreRequest = InstanceType<typeof dcmjsDimse.requests.CStoreRequest>;

/** Sends C-STORE requests with dcmjs-dimse on one association and returns their statuses. */
function sendWithClient(port: number, aet: string, requests: StoreRequest[], prepare?: (r: StoreRequest[]) => void): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const client = new dcmjsDimse.Client();
    const statuses: number[] = new Array(requests.length).fill(-1);
    requests.forEach((req, i) => {
      req.on('response', (res: { getStatus(): number }) => {
        statuses[i] = res.getStatus();
      });
      client.addRequest(req);
    });
    // Requests load their data sets lazily; adjust commands once they exist.
    prepare?.(requests);
    client.on('networkError', (e: Error) => reject(e));
    client.on('closed', () => resolve(statuses));
    client.send('127.0.0.1', port, aet, 'ENKAKU');
  });
}

describe('DIMSE intake with dcmtk', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let dimse: DimseListener;
  let work: string;
  let port: number;

  before(async () => {
    rt = await testRuntime();
    await rt.facilities.add(OP, { name: 'Hospital A', aets: ['MODA', 'MODA2'] });
    await rt.facilities.add(OP, { name: 'Hospital B', aets: ['MODB'] });
    dimse = await startDimse({ config: rt.config, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
    port = dimse.port;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-dimse-'));
  });

  after(async () => {
    await dimse?.close();
    await rt?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const storescu = (aet: string, files: string[], extra: string[] = []) =>
    run('storescu', ['-aec', 'ENKAKU', '-aet', aet, ...extra, '127.0.0.1', String(port), ...files]);

  test('C-ECHO succeeds for a registered AE and is rejected for an unknown one or a wrong called AE', async (t) => {
    if (!needTools(t, ['echoscu'], 'apt-get install dcmtk')) return;
    assert.equal((await run('echoscu', ['-aec', 'ENKAKU', '-aet', 'MODA', '127.0.0.1', String(port)])).code, 0);
    const unknown = await run('echoscu', ['-aec', 'ENKAKU', '-aet', 'STRANGER', '127.0.0.1', String(port)]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Calling AE Title Not Recognized/i);
    const wrongCalled = await run('echoscu', ['-aec', 'OTHER', '-aet', 'MODA', '127.0.0.1', String(port)]);
    assert.notEqual(wrongCalled.code, 0);
    assert.match(wrongCalled.stderr, /Called AE Title Not Recognized/i);
  });

  test('C-STORE in native and compressed transfer syntaxes keeps each data set byte for byte and indexes it', async (t) => {
    if (!needTools(t, ['storescu'], 'apt-get install dcmtk')) return;
    // storescu proposes only the file's own transfer syntax, so nothing is converted on the way.
    const proposals: Array<[string, string[]]> = [
      [TS.ExplicitVRLittleEndian, ['-xe']],
      [TS.ImplicitVRLittleEndian, ['-xi']],
      [TS.ExplicitVRBigEndian, ['-xb']],
      [TS.DeflatedExplicitVRLittleEndian, ['-xd']],
      [TS.RleLossless, ['-xr']],
      [TS.JpegLosslessSV1, ['-xs']],
      [TS.JpegLsLossless, ['-xt']],
      [TS.Jpeg2000Lossless, ['-xv']],
    ];
    const syntaxes = proposals.map(([ts]) => ts);
    const studyUid = newUid();
    for (const [i, [ts, propose]] of proposals.entries()) {
      const dir = path.join(work, `ts-${i}`);
      const { files } = await writeSeries(dir, { modality: 'CT', count: 2, rows: 64, columns: 64, transferSyntax: ts, studyInstanceUid: studyUid, seed: i + 1 });
      const r = await storescu('MODA', files, propose);
      assert.equal(r.code, 0, `storescu ${ts}: ${r.stderr}`);
      for (const f of files) {
        const original = fs.readFileSync(f);
        const meta = readFileMeta(new BufferSource(original));
        const row = await rt.db.kysely.selectFrom('instances').selectAll().where('sop_instance_uid', '=', meta.mediaStorageSopInstanceUid).executeTakeFirst();
        assert.ok(row, `instance in ${ts} indexed`);
        assert.equal(row.transfer_syntax_uid, ts);
        assert.equal(row.calling_aet, 'MODA');
        assert.equal(row.rows, 64);
        const stored = await rt.blobs.read(row.blob_sha256);
        const storedMeta = readFileMeta(new BufferSource(stored));
        assert.equal(storedMeta.transferSyntaxUid, ts);
        let sent = original.subarray(meta.datasetOffset);
        let kept = stored.subarray(storedMeta.datasetOffset);
        if (ts === TS.DeflatedExplicitVRLittleEndian) {
          // storescu re-deflates on sending; compare the deflated content.
          sent = zlib.inflateRawSync(sent);
          kept = zlib.inflateRawSync(kept);
        }
        assert.ok(kept.equals(sent), `data set in ${ts} stored unchanged`);
      }
    }
    const study = await rt.intake.repo.studyByUid(studyUid);
    assert.equal(study?.num_instances, syntaxes.length * 2);
    assert.equal(study?.modalities, 'CT');
  });

  test('Japanese names in ISO 2022 IR 87, IR 13 + IR 87, IR 159 and UTF-8 are indexed exactly', async (t) => {
    if (!needTools(t, ['storescu'], 'apt-get install dcmtk')) return;
    const cases = [
      { charset: '\\ISO 2022 IR 87', patient: SAMPLE_PATIENTS[0]!, expect: ['Yamada^Tarou', '山田^太郎', 'やまだ^たろう'] },
      { charset: 'ISO 2022 IR 13\\ISO 2022 IR 87', patient: SAMPLE_PATIENTS[1]!, expect: ['Suzuki^Hanako', '鈴木^花子', 'ｽｽﾞｷ^ﾊﾅｺ'] },
      { charset: 'ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159', patient: SAMPLE_PATIENTS[2]!, expect: ['Hamada^Kenji', '濵田^健二', 'はまだ^けんじ'] },
      { charset: 'ISO_IR 192', patient: SAMPLE_PATIENTS[4]!, expect: ['Satou^Yuki', '佐藤^由紀', 'サトウ^ユキ'] },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const dir = path.join(work, `jp-${i}`);
      const { files } = await writeSeries(dir, { modality: 'MR', count: 1, rows: 32, columns: 32, charset: c.charset, patient: c.patient, seed: 10 + i });
      const r = await storescu('MODA', files);
      assert.equal(r.code, 0, r.stderr);
      const p = await rt.db.kysely.selectFrom('patients').selectAll().where('patient_id', '=', c.patient.id).executeTakeFirstOrThrow();
      assert.deepEqual([p.name_alphabetic, p.name_ideographic, p.name_phonetic], c.expect, c.charset);
    }
    // Each group is searchable, whatever the script or width it is typed in.
    const facility = (await rt.facilities.byName('Hospital A'))!;
    for (const q of ['山田', 'やまだ', 'ヤマダ', 'ﾔﾏﾀﾞ', 'YAMADA', 'yamada^tarou']) {
      const found = await rt.intake.repo.patientsByName([facility.id], q);
      assert.deepEqual(found.map((p) => p.patient_id), ['00012345'], q);
    }
    assert.deepEqual((await rt.intake.repo.patientsByName([facility.id], 'すずき')).map((p) => p.patient_id), ['00023456'], 'half-width phonetic found by hiragana');
    const other = (await rt.facilities.byName('Hospital B'))!;
    assert.equal((await rt.intake.repo.patientsByName([other.id], '山田')).length, 0, 'another facility sees nothing');
  });

  test('an identical re-send succeeds without a second copy; different bytes under the same UID are refused with 0111 and recorded', async (t) => {
    if (!needTools(t, ['storescu', 'dcmodify'], 'apt-get install dcmtk')) return;
    const dir = path.join(work, 'dup');
    const { files } = await writeSeries(dir, { modality: 'CT', count: 1, rows: 32, columns: 32, seed: 99 });
    const file = files[0]!;
    assert.equal((await storescu('MODA', [file])).code, 0);
    const uid = readFileMeta(new BufferSource(fs.readFileSync(file))).mediaStorageSopInstanceUid;
    const first = await rt.db.kysely.selectFrom('instances').selectAll().where('sop_instance_uid', '=', uid).executeTakeFirstOrThrow();
    const blobsBefore = listFiles(rt.blobs.root).length;

    const again = await storescu('MODA', [file]);
    assert.equal(again.code, 0, 'identical re-send succeeds');
    assert.equal(listFiles(rt.blobs.root).length, blobsBefore, 'no second copy on disk');
    const count = await rt.db.kysely.selectFrom('instances').select((e) => e.fn.countAll().as('n')).where('sop_instance_uid', '=', uid).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1);

    const altered = path.join(work, 'altered.dcm');
    fs.copyFileSync(file, altered);
    execFileSync('dcmodify', ['-nb', '-m', '(0008,103e)=ALTERED SERIES', altered]);
    const conflict = await storescu('MODA', [altered], ['-v']);
    assert.match(conflict.stdout + conflict.stderr, /Status: 0x0?111|Duplicate SOP Instance/i);
    const kept = await rt.db.kysely.selectFrom('instances').selectAll().where('sop_instance_uid', '=', uid).executeTakeFirstOrThrow();
    assert.equal(kept.blob_sha256, first.blob_sha256, 'the first version is kept');
    const conflicts = await rt.db.kysely.selectFrom('instance_conflicts').selectAll().where('sop_instance_uid', '=', uid).execute();
    assert.equal(conflicts.length, 1);
    assert.ok(await rt.blobs.has(conflicts[0]!.refused_blob_sha256), 'the refused version is kept for inspection');
  });

  test('a dcmjs-dimse client stores HTJ2K, and a data set whose UID differs from the command is refused with A900', async () => {
    const { files } = await writeSeries(path.join(work, 'htj2k'), { modality: 'CT', count: 1, rows: 64, columns: 64, transferSyntax: TS.HtJpeg2000Lossless, seed: 77 });
    const ok = new dcmjsDimse.requests.CStoreRequest(files[0]!);
    const { files: other } = await writeSeries(path.join(work, 'mismatch'), { modality: 'CT', count: 1, rows: 32, columns: 32, seed: 78 });
    const bad = new dcmjsDimse.requests.CStoreRequest(other[0]!);
    const statuses = await sendWithClient(port, 'MODA', [ok, bad], (reqs) => reqs[1]!.setAffectedSopInstanceUid(newUid()));
    assert.deepEqual(statuses, [0x0000, 0xa900]);
    const uid = readFileMeta(new BufferSource(fs.readFileSync(files[0]!))).mediaStorageSopInstanceUid;
    const row = await rt.db.kysely.selectFrom('instances').selectAll().where('sop_instance_uid', '=', uid).executeTakeFirstOrThrow();
    assert.equal(row.transfer_syntax_uid, TS.HtJpeg2000Lossless);
  });

  test('a study sent by one facility cannot be added to by another (0124)', async (t) => {
    if (!needTools(t, ['storescu'], 'apt-get install dcmtk')) return;
    const studyUid = newUid();
    const a = await writeSeries(path.join(work, 'fa'), { modality: 'CT', count: 1, rows: 32, columns: 32, studyInstanceUid: studyUid, seed: 5 });
    const b = await writeSeries(path.join(work, 'fb'), { modality: 'CT', count: 1, rows: 32, columns: 32, studyInstanceUid: studyUid, seed: 6 });
    assert.equal((await storescu('MODA', a.files)).code, 0);
    const refused = await storescu('MODB', b.files, ['-v']);
    assert.match(refused.stdout + refused.stderr, /Status: 0x0?124|Not Authorized/i);
    const study = await rt.intake.repo.studyByUid(studyUid);
    assert.equal(study?.num_instances, 1);
  });

  test('concurrent associations all store their instances', async (t) => {
    if (!needTools(t, ['storescu'], 'apt-get install dcmtk')) return;
    const studyUid = newUid();
    const series = await Promise.all(
      [0, 1, 2, 3].map((i) => writeSeries(path.join(work, `cc-${i}`), { modality: 'CT', count: 10, rows: 64, columns: 64, studyInstanceUid: studyUid, seed: 40 + i })),
    );
    const results = await Promise.all(series.map((s, i) => storescu(i % 2 ? 'MODA2' : 'MODA', s.files)));
    results.forEach((r) => assert.equal(r.code, 0, r.stderr));
    const study = await rt.intake.repo.studyByUid(studyUid);
    assert.equal(study?.num_instances, 40);
    assert.equal(study?.num_series, 4);
  });
});

describe('DIMSE limits', { concurrency: false }, () => {
  test('an instance over the size limit is refused with A700 and leaves nothing behind', async (t) => {
    if (!needTools(t, ['storescu'], 'apt-get install dcmtk')) return;
    const rt = await testRuntime();
    const cfg = { ...rt.config, dicom: { ...rt.config.dicom, maxInstanceBytes: 10_000 } };
    await rt.facilities.add(OP, { name: 'Limit Hospital', aets: ['LIMMOD'] });
    const listener = await startDimse({ config: cfg, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-limit-'));
    try {
      const { files } = await writeSeries(dir, { modality: 'CT', count: 1, rows: 128, columns: 128, seed: 9 });
      const r = await run('storescu', ['-v', '-aec', 'ENKAKU', '-aet', 'LIMMOD', '127.0.0.1', String(listener.port), ...files]);
      assert.match(r.stdout + r.stderr, /Status: 0xa700|Refused: OutOfResources/i);
      const n = await rt.db.kysely.selectFrom('instances').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 0);
      assert.equal(listFiles(rt.blobs.tempDir).length, 0);
      assert.equal(listFiles(rt.blobs.root).length, 0);
    } finally {
      await listener.close();
      await rt.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DICOM TLS', { concurrency: false }, () => {
  test('with a certificate configured the port speaks TLS only and stores over TLS', async (t) => {
    if (!needTools(t, ['storescu', 'echoscu', 'openssl'], 'apt-get install dcmtk openssl')) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const rt = await testRuntime();
    const cfg = { ...rt.config, dicom: { ...rt.config.dicom, tlsCert: cert, tlsKey: key } };
    await rt.facilities.add(OP, { name: 'TLS Hospital', aets: ['TLSMOD'] });
    const dimse = await startDimse({ config: cfg, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
    try {
      assert.equal(dimse.tls, true);
      const plain = await run('echoscu', ['-to', '5', '-ta', '5', '-aec', 'ENKAKU', '-aet', 'TLSMOD', '127.0.0.1', String(dimse.port)], 20_000);
      assert.notEqual(plain.code, 0, 'plain DIMSE is refused on the TLS port');
      const { files } = await writeSeries(path.join(dir, 's'), { modality: 'CT', count: 2, rows: 32, columns: 32, seed: 3 });
      const tlsArgs = ['+tls', key, cert, '+cf', cert, '-aec', 'ENKAKU', '-aet', 'TLSMOD', '127.0.0.1', String(dimse.port)];
      const r = await run('storescu', [...tlsArgs, ...files]);
      assert.equal(r.code, 0, r.stderr);
      const n = await rt.db.kysely.selectFrom('instances').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 2);
    } finally {
      await dimse.close();
      await rt.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
