import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hl7Message } from './message.ts';
import { decodeHl7 } from './charset.ts';
import { Hl7MappingError, classifyHl7Message, hl7TimeToIso, mapOrderMessage, mapPatientUpdate } from './orders.ts';
import { syntheticAdtA08, syntheticOmgO19, syntheticOrmO01 } from './synthetic.ts';

const FACILITY = { facilityId: 'fac-1' };

/** A message from text lines (segments joined by CR). */
function msg(...lines: string[]): Hl7Message {
  return Hl7Message.parse(lines.join('\r') + '\r');
}

const MSH = 'MSH|^~\\&|HIS|1312345678|ENKAKU|ENKAKU|20240603091500||OMG^O19^OMG_O19|C0001|P|2.5||||||~ISO IR87||ISO 2022-1994';
const PID = 'PID|0001||12345678^^^^PI||山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P~YAMADA^TARO^^^^^L^A||19650401|M';

function issuesOf(fn: () => unknown): Array<{ code: number; location: string }> {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Hl7MappingError, String(e));
    return e.issues.map((i) => ({ code: i.code, location: i.location }));
  }
  assert.fail('expected an Hl7MappingError');
}

describe('classifyHl7Message', () => {
  it('answers OMG^O19 with ORG^O20, ORM^O01 with ORR^O02 and ADT^A08 with ACK', () => {
    assert.deepEqual(classifyHl7Message('OMG', 'O19'), { kind: 'order', reply: { code: 'ORG', trigger: 'O20', structure: 'ORG_O20' } });
    assert.deepEqual(classifyHl7Message('ORM', 'O01'), { kind: 'order', reply: { code: 'ORR', trigger: 'O02', structure: 'ORR_O02' } });
    assert.equal(classifyHl7Message('ADT', 'A08').kind, 'patient');
    assert.equal(classifyHl7Message('PPR', 'ZD1').kind, 'clinical');
  });
  it('refuses unknown types with 200 and unknown events of known types with 201', () => {
    assert.equal((classifyHl7Message('ZZZ', 'Z01') as { code: number }).code, 200);
    assert.equal((classifyHl7Message('ADT', 'A01') as { code: number }).code, 201);
    assert.equal((classifyHl7Message('OMG', 'O21') as { code: number }).code, 201);
  });
});

describe('hl7TimeToIso', () => {
  it('reads Japan time when no offset is given, and honours an explicit offset', () => {
    assert.equal(hl7TimeToIso('20240603091500'), '2024-06-03T00:15:00.000Z');
    assert.equal(hl7TimeToIso('202406030915'), '2024-06-03T00:15:00.000Z');
    assert.equal(hl7TimeToIso('20240603'), '2024-06-02T15:00:00.000Z');
    assert.equal(hl7TimeToIso('20240603091500.25+0000'), '2024-06-03T09:15:00.250Z');
    assert.equal(hl7TimeToIso('20240603091500-0500'), '2024-06-03T14:15:00.000Z');
  });
  it('rejects values that are not dates', () => {
    for (const v of ['2024-06-03', '20240231', '20241301', '2024060325', 'tomorrow', '']) assert.equal(hl7TimeToIso(v), undefined, v);
  });
});

describe('mapOrderMessage', () => {
  it('maps a JAHIS OMG^O19 sent in ISO-2022-JP: patient groups, order numbers, JJ1017, times in UTC', () => {
    const s = syntheticOmgO19({ seed: 5, controlId: 'HIS0001', clinical: true, order: { priority: 'S', jj1017: '60000001000002000000010000000000', examName: 'X線CT撮影頭部', reason: '転倒後の頭痛。' } });
    const { text } = decodeHl7(s.bytes);
    const [order, ...rest] = mapOrderMessage(Hl7Message.parse(text), FACILITY);
    assert.equal(rest.length, 0);
    assert.ok(order);
    assert.equal(order.facilityId, 'fac-1');
    assert.equal(order.control, 'new');
    assert.equal(order.source, 'hl7');
    assert.equal(order.messageId, 'HIS0001');
    assert.equal(order.messageTime, '2024-06-03T00:15:00.000Z', 'MSH-7 09:15 JST');
    assert.equal(order.patient.patientId, s.patient.id);
    assert.deepEqual(order.patient.name, {
      alphabetic: '',
      ideographic: `${s.patient.familyName}^${s.patient.givenName}`,
      phonetic: `${s.patient.familyNameKana}^${s.patient.givenNameKana}`,
    });
    assert.equal(order.patient.birthDate, s.patient.birthDate);
    assert.equal(order.patient.sex, s.patient.sex);
    assert.equal(order.placerOrderNumber, s.order!.placerOrderNumber);
    assert.equal(order.fillerOrderNumber, undefined, 'NW carries no filler number');
    assert.equal(order.accessionNumber, s.order!.accessionNumber);
    assert.equal(order.priority, 'stat');
    assert.equal(order.jj1017, '60000001000002000000010000000000');
    assert.equal(order.modality, 'CT');
    assert.equal(order.procedureText, 'X線CT撮影頭部');
    assert.equal(order.reason, '転倒後の頭痛。');
    assert.match(order.clinicalNotes, /造影剤使用予定/);
    assert.match(order.clinicalNotes, /クレアチニン: 0\.82 mg\/dL \(H\)/);
    assert.match(order.clinicalNotes, /eGFR: 57\.3/);
    assert.match(order.clinicalNotes, /診断: 肺炎/);
    assert.equal(order.requester.name, `${s.order!.orderingDoctor.familyName} ${s.order!.orderingDoctor.givenName}`);
    assert.equal(order.requester.department, s.order!.department.name);
    assert.equal(order.requestedAt, '2024-06-03T00:15:00.000Z', 'ORC-9 09:15 JST');
    assert.equal(order.scheduledAt, s.order!.requestedAt.toISOString().replace(/\.\d+Z$/, '.000Z'), 'TQ1-7');
  });

  it('keeps delimiter-like bytes of kanji (宮本美咲, 日野) intact through decoding and mapping', () => {
    for (const familyName of ['宮本', '日野']) {
      const s = syntheticOmgO19({ seed: 2, patient: { familyName, givenName: '美咲' }, order: { reason: '区切り|記号^を~含む\\依頼&文' } });
      const [order] = mapOrderMessage(Hl7Message.parse(decodeHl7(s.bytes).text), FACILITY);
      assert.equal(order!.patient.name.ideographic, `${familyName}^美咲`);
      assert.equal(order!.reason, '区切り|記号^を~含む\\依頼&文');
    }
  });

  it('reads change and cancel with the filler order number', () => {
    for (const [code, control] of [['XO', 'change'], ['CA', 'cancel']] as const) {
      const s = syntheticOmgO19({ seed: 9, control: code });
      const [order] = mapOrderMessage(s.message, FACILITY);
      assert.equal(order!.control, control);
      assert.equal(order!.fillerOrderNumber, s.order!.fillerOrderNumber);
    }
  });

  it('maps ORM^O01 (no TQ1: priority from OBR-27 / ORC-7, scheduled time from OBR-7)', () => {
    const s = syntheticOrmO01({ seed: 4, order: { jj1017: '10000002000101000000010000000000' } });
    const [order] = mapOrderMessage(s.message, FACILITY);
    assert.equal(order!.priority, 'routine');
    assert.equal(order!.modality, 'CR');
    assert.match(order!.bodyPart, /胸部/);
    assert.equal(order!.scheduledAt, s.order!.requestedAt.toISOString().replace(/\.\d+Z$/, '.000Z'));
    const urgent = msg(MSH.replace('OMG^O19^OMG_O19', 'ORM^O01'), PID,
      'ORC|NW|P100^HIS|||||^^^20240603100000^^S||20240603091000',
      'OBR|1|P100^HIS||60000001000002000000010000000000^頭部CT^JJ1017-32');
    const [o] = mapOrderMessage(urgent, FACILITY);
    assert.equal(o!.priority, 'stat', 'ORC-7-6 (TQ priority)');
    assert.equal(o!.scheduledAt, '2024-06-03T01:00:00.000Z', 'ORC-7-4 (TQ start date/time)');
    assert.equal(o!.requestedAt, '2024-06-03T00:10:00.000Z');
  });

  it('groups a JAHIS parent (PA) and its children (CH): the exam from the parent, body parts from the children', () => {
    const m = msg(MSH, PID, 'PV1|0001|O|01^^^^^^^^内科',
      'ORC|NW|ORD900^HIS|||||||20240603091000|||D0012^鈴木^一郎||||||01^内科',
      'TQ1|1||||||20240603140000||A',
      'ORC|PA|ORD900^HIS',
      'OBR|1|ORD900^HIS||1000000000000000^単純X線撮影^JJ1017-16M|||||||||腰痛の精査|||||ACC900',
      'NTE|1||側面も撮影してください',
      'ORC|CH|ORD900-1^HIS',
      'OBR|2|ORD900-1^HIS||10000002000101000000010000000000^胸部正面^JJ1017-32',
      'ORC|CH|ORD900-2^HIS',
      'OBR|3|ORD900-2^HIS||1000000100L100000000000000000000^頭部左^JJ1017-32');
    const orders = mapOrderMessage(m, FACILITY);
    assert.equal(orders.length, 1, 'one order per control ORC');
    const o = orders[0]!;
    assert.equal(o.placerOrderNumber, 'ORD900');
    assert.equal(o.accessionNumber, 'ACC900');
    assert.equal(o.priority, 'urgent', 'TQ1-9 A');
    assert.equal(o.jj1017, '1000000000000000');
    assert.equal(o.modality, 'CR');
    assert.equal(o.procedureText, '単純X線撮影');
    assert.equal(o.bodyPart, '胸部、頭部 左側');
    assert.equal(o.reason, '腰痛の精査');
    assert.equal(o.clinicalNotes, '側面も撮影してください');
    assert.deepEqual(o.requester, { name: '鈴木 一郎', department: '内科' });
    assert.equal(o.scheduledAt, '2024-06-03T05:00:00.000Z');
    assert.equal(o.contrast, false);
  });

  it('takes contrast from the JJ1017 technique (01 造影) and from the exam name', () => {
    const withCode = msg(MSH, PID, 'ORC|NW|C1|||||||20240603091000', 'OBR|1|C1||60001001000002000000010000000000^CT^JJ1017-32');
    assert.equal(mapOrderMessage(withCode, FACILITY)[0]!.contrast, true);
    const byName = msg(MSH, PID, 'ORC|NW|C2|||||||20240603091000', 'OBR|1|C2||CT01^腹部造影CT^L');
    assert.equal(mapOrderMessage(byName, FACILITY)[0]!.contrast, true);
    const plain = msg(MSH, PID, 'ORC|NW|C3|||||||20240603091000', 'OBR|1|C3||CT02^腹部単純CT^L||||||||||||||||||||CT');
    const o = mapOrderMessage(plain, FACILITY)[0]!;
    assert.equal(o.contrast, false);
    assert.equal(o.modality, 'CT', 'OBR-24 when there is no JJ1017 code');
    assert.equal(o.jj1017, undefined);
  });

  it('reads a JJ1017-32 code named by the bare HL7 table 0396 coding system JJ1017', () => {
    const m = msg(MSH, PID, 'ORC|NW|J1|||||||20240603091000', 'OBR|1|J1||60001002000200000000000000000000^胸部造影CT^JJ1017');
    const o = mapOrderMessage(m, FACILITY)[0]!;
    assert.equal(o.jj1017, '60001002000200000000000000000000');
    assert.equal(o.modality, 'CT');
    assert.equal(o.contrast, true);
    const short = mapOrderMessage(msg(MSH, PID, 'ORC|NW|J2|||||||20240603091000', 'OBR|1|J2||6000100200020000^胸部CT^JJ1017'), FACILITY)[0]!;
    assert.equal(short.jj1017, undefined, 'a 16-character code under the bare name is kept as the exam\'s code, not guessed as 16M or 16S');
  });

  it('takes the accession number from OBR-18, else from IPC-1 when a sender adds the segment', () => {
    const obr18 = msg(MSH, PID, 'ORC|NW|K1|||||||20240603091000', 'OBR|1|K1||CT01^頭部CT^L||||||||||||||ACC-18', 'IPC|ACC-IPC|RP1|1.2.3|SPS1');
    assert.equal(mapOrderMessage(obr18, FACILITY)[0]!.accessionNumber, 'ACC-18');
    const ipc = msg(MSH, PID, 'ORC|NW|K2|||||||20240603091000', 'OBR|1|K2||CT01^頭部CT^L', 'IPC|ACC-IPC|RP1|1.2.3|SPS1');
    assert.equal(mapOrderMessage(ipc, FACILITY)[0]!.accessionNumber, 'ACC-IPC');
    assert.equal(mapOrderMessage(msg(MSH, PID, 'ORC|NW|K3|||||||20240603091000', 'OBR|1|K3||CT01^頭部CT^L'), FACILITY)[0]!.accessionNumber, '', 'the RIS assigns it later');
  });

  it('gives each order of a multi-order message its own message id', () => {
    const m = msg(MSH, PID,
      'ORC|NW|A1|||||||20240603091000', 'OBR|1|A1||CT01^頭部CT^L',
      'ORC|NW|A2|||||||20240603091000', 'OBR|1|A2||MR01^頭部MRI^L');
    assert.deepEqual(mapOrderMessage(m, FACILITY).map((o) => [o.placerOrderNumber, o.messageId]), [['A1', 'C0001#1'], ['A2', 'C0001#2']]);
  });

  it('names every missing or invalid field with its location and table 0357 code', () => {
    const m = msg(MSH, 'PID|0001||||||1965-04-01|X',
      'ORC|ZZ||||||||yesterday',
      'OBR|1||||||||||||||||||||||||||^^^^^Q');
    assert.deepEqual(issuesOf(() => mapOrderMessage(m, FACILITY)), [
      { code: 101, location: 'PID-3' },
      { code: 101, location: 'PID-5' },
      { code: 103, location: 'PID-8' },
      { code: 102, location: 'PID-7' },
      { code: 103, location: 'ORC-1' },
      { code: 101, location: 'ORC-2' },
      { code: 103, location: 'OBR-27-6' },
      { code: 101, location: 'OBR-4' },
      { code: 102, location: 'ORC-9' },
    ]);
  });

  it('reports a missing PID or ORC as a segment error (100) and a bad JJ1017 code as 102', () => {
    assert.deepEqual(issuesOf(() => mapOrderMessage(msg(MSH, 'ORC|NW|X1|||||||20240603091000', 'OBR|1|X1||CT^CT^L'), FACILITY)), [{ code: 100, location: 'PID' }]);
    assert.deepEqual(issuesOf(() => mapOrderMessage(msg(MSH, PID), FACILITY)), [{ code: 100, location: 'ORC' }]);
    assert.deepEqual(issuesOf(() => mapOrderMessage(msg(MSH, PID, 'ORC|NW|X2|||||||20240603091000', 'OBR|1|X2||6000000100000O000000010000000000^CT^JJ1017-32'), FACILITY)), [{ code: 102, location: 'OBR-4-1' }]);
    assert.deepEqual(issuesOf(() => mapOrderMessage(msg(MSH, PID, 'ORC|NW|X3|||||||20240603091000'), FACILITY)), [{ code: 100, location: 'ORC' }]);
  });
});

describe('mapPatientUpdate', () => {
  it('maps ADT^A08 PID to the patient, with the assigning authority of PID-3', () => {
    const s = syntheticAdtA08({ seed: 3 });
    const p = mapPatientUpdate(Hl7Message.parse(decodeHl7(s.bytes).text));
    assert.equal(p.patientId, s.patient.id);
    assert.equal(p.name.ideographic, `${s.patient.familyName}^${s.patient.givenName}`);
    const withIssuer = mapPatientUpdate(msg(MSH.replace('OMG^O19^OMG_O19', 'ADT^A08^ADT_A01'), 'EVN|A08', 'PID|1||999^^^HOSP&1.2.392.1&ISO^PI~888^^^OTHER^MR||Suzuki^Hanako||19900101|F'));
    assert.equal(withIssuer.patientId, '999');
    assert.equal(withIssuer.issuer, 'HOSP');
    assert.equal(withIssuer.name.alphabetic, 'Suzuki^Hanako', 'a Latin name without XPN-8 is alphabetic');
  });
  it('refuses an update without a patient ID', () => {
    assert.deepEqual(issuesOf(() => mapPatientUpdate(msg(MSH.replace('OMG^O19^OMG_O19', 'ADT^A08'), 'PID|1||||山田^太郎'))), [{ code: 101, location: 'PID-3' }]);
  });
});
