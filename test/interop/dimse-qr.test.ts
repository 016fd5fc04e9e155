/**
 * DIMSE Query/Retrieve against real dcmtk clients: findscu on both information models
 * and all levels (Japanese names, date ranges, returned keys, character set, cancel),
 * facility isolation, getscu (whole study, one series, re-encoding to implicit VR),
 * movescu to a registered storescp and to an unknown destination, a tampered file
 * failing its sub-operation with an integrity alert, and the audit trail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, needTools, testRuntime, which } from '../helpers.ts';
import { run, startTool, type BackgroundTool } from './dcmtk.ts';
import { startDimse, type DimseListener } from '../../src/server/archive/index.ts';
import { writeSeries, SAMPLE_PATIENTS, newUid } from '../../src/server/archive/dicom/synthetic.ts';
import { BufferSource, readFileMeta, scanDataset } from '../../src/server/archive/dicom/parse.ts';
import { decodeText, parseSpecificCharacterSet } from '../../src/server/archive/dicom/charsets.ts';
import { TS } from '../../src/server/archive/dicom/uids.ts';
import type { Runtime } from '../../src/server/runtime.ts';
import dcmjsDimse from 'dcmjs-dimse';

const OP = { kind: 'system', name: 'test' } as const;
const DCMTK = 'apt-get install dcmtk';

/** Tags read back from responses and retrieved files. */
const T = {
  SpecificCharacterSet: 0x00080005,
  SOPClassUID: 0x00080016,
  SOPInstanceUID: 0x00080018,
  StudyDate: 0x00080020,
  QueryRetrieveLevel: 0x00080052,
  RetrieveAETitle: 0x00080054,
  FailedSOPInstanceUIDList: 0x00080058,
  Modality: 0x00080060,
  ModalitiesInStudy: 0x00080061,
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  PatientBirthDate: 0x00100030,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  SeriesNumber: 0x00200011,
  InstanceNumber: 0x00200013,
  NumberOfPatientRelatedStudies: 0x00201200,
  NumberOfStudyRelatedInstances: 0x00201208,
  NumberOfSeriesRelatedInstances: 0x00201209,
  Rows: 0x00280010,
} as const;

/** A DICOM file (Part 10) read back: decoded text of the wanted top-level elements, and the data set bytes. */
function readDicom(file: string): { text(tag: number): string | undefined; has(tag: number): boolean; ts: string; dataset: Buffer; rows: number | undefined } {
  const bytes = fs.readFileSync(file);
  const src = new BufferSource(bytes);
  const meta = readFileMeta(src);
  const scan = scanDataset(src, meta.datasetOffset, meta.transferSyntaxUid, new Set(Object.values(T)));
  const charsets = parseSpecificCharacterSet(scan.elements.get(T.SpecificCharacterSet)?.value.toString('latin1'));
  return {
    text: (tag) => {
      const e = scan.elements.get(tag);
      return e ? decodeText(e.value, charsets, e.vr).replace(/\0+$/, '').trim() : undefined;
    },
    has: (tag) => scan.elements.has(tag),
    ts: meta.transferSyntaxUid,
    dataset: bytes.subarray(meta.datasetOffset),
    rows: scan.elements.get(T.Rows)?.value.readUInt16LE(0),
  };
}

/** The DICOM files of a folder, by SOP Instance UID. */
function filesByUid(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (!fs.statSync(file).isFile()) continue;
    out.set(readDicom(file).text(T.SOPInstanceUID)!, file);
  }
  return out;
}

type QrRequest = InstanceType<typeof dcmjsDimse.requests.CFindRequest> | InstanceType<typeof dcmjsDimse.requests.CGetRequest>;

/**
 * Sends a request with dcmjs-dimse and a C-CANCEL right behind it (PS3.7 §9.1.5); resolves
 * with the statuses of the responses received.
 */
function cancelledAtOnce(port: number, aet: string, request: QrRequest): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const client = new dcmjsDimse.Client();
    const statuses: number[] = [];
    request.on('response', (res: { getStatus(): number }) => statuses.push(res.getStatus()));
    client.addRequest(request);
    client.on('associationAccepted', () => setImmediate(() => client.cancel(request)));
    client.on('cStoreRequest', (req: InstanceType<typeof dcmjsDimse.requests.CStoreRequest>, cb: (r: unknown) => void) => {
      const r = dcmjsDimse.responses.CStoreResponse.fromRequest(req);
      r.setStatus(0);
      cb(r);
    });
    client.on('networkError', (e: Error) => reject(e));
    client.on('closed', () => resolve(statuses));
    client.send('127.0.0.1', port, aet, 'ENKAKU');
  });
}

describe('DIMSE query/retrieve with dcmtk', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let dimse: DimseListener;
  let work: string;
  let port: number;
  let destination: BackgroundTool | undefined;
  let destinationDir: string;
  const studyA1 = newUid();
  const seriesA1a = newUid();
  const seriesA1b = newUid();
  const studyA2 = newUid();
  const studyB1 = newUid();
  /** Original files of study A1 by SOP Instance UID. */
  const originals = new Map<string, string>();

  before(async () => {
    rt = await testRuntime();
    await rt.facilities.add(OP, { name: 'Hospital A', aets: ['QRA'] });
    await rt.facilities.add(OP, { name: 'Hospital B', aets: ['QRB'] });
    dimse = await startDimse({ config: rt.config, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
    port = dimse.port;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-qr-'));
    const load = async (aet: string, name: string, opts: Parameters<typeof writeSeries>[1]): Promise<string[]> => {
      const { files } = await writeSeries(path.join(work, 'src', name), opts);
      const r = await run('storescu', ['-aec', 'ENKAKU', '-aet', aet, '127.0.0.1', String(port), ...files]);
      assert.equal(r.code, 0, r.stderr);
      return files;
    };
    // Without dcmtk every test skips (or fails in strict mode) on its own.
    if (!['storescu', 'findscu', 'getscu', 'movescu', 'storescp'].every((tool) => which(tool))) return;
    const a1a = await load('QRA', 'a1a', { modality: 'CT', count: 5, rows: 64, columns: 64, patient: SAMPLE_PATIENTS[0]!, charset: '\\ISO 2022 IR 87', studyInstanceUid: studyA1, seriesInstanceUid: seriesA1a, seriesNumber: 1, studyDate: '20260310', accessionNumber: 'ACC-A1', seed: 1 });
    const a1b = await load('QRA', 'a1b', { modality: 'CT', count: 3, rows: 64, columns: 64, patient: SAMPLE_PATIENTS[0]!, charset: '\\ISO 2022 IR 87', studyInstanceUid: studyA1, seriesInstanceUid: seriesA1b, seriesNumber: 2, studyDate: '20260310', accessionNumber: 'ACC-A1', seed: 2 });
    for (const f of [...a1a, ...a1b]) originals.set(readDicom(f).text(T.SOPInstanceUID)!, f);
    await load('QRA', 'a2', { modality: 'MR', count: 2, rows: 32, columns: 32, patient: SAMPLE_PATIENTS[1]!, charset: 'ISO 2022 IR 13\\ISO 2022 IR 87', studyInstanceUid: studyA2, studyDate: '20251201', accessionNumber: 'ACC-A2', seed: 3 });
    await load('QRB', 'b1', { modality: 'CT', count: 1, rows: 32, columns: 32, patient: SAMPLE_PATIENTS[0]!, charset: 'ISO_IR 192', studyInstanceUid: studyB1, studyDate: '20260311', accessionNumber: 'ACC-B1', seed: 4 });
  });

  after(async () => {
    await destination?.stop();
    await dimse?.close();
    await rt?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  let findCount = 0;
  /** Runs findscu and returns the response identifiers it extracted, and its log. */
  const find = async (aet: string, model: '-S' | '-P', keys: string[], extra: string[] = []) => {
    const dir = path.join(work, `find-${++findCount}`);
    fs.mkdirSync(dir);
    const r = await run('findscu', ['-v', model, '-aec', 'ENKAKU', '-aet', aet, '-X', '-od', dir, ...extra, ...keys.flatMap((k) => ['-k', k]), '127.0.0.1', String(port)]);
    const responses = fs.readdirSync(dir).sort().map((f) => readDicom(path.join(dir, f)));
    return { ...r, log: r.stdout + r.stderr, responses };
  };
  const utf8 = 'SpecificCharacterSet=ISO_IR 192';

  test('C-FIND STUDY level on Study Root finds a Japanese patient through each name group and returns the keys in UTF-8', async (t) => {
    if (!needTools(t, ['findscu', 'storescu'], DCMTK)) return;
    const keys = ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'PatientID', 'PatientBirthDate', 'StudyDate', 'ModalitiesInStudy', 'NumberOfStudyRelatedInstances', 'AccessionNumber'];
    for (const name of ['山田*', 'やまだ*', 'ﾔﾏﾀﾞ*', 'Yamada*', 'yamada', '山田^太郎']) {
      const r = await find('QRA', '-S', [utf8, `PatientName=${name}`, ...keys]);
      assert.equal(r.code, 0, r.log);
      assert.deepEqual(r.responses.map((x) => x.text(T.StudyInstanceUID)), [studyA1], name);
    }
    const r = await find('QRA', '-S', [utf8, 'PatientName=山田*', ...keys, 'SeriesDescription']);
    const [s] = r.responses;
    assert.equal(s!.text(T.SpecificCharacterSet), 'ISO_IR 192');
    assert.equal(s!.text(T.PatientName), 'Yamada^Tarou=山田^太郎=やまだ^たろう', 'all three component groups as stored');
    assert.equal(s!.text(T.PatientID), '00012345');
    assert.equal(s!.text(T.PatientBirthDate), '19650412');
    assert.equal(s!.text(T.StudyDate), '20260310');
    assert.equal(s!.text(T.ModalitiesInStudy), 'CT');
    assert.equal(s!.text(T.NumberOfStudyRelatedInstances), '8');
    assert.equal(s!.text(T.QueryRetrieveLevel), 'STUDY');
    assert.equal(s!.text(T.RetrieveAETitle), 'ENKAKU');
    assert.match(r.log, /WarningUnsupportedOptionalKeys|0xff01/i, 'an unsupported key (SeriesDescription at STUDY level) gives FF01');
    // Half-width katakana phonetic group of another patient, found by hiragana.
    const suzuki = await find('QRA', '-S', [utf8, 'PatientName=すずき', 'QueryRetrieveLevel=STUDY', 'StudyInstanceUID']);
    assert.deepEqual(suzuki.responses.map((x) => x.text(T.StudyInstanceUID)), [studyA2]);
  });

  test('C-FIND matches date ranges, accession wildcards and UID lists; an ASCII-only answer has no character set', async (t) => {
    if (!needTools(t, ['findscu'], DCMTK)) return;
    const uids = async (keys: string[]) => (await find('QRA', '-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', ...keys])).responses.map((x) => x.text(T.StudyInstanceUID)).sort();
    assert.deepEqual(await uids(['StudyDate=20260101-']), [studyA1]);
    assert.deepEqual(await uids(['StudyDate=-20251231']), [studyA2]);
    assert.deepEqual(await uids(['StudyDate=20251101-20261231']), [studyA1, studyA2].sort());
    assert.deepEqual(await uids(['AccessionNumber=ACC-A?']), [studyA1, studyA2].sort());
    assert.deepEqual(await uids([`StudyInstanceUID=${studyA1}\\${studyA2}`]), [studyA1, studyA2].sort());
    assert.deepEqual(await uids(['ModalitiesInStudy=MR']), [studyA2]);
    const ascii = await find('QRA', '-S', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${studyA1}`, 'PatientID']);
    assert.equal(ascii.responses[0]!.has(T.SpecificCharacterSet), false);
    const bad = await find('QRA', '-S', ['QueryRetrieveLevel=STUDY', 'StudyDate=2026-13']);
    assert.match(bad.log, /UnableToProcess|0xc000/i);
  });

  test('C-FIND SERIES and IMAGE levels, PATIENT level on Patient Root, and refusals per PS3.4 C.4.1.1.4', async (t) => {
    if (!needTools(t, ['findscu'], DCMTK)) return;
    const series = await find('QRA', '-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${studyA1}`, 'SeriesInstanceUID', 'Modality', 'SeriesNumber', 'NumberOfSeriesRelatedInstances']);
    assert.deepEqual(
      series.responses.map((x) => [x.text(T.SeriesNumber), x.text(T.Modality), x.text(T.NumberOfSeriesRelatedInstances), x.text(T.StudyInstanceUID)]).sort(),
      [['1', 'CT', '5', studyA1], ['2', 'CT', '3', studyA1]],
    );
    const bySeriesNumber = await find('QRA', '-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${studyA1}`, 'SeriesInstanceUID', 'SeriesNumber=2']);
    assert.deepEqual(bySeriesNumber.responses.map((x) => x.text(T.SeriesInstanceUID)), [seriesA1b]);
    const images = await find('QRA', '-S', ['QueryRetrieveLevel=IMAGE', `StudyInstanceUID=${studyA1}`, `SeriesInstanceUID=${seriesA1a}`, 'SOPInstanceUID', 'SOPClassUID', 'InstanceNumber', 'Rows']);
    assert.deepEqual(images.responses.map((x) => Number(x.text(T.InstanceNumber))), [1, 2, 3, 4, 5]);
    assert.equal(images.responses[0]!.text(T.SOPClassUID), '1.2.840.10008.5.1.4.1.1.2');
    assert.equal(images.responses[0]!.rows, 64);
    assert.ok(images.responses.every((x) => originals.has(x.text(T.SOPInstanceUID)!)));
    // Upper-level keys other than UIDs narrow a lower-level query (patient's name at IMAGE level).
    const byName = await find('QRA', '-S', [utf8, 'QueryRetrieveLevel=IMAGE', 'PatientName=鈴木*', 'SOPInstanceUID']);
    assert.equal(byName.responses.length, 2);

    const patients = await find('QRA', '-P', [utf8, 'QueryRetrieveLevel=PATIENT', 'PatientName=山田*', 'PatientID', 'PatientBirthDate', 'NumberOfPatientRelatedStudies']);
    assert.equal(patients.responses.length, 1);
    assert.equal(patients.responses[0]!.text(T.PatientID), '00012345');
    assert.equal(patients.responses[0]!.text(T.PatientName), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
    assert.equal(patients.responses[0]!.text(T.NumberOfPatientRelatedStudies), '1');
    const patientStudies = await find('QRA', '-P', ['QueryRetrieveLevel=STUDY', 'PatientID=00012345', 'StudyInstanceUID']);
    assert.deepEqual(patientStudies.responses.map((x) => x.text(T.StudyInstanceUID)), [studyA1]);

    const noPatientLevel = await find('QRA', '-S', ['QueryRetrieveLevel=PATIENT', 'PatientID']);
    assert.equal(noPatientLevel.responses.length, 0);
    assert.match(noPatientLevel.log, /DataSetDoesNotMatchSOPClass|0xa900/i);
    const noLevel = await find('QRA', '-S', ['PatientID']);
    assert.match(noLevel.log, /DataSetDoesNotMatchSOPClass|0xa900/i);
  });

  test('C-CANCEL stops a C-FIND and a C-GET: the final status is FE00', async (t) => {
    if (!needTools(t, ['storescu'], DCMTK)) return;
    const { CFindRequest, CGetRequest } = dcmjsDimse.requests;
    const find = CFindRequest.createImageFindRequest({ StudyInstanceUID: studyA1 });
    const get = CGetRequest.createStudyGetRequest(studyA1);
    for (const request of [find, get]) {
      const statuses = await cancelledAtOnce(port, 'QRA', request);
      assert.deepEqual(statuses, [0xfe00], 'no match is sent, the final status is Cancel');
    }
  });

  test("another facility's AE finds nothing of the first facility", async (t) => {
    if (!needTools(t, ['findscu'], DCMTK)) return;
    const byName = await find('QRB', '-S', [utf8, 'QueryRetrieveLevel=STUDY', 'PatientName=山田*', 'StudyInstanceUID']);
    assert.deepEqual(byName.responses.map((x) => x.text(T.StudyInstanceUID)), [studyB1], 'B sees its own Yamada only');
    const byUid = await find('QRB', '-S', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${studyA1}`]);
    assert.equal(byUid.responses.length, 0);
    const images = await find('QRB', '-S', ['QueryRetrieveLevel=IMAGE', `StudyInstanceUID=${studyA1}`, 'SOPInstanceUID']);
    assert.equal(images.responses.length, 0);
    const patients = await find('QRB', '-P', ['QueryRetrieveLevel=PATIENT', 'PatientID=00023456']);
    assert.equal(patients.responses.length, 0);
    const dir = path.join(work, 'get-b');
    fs.mkdirSync(dir);
    const get = await run('getscu', ['-S', '-aec', 'ENKAKU', '-aet', 'QRB', '-od', dir, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${studyA1}`, '127.0.0.1', String(port)]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(fs.readdirSync(dir).length, 0, 'nothing retrieved across facilities');
  });

  const getscu = async (dir: string, keys: string[], extra: string[] = [], aet = 'QRA') => {
    fs.mkdirSync(dir, { recursive: true });
    const r = await run('getscu', ['-v', '-S', '+B', '-aec', 'ENKAKU', '-aet', aet, '-od', dir, ...extra, ...keys.flatMap((k) => ['-k', k]), '127.0.0.1', String(port)]);
    return { ...r, log: r.stdout + r.stderr };
  };

  test('C-GET retrieves a whole study and a single series; data sets arrive byte for byte', async (t) => {
    if (!needTools(t, ['getscu'], DCMTK)) return;
    const dir = path.join(work, 'get-study');
    const r = await getscu(dir, ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${studyA1}`]);
    assert.equal(r.code, 0, r.log);
    const got = filesByUid(dir);
    assert.deepEqual([...got.keys()].sort(), [...originals.keys()].sort());
    for (const [uid, file] of got) {
      const received = readDicom(file);
      const original = readDicom(originals.get(uid)!);
      assert.equal(received.ts, TS.ExplicitVRLittleEndian);
      assert.ok(received.dataset.equals(original.dataset), `data set of ${uid} unchanged`);
    }
    const one = path.join(work, 'get-series');
    const s = await getscu(one, ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${studyA1}`, `SeriesInstanceUID=${seriesA1b}`]);
    assert.equal(s.code, 0, s.log);
    assert.equal(filesByUid(one).size, 3);
    const patientRoot = path.join(work, 'get-patient');
    fs.mkdirSync(patientRoot);
    const p = await run('getscu', ['-P', '-aec', 'ENKAKU', '-aet', 'QRA', '-od', patientRoot, '-k', 'QueryRetrieveLevel=PATIENT', '-k', 'PatientID=00023456', '127.0.0.1', String(port)]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(fs.readdirSync(patientRoot).length, 2, 'PATIENT level on Patient Root');
  });

  test('C-GET re-encodes an instance stored in implicit VR to the explicit VR the requester accepted, keeping its ISO 2022 text', async (t) => {
    if (!needTools(t, ['getscu', 'storescu'], DCMTK)) return;
    const studyUid = newUid();
    const { files } = await writeSeries(path.join(work, 'src', 'implicit'), { modality: 'MR', count: 2, rows: 32, columns: 32, patient: SAMPLE_PATIENTS[0]!, charset: '\\ISO 2022 IR 87', transferSyntax: TS.ImplicitVRLittleEndian, studyInstanceUid: studyUid, seed: 9 });
    assert.equal((await run('storescu', ['-aec', 'ENKAKU', '-aet', 'QRA', '127.0.0.1', String(port), ...files])).code, 0);
    const byUid = new Map(files.map((f) => [readDicom(f).text(T.SOPInstanceUID)!, f]));
    const dir = path.join(work, 'get-implicit');
    const r = await getscu(dir, ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${studyUid}`]);
    assert.equal(r.code, 0, r.log);
    const got = filesByUid(dir);
    assert.equal(got.size, 2);
    for (const [uid, file] of got) {
      const received = readDicom(file);
      const original = readDicom(byUid.get(uid)!);
      assert.equal(original.ts, TS.ImplicitVRLittleEndian);
      assert.equal(received.ts, TS.ExplicitVRLittleEndian);
      assert.equal(received.text(T.PatientName), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
      assert.equal(received.text(T.SpecificCharacterSet), '\\ISO 2022 IR 87');
      assert.equal(received.rows, 32);
      assert.equal(received.text(T.StudyDate), original.text(T.StudyDate));
      const pixels = (d: ReturnType<typeof readDicom>) => d.dataset.subarray(d.dataset.length - 32 * 32 * 2);
      assert.ok(pixels(received).equals(pixels(original)), 'pixel data unchanged');
    }
  });

  test('C-MOVE delivers to a registered destination; an unknown destination is refused with A801', async (t) => {
    if (!needTools(t, ['movescu', 'storescp'], DCMTK)) return;
    destinationDir = path.join(work, 'dest');
    fs.mkdirSync(destinationDir);
    const destPort = await freePort();
    destination = await startTool('storescp', ['-aet', 'VIEWER', '-od', destinationDir, '+B', String(destPort)], destPort);
    await rt.facilities.addNode(OP, 'Hospital A', { aet: 'VIEWER', host: '127.0.0.1', port: destPort, tls: false, query: false, destination: true });
    await rt.facilities.addNode(OP, 'Hospital A', { aet: 'PACS_ONLY', host: '127.0.0.1', port: destPort, tls: false, query: true, destination: false });
    const move = (dest: string, keys: string[]) =>
      run('movescu', ['-v', '-S', '-aec', 'ENKAKU', '-aet', 'QRA', '-aem', dest, ...keys.flatMap((k) => ['-k', k]), '127.0.0.1', String(port)]);
    const r = await move('VIEWER', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${studyA1}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /Final Move Response \(Success\)/);
    const got = filesByUid(destinationDir);
    assert.deepEqual([...got.keys()].sort(), [...originals.keys()].sort());
    for (const [uid, file] of got) assert.ok(readDicom(file).dataset.equals(readDicom(originals.get(uid)!).dataset), `data set of ${uid} unchanged`);

    for (const dest of ['NOWHERE', 'PACS_ONLY']) {
      const refused = await move(dest, ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${studyA1}`]);
      assert.match(refused.stdout + refused.stderr, /MoveDestinationUnknown|0xa801/i, dest);
    }
    // A destination that accepts implicit VR only receives the explicit VR instances re-encoded.
    const implicitDir = path.join(work, 'dest-implicit');
    fs.mkdirSync(implicitDir);
    const implicitPort = await freePort();
    const implicitDest = await startTool('storescp', ['-aet', 'OLDVIEW', '-od', implicitDir, '+B', '+xi', String(implicitPort)], implicitPort);
    try {
      await rt.facilities.addNode(OP, 'Hospital A', { aet: 'OLDVIEW', host: '127.0.0.1', port: implicitPort, tls: false, query: false, destination: true });
      const m = await move('OLDVIEW', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${studyA1}`, `SeriesInstanceUID=${seriesA1a}`]);
      assert.match(m.stdout + m.stderr, /Final Move Response \(Success\)/, m.stdout + m.stderr);
      const got = filesByUid(implicitDir);
      assert.equal(got.size, 5);
      for (const [uid, file] of got) {
        const received = readDicom(file);
        const original = readDicom(originals.get(uid)!);
        assert.equal(received.ts, TS.ImplicitVRLittleEndian);
        assert.equal(received.text(T.PatientName), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
        assert.equal(received.text(T.SpecificCharacterSet), '\\ISO 2022 IR 87');
        const pixels = (d: ReturnType<typeof readDicom>) => d.dataset.subarray(d.dataset.length - 64 * 64 * 2);
        assert.ok(pixels(received).equals(pixels(original)), 'pixel data unchanged');
      }
    } finally {
      await implicitDest.stop();
    }

    // Facility B cannot name facility A's destination.
    const other = await run('movescu', ['-v', '-S', '-aec', 'ENKAKU', '-aet', 'QRB', '-aem', 'VIEWER', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${studyB1}`, '127.0.0.1', String(port)]);
    assert.match(other.stdout + other.stderr, /MoveDestinationUnknown|0xa801/i);
  });

  test('a tampered file fails its sub-operation (B000, Failed SOP Instance UID List) and raises an integrity alert', async (t) => {
    if (!needTools(t, ['getscu'], DCMTK)) return;
    const victim = await rt.db.kysely.selectFrom('instances').selectAll().where('series_ref', 'in', rt.db.kysely.selectFrom('series').select('id').where('series_uid', '=', seriesA1b)).orderBy('instance_number').executeTakeFirstOrThrow();
    const file = rt.blobs.pathOf(victim.blob_sha256);
    fs.chmodSync(file, 0o600);
    const bytes = fs.readFileSync(file);
    const original = Buffer.from(bytes);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    fs.writeFileSync(file, bytes);
    const dir = path.join(work, 'get-tampered');
    const r = await getscu(dir, ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${studyA1}`, `SeriesInstanceUID=${seriesA1b}`]);
    assert.match(r.log, /SubOperationsCompleteOneOrMoreFailures|0xb000/i, r.log);
    assert.doesNotMatch(r.log, /Release Failed|Aborting/i, 'the association is released normally');
    assert.match(r.log, /Failed Suboperations\s*:\s*1/i);
    const got = filesByUid(dir);
    assert.equal(got.size, 2);
    assert.ok(!got.has(victim.sop_instance_uid), 'the tampered instance is never sent');
    const alerts = await rt.alerts.list(OP);
    assert.ok(alerts.some((a) => a.kind === 'integrity'), 'an integrity alert is raised');
    // Over C-MOVE the final response names the failed instance (PS3.4 C.4.2.1.3.2).
    const moved = await run('movescu', ['-d', '-S', '-aec', 'ENKAKU', '-aet', 'QRA', '-aem', 'VIEWER', '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${studyA1}`, '-k', `SeriesInstanceUID=${seriesA1b}`, '127.0.0.1', String(port)]);
    const log = moved.stdout + moved.stderr;
    assert.match(log, /SubOperationsCompleteOneOrMoreFailures|0xb000/i, log);
    assert.match(log, new RegExp(`\\(0008,0058\\) UI \\[${victim.sop_instance_uid.replace(/\./g, '\\.')}\\]`), 'Failed SOP Instance UID List');
    assert.doesNotMatch(log, /Release Failed|Aborting/i);
    fs.writeFileSync(file, original);
  });

  test('searches and retrievals are audited with the device as actor, keys and counts but no values', async (t) => {
    if (!needTools(t, ['findscu'], DCMTK)) return;
    const searches = (await rt.audit.search(OP, { action: 'study.search', limit: 1000 })).records;
    const named = searches.find((e) => (e.details.keys as string[]).includes('PatientName'));
    assert.ok(named, 'a C-FIND by name is audited');
    assert.equal(named.details.service, 'C-FIND');
    assert.ok(!JSON.stringify(searches.map((e) => e.details)).includes('山田'), 'no name in the audit details');
    assert.ok((await rt.audit.search(OP, { action: 'patient.search', limit: 10 })).records.length >= 1);
    const retrievals = (await rt.audit.search(OP, { action: 'instance.retrieve', limit: 1000 })).records;
    const moved = retrievals.find((e) => e.details.service === 'C-MOVE' && e.details.destination === 'VIEWER' && e.object.type === 'study');
    assert.ok(moved, 'the C-MOVE is audited with its destination');
    assert.equal(moved.details.instances, 8);
    assert.equal(moved.object.id, studyA1);
    assert.equal(moved.actor.kind, 'device');
    assert.ok(retrievals.some((e) => e.details.service === 'C-MOVE' && e.outcome === 'failure'), 'the refused move is audited');
    const tampered = retrievals.find((e) => e.details.service === 'C-GET' && e.details.failed === 1);
    assert.ok(tampered, 'the failed sub-operation is counted');
  });
});

describe('C-MOVE over DICOM TLS', { concurrency: false }, () => {
  test('a destination registered with TLS receives the instances over TLS, Enkaku presenting its DICOM certificate', async (t) => {
    if (!needTools(t, ['movescu', 'storescu', 'storescp', 'openssl'], 'apt-get install dcmtk openssl')) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-qr-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    // One self-signed certificate serves as Enkaku's, the destination's and the trusted CA.
    const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    assert.equal(made.code, 0, made.stderr);
    const rt = await testRuntime();
    const config = { ...rt.config, dicom: { ...rt.config.dicom, tlsCert: cert, tlsKey: key, tlsCa: cert } };
    await rt.facilities.add(OP, { name: 'TLS Hospital', aets: ['TLSQR'] });
    const listener = await startDimse({ config, facilities: rt.facilities, intake: rt.intake, blobs: rt.blobs, log: rt.log, queries: rt.queries, audit: rt.audit, files: rt.files });
    const destDir = path.join(dir, 'dest');
    fs.mkdirSync(destDir);
    const destPort = await freePort();
    // storescp requires and verifies the client certificate (+cf) by default.
    const dest = await startTool('storescp', ['+tls', key, cert, '+cf', cert, '-aet', 'SECURE', '-od', destDir, String(destPort)], destPort);
    try {
      const tlsArgs = ['+tls', key, cert, '+cf', cert, '-aec', 'ENKAKU', '-aet', 'TLSQR'];
      const { files, studyInstanceUid } = await writeSeries(path.join(dir, 'src'), { modality: 'CT', count: 3, rows: 32, columns: 32, seed: 21 });
      assert.equal((await run('storescu', [...tlsArgs, '127.0.0.1', String(listener.port), ...files])).code, 0);
      await rt.facilities.addNode(OP, 'TLS Hospital', { aet: 'SECURE', host: '127.0.0.1', port: destPort, tls: true, query: false, destination: true });
      // movescu has no TLS; dcmjs-dimse is the mover here.
      const statuses = await new Promise<number[]>((resolve, reject) => {
        const client = new dcmjsDimse.Client();
        const request = dcmjsDimse.requests.CMoveRequest.createStudyMoveRequest('SECURE', studyInstanceUid);
        const got: number[] = [];
        request.on('response', (res: { getStatus(): number }) => got.push(res.getStatus()));
        client.addRequest(request);
        client.on('networkError', (e: Error) => reject(e));
        client.on('closed', () => resolve(got));
        client.send('127.0.0.1', listener.port, 'TLSQR', 'ENKAKU', { securityOptions: { key: fs.readFileSync(key), cert: fs.readFileSync(cert), ca: fs.readFileSync(cert), rejectUnauthorized: true } });
      });
      assert.equal(statuses.at(-1), 0x0000, dest.output());
      assert.equal(filesByUid(destDir).size, 3);
    } finally {
      await dest.stop();
      await listener.close();
      await rt.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
