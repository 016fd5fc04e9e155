/**
 * ORU^R01 of a final report: what a facility's RIS/EMR reads back through an HL7 decoder
 * (Enkaku's own, which reads JAHIS ISO-2022-JP messages) is exactly the report — Japanese text,
 * names in their PN groups, delimiters inside the text — and the read confirmation ORU^ZR1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleReportDocument } from '../../reports/test-document.ts';
import { Hl7Builder, parseHl7Bytes, type Hl7Message } from './index.ts';
import { buildOruR01, encodeOruR01, readConfirmationOf, substituteUnencodable } from './oru.ts';

const pdf = Buffer.from('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj << >> endobj\n%%EOF', 'latin1');

function obx(m: Hl7Message, code: string): ReturnType<Hl7Message['segments']['find']> {
  return m.segments.find((s) => s.name === 'OBX' && s.get(3) === code);
}

test('ORU^R01 in ISO-2022-JP decodes to the exact report: header, patient names per PN group, sections, signer, PDF', () => {
  const doc = sampleReportDocument();
  const e = encodeOruR01(doc, { controlId: 'ENK0001', pdf, receivingApplication: 'EMR', receivingFacility: '1312345678', dateTime: new Date('2026-11-20T03:16:00Z') });
  assert.equal(e.substituted, 0);
  assert.ok(e.bytes.includes(Buffer.from([0x1b, 0x24, 0x42])), 'kanji are written after ESC $ B (JIS X 0208)');
  assert.ok(e.bytes.every((b) => b < 0x80), 'ISO-2022-JP is 7-bit');

  const { message, decoded } = parseHl7Bytes(e.bytes);
  assert.deepEqual(decoded.warnings, []);
  const h = message.header;
  assert.deepEqual(h.messageType, { code: 'ORU', trigger: 'R01', structure: 'ORU_R01' });
  assert.equal(h.controlId, 'ENK0001');
  assert.equal(h.version, '2.5');
  assert.equal(h.processingId, 'P');
  assert.deepEqual(h.characterSet, ['', 'ISO IR87']);
  assert.equal(h.alternateCharacterSetHandling, 'ISO 2022-1994');
  assert.equal(h.receivingApplication, 'EMR');
  assert.equal(h.receivingFacility, '1312345678');
  assert.equal(h.dateTime, '20261120121600', 'MSH-7 in Japan time');

  const pid = message.segments.find((s) => s.name === 'PID')!;
  assert.equal(pid.get(3, 1), '00012345');
  assert.equal(pid.get(3, 4), 'YAMADA-HOSP');
  assert.equal(pid.get(3, 5), 'PI');
  const names = [1, 2, 3].map((r) => ({ family: pid.get(5, 1, 1, r), given: pid.get(5, 2, 1, r), type: pid.get(5, 7, 1, r), rep: pid.get(5, 8, 1, r) }));
  assert.deepEqual(names, [
    { family: '山田', given: '太郎', type: 'L', rep: 'I' },
    { family: 'ヤマダ', given: 'タロウ', type: 'L', rep: 'P' },
    { family: 'Yamada', given: 'Taro', type: 'L', rep: 'A' },
  ]);
  assert.equal(pid.get(7), '19560412');
  assert.equal(pid.get(8), 'M');

  const orc = message.segments.find((s) => s.name === 'ORC')!;
  assert.equal(orc.get(1), 'RE');
  assert.equal(orc.get(2), 'P-778812');
  assert.equal(orc.get(12, 2), '佐藤');
  assert.equal(orc.get(17, 2), '呼吸器内科');
  const obr = message.segments.find((s) => s.name === 'OBR')!;
  assert.equal(obr.get(2), 'P-778812');
  assert.equal(obr.get(3), 'F-778812');
  assert.equal(obr.get(4, 2), '胸部単純CT');
  assert.equal(obr.get(7), '20261120101500');
  assert.equal(obr.get(18), 'A2026112000001', 'accession number in OBR-18 as JAHIS orders carry it');
  assert.equal(obr.get(20), 'rv-0001-1');
  assert.equal(obr.get(21), 'rpt-0001');
  assert.equal(obr.get(22), '20261120121500', 'finalised at 12:15 JST');
  assert.equal(obr.get(25), 'F');
  assert.deepEqual([obr.get(32, 1, 1), obr.get(32, 1, 2), obr.get(32, 1, 3)], ['123456', '鈴木', '一郎'], 'OBR-32 the signing physician with 医籍登録番号');

  for (const [code, value] of [['55752-0', doc.sections.clinicalInformation], ['55111-9', doc.sections.technique], ['18834-2', doc.sections.comparison], ['18782-3', doc.sections.findings], ['19005-8', doc.sections.impression]] as const) {
    const s = obx(message, code)!;
    assert.ok(s, `OBX ${code}`);
    assert.equal(s.get(2), 'FT');
    assert.equal(s.get(5), value, `section ${code} exact after ISO-2022-JP`);
    assert.equal(s.get(11), 'F');
    assert.equal(s.get(14), '20261120121500');
    assert.equal(s.get(16, 2), '鈴木');
  }
  assert.equal(obx(message, '113014')!.get(5), doc.study.studyUid);
  assert.equal(obx(message, '121180')!.get(5), doc.keyImages[0]!.sopInstanceUid);
  const ed = obx(message, '18748-4')!;
  assert.equal(ed.get(2), 'ED');
  assert.deepEqual([ed.get(5, 2), ed.get(5, 3), ed.get(5, 4)], ['AP', 'PDF', 'Base64']);
  assert.deepEqual(Buffer.from(ed.get(5, 5)!, 'base64'), pdf, 'the embedded PDF is the signed bytes');
  assert.equal(obx(message, '73568-8'), undefined, 'no communication record when there was none');
});

test('delimiters, line breaks and characters JIS X 0208 lacks survive or are marked', () => {
  const tricky = '所見|区切り^成分~繰返し\\エスケープ&副成分\n宮本 美咲(日野)\r\n二行目';
  const doc = sampleReportDocument({
    sections: { ...sampleReportDocument().sections, findings: tricky, technique: '造影ｶﾞｲﾄﾞ下、①②' },
    patient: { ...sampleReportDocument().patient, name: { alphabetic: 'Miyamoto^Misaki', ideographic: '宮本^美咲', phonetic: 'ミヤモト^ミサキ' } },
  });
  const e = encodeOruR01(doc, { controlId: 'X1' });
  assert.equal(e.substituted, 2, '① and ② are outside JIS X 0208');
  const { message } = parseHl7Bytes(e.bytes);
  assert.equal(obx(message, '18782-3')!.get(5), tricky.replace(/\r\n/g, '\n'));
  assert.equal(obx(message, '55111-9')!.get(5), '造影ガイド下、〓〓', 'half-width katakana become full-width; the rest is marked 〓');
  const pid = message.segments.find((s) => s.name === 'PID')!;
  assert.deepEqual([pid.get(5, 1, 1, 1), pid.get(5, 2, 1, 1)], ['宮本', '美咲'], '宮 and 本 contain the byte of "\\" in ISO-2022-JP');
  assert.deepEqual(substituteUnencodable('abc山田', ['', 'ISO IR87']), { text: 'abc山田', substituted: 0 });
});

test('TX text has one OBX-5 repetition per line; UTF-8 carries every character', () => {
  const doc = sampleReportDocument({ sections: { ...sampleReportDocument().sections, impression: '一行目\n\n三行目①' } });
  const tx = parseHl7Bytes(encodeOruR01(doc, { controlId: 'T1', textType: 'TX', charset: 'utf-8' }).bytes).message;
  const s = obx(tx, '19005-8')!;
  assert.equal(s.get(2), 'TX');
  assert.deepEqual(s.getAll(5), ['一行目', '', '三行目①']);
  assert.deepEqual(tx.header.characterSet, ['UNICODE UTF-8']);
  assert.equal(tx.header.alternateCharacterSetHandling, '');
});

test('corrections and addenda: OBR-25 and OBX-11 C, with the reason', () => {
  for (const kind of ['correction', 'addendum'] as const) {
    const doc = sampleReportDocument({ kind, version: 2, versionId: `rv-${kind}`, reason: '左右の記載誤り' });
    const m = buildOruR01(doc, { controlId: 'C1' });
    const parsed = parseHl7Bytes(Buffer.from(m.text, 'utf8'), { assumeCharacterSet: ['UNICODE UTF-8'] }).message;
    const obr = parsed.segments.find((s) => s.name === 'OBR')!;
    assert.equal(obr.get(25), 'C');
    assert.equal(obr.get(20), `rv-${kind}`);
    const reason = obx(parsed, 'REASON')!;
    assert.equal(reason.get(3, 2), kind === 'addendum' ? '追記の理由' : '訂正の理由');
    assert.equal(reason.get(5), '左右の記載誤り');
    assert.ok(parsed.segments.filter((s) => s.name === 'OBX').every((s) => s.get(11) === 'C'));
  }
});

test('the communication record says who was told, how and when', () => {
  const doc = sampleReportDocument({
    communications: [{ category: 'critical', message: '肺癌を疑う結節。至急精査を。', recipient: '佐藤 花子 医師', channel: '電話', at: '2026-11-20T03:20:00.000Z', acknowledgedAt: null }],
    order: { ...sampleReportDocument().order!, jj1017: '60000001000002000000010000000000' },
  });
  const { message } = parseHl7Bytes(encodeOruR01(doc, { controlId: 'K1' }).bytes);
  const c = obx(message, '73568-8')!;
  assert.equal(c.get(5), '区分: critical\n伝達先: 佐藤 花子 医師\n方法: 電話\n日時: 2026-11-20 12:20 (JST)\n受領確認: 未確認\n内容: 肺癌を疑う結節。至急精査を。');
  assert.equal(c.get(14), '20261120122000');
  const obr = message.segments.find((s) => s.name === 'OBR')!;
  assert.deepEqual([obr.get(4, 1), obr.get(4, 3)], ['60000001000002000000010000000000', 'JJ1017-32']);
});

test('a read confirmation ORU^ZR1 names the version, the physician and the time', () => {
  const b = new Hl7Builder().msh({ sendingApplication: 'EMR', sendingFacility: 'YAMADA', dateTime: '20261121090000', messageType: { code: 'ORU', trigger: 'ZR1', structure: 'ORU_R01' }, controlId: 'C9', characterSet: ['', 'ISO IR87'] });
  b.segment('PID', '1', undefined, ['00012345', undefined, undefined, undefined, 'PI']);
  b.segment('OBR', '1', 'P-778812', 'F-778812', undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'rv-0001-1');
  b.segment('OBX', '1', 'CWE', ['READ', '参照確認', '99ENK'], undefined, ['Y'], undefined, undefined, undefined, undefined, undefined, 'F', undefined, undefined, '20261121083000', undefined, ['D0012', '佐藤', '花子']);
  const r = readConfirmationOf(b.build());
  assert.deepEqual(r, { ok: true, confirmation: { versionId: 'rv-0001-1', by: '佐藤 花子 (D0012)', at: '2026-11-20T23:30:00.000Z' } });

  const bad = new Hl7Builder().msh({ messageType: { code: 'ORU', trigger: 'ZR1' }, controlId: 'C10', dateTime: '20261121090000' });
  bad.segment('OBR', '1');
  const r2 = readConfirmationOf(bad.build());
  assert.equal(r2.ok, false);
  assert.deepEqual(!r2.ok && r2.issues.map((i) => i.location), ['OBR-20', 'OBX-3']);
});
