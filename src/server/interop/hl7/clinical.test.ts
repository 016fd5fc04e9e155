import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHl7 } from './charset.ts';
import { ClinicalMappingError, isoTime, labClass, mapClinicalBytes, mapClinicalMessage, type ClinicalContext, type ClinicalDataType } from './clinical.ts';
import { Hl7Message } from './message.ts';

/** Segments joined with CR (HL7 v2.5 §2.5.1), as SS-MIX2 files hold them. */
function msg(...segments: string[]): string {
  return segments.map((s) => `${s}\r`).join('');
}

const JIS = ['', 'ISO IR87'];
const MSH = (type: string, id = 'CTRL0001', at = '20240603091500') =>
  `MSH|^~\\&|HIS|SEND|GW|RCV|${at}||${type}|${id}|P|2.5||||||~ISO IR87||ISO 2022-1994|SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO`;
const PID = 'PID|0001||0012345678^^^^PI||日野^美咲^^^^^L^I~ヒノ^ミサキ^^^^^L^P||19580412|F';

function ctx(dataType?: ClinicalDataType): ClinicalContext {
  return { facilityId: 'FAC1', source: 'ssmix2', keyPrefix: '001/234/0012345678/-/X/file', ...(dataType ? { dataType } : {}) };
}

function map(text: string, dataType?: ClinicalDataType) {
  return mapClinicalBytes(encodeHl7(text, JIS), ctx(dataType));
}

describe('clinical HL7 mapping: ISO-2022-JP bytes', () => {
  it('decodes kanji whose JIS bytes equal HL7 delimiters and keeps every name group byte-exact', () => {
    const text = msg(MSH('ADT^A08^ADT_A01'), 'EVN||20240603091500', PID);
    const bytes = encodeHl7(text, JIS);
    // 日 is 46 7C ("F|"), 野 4C 6E: ESC $ B 46 7C 4C 6E ESC ( B.
    assert.ok(bytes.includes(Buffer.from([0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4c, 0x6e, 0x1b, 0x28, 0x42])));
    assert.ok(bytes.every((b) => b < 0x80), 'SS-MIX2 files are 7-bit');
    const r = mapClinicalBytes(bytes, ctx('ADT-00'));
    assert.deepEqual(r.patient, {
      patientId: '0012345678',
      issuer: '',
      name: { alphabetic: '', ideographic: '日野^美咲', phonetic: 'ヒノ^ミサキ' },
      sex: 'F',
      birthDate: '19580412',
    });
    assert.equal(Buffer.from(r.patient.name.ideographic, 'utf8').toString('hex'), Buffer.from('日野^美咲', 'utf8').toString('hex'));
    assert.equal(r.demographics, true);
    assert.deepEqual(r.issues, []);
  });

  it('refuses bytes that are not ISO-2022-JP (a Shift_JIS file), naming the byte and offset', () => {
    const text = msg(MSH('ADT^A08^ADT_A01'), PID);
    const sjis = Buffer.concat([Buffer.from(text.slice(0, text.indexOf('日')), 'latin1'), Buffer.from([0x93, 0xfa, 0x96, 0xec]), Buffer.from('^X\r', 'latin1')]);
    assert.throws(() => mapClinicalBytes(sjis, ctx('ADT-00')), (err: unknown) => {
      assert.ok(err instanceof ClinicalMappingError);
      assert.equal(err.location.field, 'MSH-18');
      assert.match(err.message, /byte 0x93 at offset \d+/);
      assert.match(err.message, /Shift_JIS/);
      return true;
    });
  });

  it('reports structural errors with segment and field', () => {
    assert.throws(() => map('this is not HL7'), /MSH/);
    assert.throws(() => map(msg(MSH('ADT^A08^ADT_A01'), 'EVN||20240603')), (e: unknown) => e instanceof ClinicalMappingError && /no PID segment/.test(e.message));
    assert.throws(() => map(msg(MSH('ADT^A08^ADT_A01'), 'PID|0001||^^^^PI||山田^太郎')), (e: unknown) => e instanceof ClinicalMappingError && e.message === 'segment 2 (PID), PID-3: patient ID (CX.1) is empty');
    assert.throws(() => map(msg(MSH('ADT^A08^ADT_A01', ''), PID)), /segment 1 \(MSH\), MSH-10: message control ID is empty/);
    assert.throws(() => map(msg(MSH('ADT^A08^ADT_A01'), PID), 'OML-11'), /data type OML-11 .* holds ADT\^A08; expected OUL\^R22/);
    assert.throws(() => map(msg(MSH('OMG^O19^OMG_O19'), PID)), /OMG\^O19 carries no clinical context/);
    assert.throws(() => map(msg(MSH('ADT^A08^ADT_A01'), PID, 'OBX|1|NM|9N001000000000001^身長^JC10||170', 'x')), /segment 4 .*segment ID/);
  });
});

describe('clinical HL7 mapping per SS-MIX2 data type', () => {
  it('ADT-00 (ADT^A08): demographics, height and weight, blood type as text, a drug allergy', () => {
    const r = map(msg(
      MSH('ADT^A08^ADT_A01'), 'EVN||20240603091500',
      'PID|0001||0012345678^^^^PI||宮本^雄一^^^^^L^I~ミヤモト^ユウイチ^^^^^L^P~Miyamoto^Yuichi^^^^^L^A||19400229|M|||^^^^1000001^JPN^H^東京都千代田区千代田１−１',
      'PV1|0001|O',
      'OBX|1|NM|9N001000000000001^身長^JC10||171.5|cm^cm^ISO+|||||F',
      'OBX|2|NM|9N006000000000001^体重^JC10||64.0|kg^kg^ISO+|||||F',
      'OBX|3|CWE|5H010000009199911^血液型-ABO式^JC10||B^B^JSHR002||||||F',
      'AL1|1|DA^薬剤アレルギー^HL70127|99A00201^ペニシリン系抗生物質^99XYZ|MO^中等度^HL70128|発疹',
    ), 'ADT-00');
    assert.equal(r.dataType, 'ADT-00');
    assert.deepEqual(r.patient.name, { alphabetic: 'Miyamoto^Yuichi', ideographic: '宮本^雄一', phonetic: 'ミヤモト^ユウイチ' });
    assert.equal(r.patient.birthDate, '19400229');
    assert.deepEqual(r.items.map((i) => [i.kind, i.code, i.codeSystem, i.text, i.value, i.unit, i.category, i.status, i.observedAt, i.sourceKey]), [
      ['lab', '9N001000000000001', 'JLAC10', '身長', 171.5, 'cm', undefined, 'final', '2024-06-03T00:15:00.000Z', '001/234/0012345678/-/X/file#CTRL0001#5'],
      ['lab', '9N006000000000001', 'JLAC10', '体重', 64, 'kg', undefined, 'final', '2024-06-03T00:15:00.000Z', '001/234/0012345678/-/X/file#CTRL0001#6'],
      ['lab', '5H010000009199911', 'JLAC10', '血液型-ABO式: B', undefined, undefined, undefined, 'final', '2024-06-03T00:15:00.000Z', '001/234/0012345678/-/X/file#CTRL0001#7'],
      ['allergy', '99A00201', '99XYZ', 'ペニシリン系抗生物質', undefined, undefined, 'drug', 'active', '2024-06-03T00:15:00.000Z', '001/234/0012345678/-/X/file#CTRL0001#8'],
    ]);
    assert.ok(r.items.every((i) => i.facilityId === 'FAC1' && i.source === 'ssmix2' && i.patient.patientId === '0012345678'));
  });

  it('ADT-00 with ADT^A23 (deleted at the facility) updates nothing', () => {
    const r = map(msg(MSH('ADT^A23^ADT_A21'), 'EVN||20240603091500', PID), 'ADT-00');
    assert.equal(r.demographics, false);
    assert.deepEqual(r.items, []);
    assert.match(r.issues[0]!.message, /ADT\^A23/);
  });

  it('ADT-61 (ADT^A60): allergen classes, contrast agents flagged, onset month read as its first day', () => {
    const r = map(msg(
      MSH('ADT^A60^ADT_A60'), 'EVN||20240603091500', PID,
      'IAM|1|DA^薬剤アレルギー^HL70127|99A00101^ヨード造影剤^99XYZ|MO^中等度^HL70128|蕁麻疹|A^追加^HL70323|||||201907',
      'IAM|2|DA^薬剤アレルギー^HL70127|99A00103^ガドリニウム造影剤（ガドビスト）^99XYZ|MI^軽度^HL70128|皮疹|A^追加^HL70323|||||20210315',
      'IAM|3|DA^薬剤アレルギー^HL70127|99A00104^造影剤^99XYZ|SV^重度^HL70128|呼吸困難|A^追加^HL70323',
      'IAM|4|LA^花粉アレルギー^HL70127|5A1002216023023^スギ^JC10|MI^軽度^HL70128|目のかゆみ|A^追加^HL70323|||||1996',
      'IAM|5|FA^食物アレルギー^HL70127|5A1002411023006^ソバ^JC10|MO^中等度^HL70128|湿疹|D^削除^HL70323',
    ), 'ADT-61');
    assert.deepEqual(r.items.map((i) => [i.text, i.codeSystem, i.category, i.status, i.observedAt]), [
      ['ヨード造影剤', '99XYZ', 'contrast-iodine', 'active', '2019-07-01'],
      ['ガドリニウム造影剤（ガドビスト）', '99XYZ', 'contrast-gadolinium', 'active', '2021-03-15'],
      ['造影剤', '99XYZ', 'contrast', 'active', '2024-06-03T00:15:00.000Z'],
      ['スギ', 'JLAC10', 'pollen', 'active', '1996-01-01'],
      ['ソバ', 'JLAC10', 'food', 'entered-in-error', '2024-06-03T00:15:00.000Z'],
    ]);
    assert.deepEqual(r.issues, []);
  });

  it('PPR-01 (PPR^ZD1): ICD-10 code, MEDIS name, main and secondary, suspected and ended diagnoses', () => {
    const r = map(msg(
      MSH('PPR^ZD1^PPR_ZD1'), PID,
      'PRB|AD|20240401|20054174^胃炎^MDCDX2|000000000000101|||20230105||20230201|K297^^I10^O^外来時^JHSD0004||||N^回復せず^HL70241|20230201|20230101|胃炎|1^主診断^JHSD0007',
      'ZPR||20054174^胃炎^MDCDX2',
      'PRB|AD|20240401|99D00101^２型糖尿病^99XYZ|000000000000102|||20150910|||E119^^I10^O^外来時^JHSD0004||||||20150801',
      'PRB|AD|20240401|99D00105^肺癌の疑い^99XYZ|000000000000103|||20240320|||C349^^I10^O^外来時^JHSD0004|||1^疑いあり^JHSD0005',
      'PRB|AD|20240401|99D00107^肺炎^99XYZ|000000000000104|||20220110||20220131|J189^^I10||||F^治癒^HL70241|20220131|20220108',
      'PRB|DE|20240401|99D00104^脂質異常症^99XYZ|000000000000105|||20200101||||||||||',
      'PRB|AD|20240401|99D00199^腰痛症^99XYZ',
      'ORC|NW|999999999999999',
    ), 'PPR-01');
    assert.deepEqual(r.items.map((i) => [i.code, i.codeSystem, i.text, i.category, i.status, i.observedAt]), [
      ['K297', 'ICD-10', '胃炎', 'main', 'inactive', '2023-01-01'],
      ['E119', 'ICD-10', '２型糖尿病', 'secondary', 'active', '2015-08-01'],
      ['C349', 'ICD-10', '肺癌の疑い', 'secondary', 'suspected', '2024-03-20'],
      ['J189', 'ICD-10', '肺炎', 'secondary', 'resolved', '2022-01-08'],
      ['99D00104', '99XYZ', '脂質異常症', 'secondary', 'entered-in-error', '2020-01-01'],
      ['99D00199', '99XYZ', '腰痛症', 'secondary', 'active', '2024-04-01'],
    ]);
  });

  it('OML-11 (OUL^R22): JLAC10 creatinine and eGFR with values and units, times from OBX-14 or SPM-17', () => {
    const r = map(msg(
      MSH('OUL^R22^OUL_R22'), PID, 'PV1|0001|O|01^^^^^C',
      'SPM|1|12345601||023^血清^JC10|||||||||||||202405201030',
      'OBR|1|000000012345678|12345601|E001^生化学検査^99O03|||202405201030',
      'ORC|SC|000000012345678|12345601||CM||||20240520140000',
      'OBX|1|NM|3C015000002327101^クレアチニン^JC10||2.41|mg/dL^mg/dL^ISO+|0.46-0.79|H|||F|||202405201030',
      'OBX|2|NM|8A065000002391901^eGFR^JC10||16.3|mL/min/1.73m2^mL/min/1.73m2^ISO+|>=60|L|||F',
      'OBX|3|SN|3C015000000127101^クレアチニン（尿）^JC10||<^0.30|mg/dL^mg/dL^ISO+||||||F',
      'OBX|4|NM|3C025000002327201^尿素窒素^JC10||測定不能|mg/dL^mg/dL^ISO+|||||F',
      'OBX|5|NM|3D046000001920402^ＨｂＡ１ｃ（ＮＧＳＰ）^JC10|||%^%^ISO+|||||I',
      'OBX|6|NM|3A010000002327101^総蛋白^JC10||7.1|g/dL^g/dL^ISO+|6.6-8.1||||C',
      'OBX|7|ST|1A990000000191153^尿蛋白^JC10||（２＋）||||||F',
    ), 'OML-11');
    assert.deepEqual(r.items.map((i) => [i.code, i.text, i.value, i.unit, i.category, i.status, i.observedAt]), [
      ['3C015000002327101', 'クレアチニン', 2.41, 'mg/dL', 'creatinine', 'final', '2024-05-20T01:30:00.000Z'],
      ['8A065000002391901', 'eGFR', 16.3, 'mL/min/1.73m2', 'egfr', 'final', '2024-05-20T01:30:00.000Z'],
      ['3C015000000127101', 'クレアチニン（尿） <0.30', 0.3, 'mg/dL', undefined, 'final', '2024-05-20T01:30:00.000Z'],
      ['3C025000002327201', '尿素窒素: 測定不能', undefined, 'mg/dL', undefined, 'final', '2024-05-20T01:30:00.000Z'],
      ['3A010000002327101', '総蛋白', 7.1, 'g/dL', undefined, 'corrected', '2024-05-20T01:30:00.000Z'],
      ['1A990000000191153', '尿蛋白: （２＋）', undefined, undefined, undefined, 'final', '2024-05-20T01:30:00.000Z'],
    ]);
    assert.deepEqual(r.issues, [{ message: '"測定不能" is not a number (value type NM); kept as text', segment: 'OBX', segmentIndex: 10, field: 'OBX-5' }]);
  });

  it('OMP-01 (RDE^O11): one prescription per RXE with dose, unit and order time; metformin by name', () => {
    const r = map(msg(
      MSH('RDE^O11^RDE_O11'), PID, 'PV1|0001|O|01^^^^^C',
      'ORC|NW|000000011000185||1|||||20240510103045|||110^医師^一郎^^^^^^^L^^^^^I|||||01^内科^99XY1',
      'RXE||99M00101^メトグルコ錠２５０ｍｇ^99XYZ|2||TAB^錠^MR9P|||||168|TAB^錠^MR9P||||2024051012345||||6^TAB&錠&MR9P',
      'TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||28^d|20240510',
      'RXR|PO^口^HL70162',
      'ORC|CA|000000011000185||2|||||20240510103045',
      'RXE||108665201^ダーゼン錠（５ｍｇ）^HOT9|1||TAB^錠^MR9P',
      'TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||14^d|20240510',
      'RXR|PO^口^HL70162',
    ), 'OMP-01');
    assert.deepEqual(r.items.map((i) => [i.kind, i.code, i.codeSystem, i.text, i.value, i.unit, i.category, i.status, i.observedAt, i.sourceKey.split('#')[2]]), [
      ['prescription', '99M00101', '99XYZ', 'メトグルコ錠２５０ｍｇ', 2, '錠', 'metformin', 'active', '2024-05-10T01:30:45.000Z', '5'],
      ['prescription', '108665201', 'HOT9', 'ダーゼン錠（５ｍｇ）', 1, '錠', undefined, 'cancelled', '2024-05-10T01:30:45.000Z', '9'],
    ]);
  });

  it('recognises metformin by YJ code 3962002 (メトホルミン塩酸塩) whatever the brand name', () => {
    const r = map(msg(MSH('RDE^O11^RDE_O11'), PID, 'ORC|NW|000000011000186||1|||||20240510103045', 'RXE||3962002F2027^グリコ錠^YJ|1||TAB^錠^MR9P', 'RXR|PO^口^HL70162'));
    assert.equal(r.dataType, 'OMP-01');
    assert.equal(r.items[0]!.category, 'metformin');
  });

  it('OMP-11 (RAS^O17): administrations of prescriptions', () => {
    const text = msg(
      MSH('RAS^O17^RAS_O17'), PID, 'PV1|0001|I|32^302^^^^N',
      'ORC|NW|000000011000190||1|||||20240511141500',
      'RXA|0|1|202405120830|202405120830|99M00201^アムロジピン錠５ｍｇ^99XYZ|1|TAB^錠^MR9P|||200^看護^花子^^^^^^^L^^^^^I||||||||||CP',
      'RXA|0|1|202405130830|202405130830|99M00201^アムロジピン錠５ｍｇ^99XYZ|1|TAB^錠^MR9P|||||||||||||RE',
      'RXR|PO^口^HL70162',
    );
    for (const hint of ['OMP-11', undefined] as const) {
      const r = map(text, hint);
      assert.equal(r.dataType, 'OMP-11');
      assert.deepEqual(r.items.map((i) => [i.kind, i.text, i.value, i.unit, i.status, i.observedAt]), [
        ['prescription', 'アムロジピン錠５ｍｇ', 1, '錠', 'administered', '2024-05-11T23:30:00.000Z'],
        ['prescription', 'アムロジピン錠５ｍｇ', 1, '錠', 'not-done', '2024-05-12T23:30:00.000Z'],
      ]);
    }
  });

  it('OMP-02 (RDE^O11 with RXC): each component is an injection, at the TQ1 start time; contrast flagged', () => {
    const text = msg(
      MSH('RDE^O11^RDE_O11'), PID, 'PV1|0001|I|32^302^^^^N',
      'ORC|NW|123456789012345||123456789012345_01_001|||||20240501012410',
      'RXE||00^一般^99I02|510||ML^ミリリットル^MR9P|INJ^注射剤^MR9P',
      'TQ1|1||||||202405010800|202405011300',
      'RXR|IV^静脈内^HL70162||IVP^点滴ポンプ^HL70164',
      'RXC|B|620007329^ソリタ−Ｔ３号輸液５００ｍＬ^HOT9|1|HON^本^MR9P',
      'RXC|A|620002559^アドナ注（静脈用）５０ｍｇ^HOT9|1|AMP^アンプル^MR9P',
      'ORC|NW|123456789012346||123456789012346_01_001|||||20240502090000',
      'RXE||00^一般^99I02|100||ML^ミリリットル^MR9P|INJ^注射剤^MR9P',
      'TQ1|1||||||202405031000',
      'RXR|IV^静脈内^HL70162',
      'RXC|B|99I00101^イオパミロン注３００シリンジ１００ｍＬ^99XYZ|1|HON^本^MR9P',
    );
    for (const hint of ['OMP-02', undefined] as const) {
      const r = map(text, hint);
      assert.equal(r.dataType, 'OMP-02');
      assert.deepEqual(r.items.map((i) => [i.kind, i.code, i.text, i.value, i.unit, i.category, i.status, i.observedAt]), [
        ['injection', '620007329', 'ソリタ−Ｔ３号輸液５００ｍＬ', 1, '本', undefined, 'active', '2024-04-30T23:00:00.000Z'],
        ['injection', '620002559', 'アドナ注（静脈用）５０ｍｇ', 1, 'アンプル', undefined, 'active', '2024-04-30T23:00:00.000Z'],
        ['injection', '99I00101', 'イオパミロン注３００シリンジ１００ｍＬ', 1, '本', 'contrast-iodine', 'active', '2024-05-03T01:00:00.000Z'],
      ]);
    }
    // U+2212 MINUS SIGN, JIS X 0208 1-29 (0x215D): exact, not U+FF0D.
    assert.ok(map(text).items[0]!.text.includes('\u2212'));
  });

  it('OMP-12 (RAS^O17, parenteral route): administered injections', () => {
    const text = msg(
      MSH('RAS^O17^RAS_O17'), PID,
      'ORC|NW|123456789012345||123456789012345_01_001|||||20240501113613',
      'RXA|0|1|20240501080521|20240501130543|620007329^ソリタ−Ｔ３号輸液５００ｍＬ^HOT9|1|HON^本^MR9P||^左手に実施^99IC2|200^看護^花子^^^^^^^L^^^^^I||||||||||CP',
      'RXA|0|1|20240502103000|20240502103500|99I00102^ガドビスト静注１．０ｍｏｌ／Ｌシリンジ７．５ｍＬ^99XYZ|1|HON^本^MR9P|||||||||||||CP|D',
      'RXR|IV^静脈内^HL70162||IVP^点滴ポンプ^HL70164',
    );
    const r = map(text);
    assert.equal(r.dataType, 'OMP-12');
    assert.deepEqual(r.items.map((i) => [i.kind, i.text, i.category, i.status, i.observedAt]), [
      ['injection', 'ソリタ−Ｔ３号輸液５００ｍＬ', undefined, 'administered', '2024-04-30T23:05:21.000Z'],
      ['injection', 'ガドビスト静注１．０ｍｏｌ／Ｌシリンジ７．５ｍＬ', 'contrast-gadolinium', 'entered-in-error', '2024-05-02T01:30:00.000Z'],
    ]);
  });

  it('maps a parsed message (the live HL7 path) with the listener\'s key prefix', () => {
    const m = Hl7Message.parse(msg(MSH('ADT^A60^ADT_A60', 'MSG0042'), PID, 'AL1|1|DA^薬剤アレルギー^HL70127|^ヨード造影剤|MO|蕁麻疹'));
    const r = mapClinicalMessage(m, { facilityId: 'FAC1', source: 'hl7', keyPrefix: 'mllp:his-1' });
    assert.equal(r.dataType, 'ADT-61');
    assert.deepEqual(r.items.map((i) => [i.source, i.sourceKey, i.code, i.codeSystem, i.text, i.category]), [['hl7', 'mllp:his-1#MSG0042#3', '', 'local', 'ヨード造影剤', 'contrast-iodine']]);
  });

  it('skips items without code and text, with an issue naming segment and field', () => {
    const r = map(msg(MSH('ADT^A60^ADT_A60'), PID, 'IAM|1|DA^薬剤アレルギー^HL70127||MO', 'PRB|AD|20240401'), 'ADT-61');
    assert.deepEqual(r.items, []);
    assert.deepEqual(r.issues, [{ message: 'allergen (IAM-3) is empty; the segment is skipped', segment: 'IAM', segmentIndex: 3, field: 'IAM-3' }]);
  });
});

describe('clinical HL7 mapping helpers', () => {
  it('isoTime: dates stay dates, times become UTC read in Japan time unless an offset is given', () => {
    assert.equal(isoTime('20240603'), '2024-06-03');
    assert.equal(isoTime('202406'), '2024-06');
    assert.equal(isoTime('20240603091500'), '2024-06-03T00:15:00.000Z');
    assert.equal(isoTime('202406030915'), '2024-06-03T00:15:00.000Z');
    assert.equal(isoTime('20240603091500.1234'), '2024-06-03T00:15:00.123Z');
    assert.equal(isoTime('20240603091500+0000'), '2024-06-03T09:15:00.000Z');
    assert.equal(isoTime('20240230'), undefined);
    assert.equal(isoTime('2024-06-03'), undefined);
    assert.equal(isoTime('20240603246000'), undefined);
  });

  it('labClass: serum creatinine but not urine creatinine; eGFRcreat and eGFRcys; local codes by name', () => {
    assert.equal(labClass('3C015000002327101', 'JLAC10', 'クレアチニン'), 'creatinine');
    assert.equal(labClass('3C015000000127101', 'JLAC10', 'クレアチニン'), undefined);
    assert.equal(labClass('8A065000002391901', 'JLAC10', 'eGFR'), 'egfr');
    assert.equal(labClass('8A066000002391901', 'JLAC10', 'eGFRcys'), 'egfr');
    assert.equal(labClass('L0123', '99XYZ', '推算GFR'), 'egfr');
    assert.equal(labClass('L0124', '99XYZ', '血清クレアチニン'), 'creatinine');
    assert.equal(labClass('L0125', '99XYZ', '尿中クレアチニン'), undefined);
  });
});
