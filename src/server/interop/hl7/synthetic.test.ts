import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHl7 } from './charset.ts';
import { Hl7Message, validateHeader } from './message.ts';
import { syntheticAdtA08, syntheticOmgO19, syntheticOrmO01 } from './synthetic.ts';

describe('synthetic JAHIS-style messages', () => {
  it('OMG^O19: header, patient, order and JJ1017 code readable after an ISO-2022-JP round trip', () => {
    const s = syntheticOmgO19({ seed: 5, patient: { id: '00012345', familyName: '日野', givenName: '美咲', familyNameKana: 'ヒノ', givenNameKana: 'ミサキ' } });
    const m = Hl7Message.parse(decodeHl7(s.bytes).text);
    assert.equal(m.toString(), s.text);
    assert.deepEqual(validateHeader(m), []);
    assert.deepEqual(m.header.messageType, { code: 'OMG', trigger: 'O19', structure: 'OMG_O19' });
    assert.deepEqual(m.header.characterSet, ['', 'ISO IR87']);
    assert.equal(m.header.alternateCharacterSetHandling, 'ISO 2022-1994');
    assert.deepEqual([...m].map((seg) => seg.name), ['MSH', 'PID', 'PV1', 'ORC', 'TQ1', 'OBR']);
    assert.equal(m.get('PID-3'), '00012345');
    assert.deepEqual(m.getAll('PID-5-1'), ['日野', 'ヒノ']);
    assert.deepEqual(m.getAll('PID-5-8'), ['I', 'P']);
    assert.equal(m.get('ORC-1'), 'NW');
    assert.equal(m.get('OBR-2'), s.order!.placerOrderNumber);
    assert.equal(m.get('OBR-18'), s.order!.accessionNumber);
    assert.equal(m.get('OBR-4-3'), 'JJ1017-32');
    assert.match(m.get('OBR-4-1')!, /^[0-9A-HJ-NP-Z]{32}$/);
    assert.equal(m.get('OBR-13'), s.order!.reason);
  });

  it('carries delimiters inside the reason text through escaping and ISO-2022-JP', () => {
    const reason = '日本語の|区切り^記号~を含む\\依頼&文。';
    const s = syntheticOmgO19({ seed: 1, order: { reason } });
    assert.equal(Hl7Message.parse(decodeHl7(s.bytes).text).get('OBR-13'), reason);
  });

  it('XO and CA orders carry the filler order number; clinical notes add AL1, NTE, DG1 and OBX', () => {
    for (const control of ['XO', 'CA'] as const) {
      const m = syntheticOmgO19({ seed: 9, control, clinical: true }).message;
      assert.equal(m.get('ORC-1'), control);
      assert.match(m.get('ORC-3')!, /^R\d{8}$/);
      assert.deepEqual([...m].map((seg) => seg.name), ['MSH', 'PID', 'PV1', 'AL1', 'ORC', 'TQ1', 'OBR', 'NTE', 'DG1', 'OBX', 'OBX']);
      assert.equal(m.get('OBX-3-2'), 'クレアチニン');
      assert.equal(m.get('AL1-3-2'), 'ヨード造影剤');
    }
  });

  it('ORM^O01 and ADT^A08, in ISO-2022-JP and UTF-8', () => {
    const orm = syntheticOrmO01({ seed: 2 });
    assert.deepEqual([...orm.message].map((seg) => seg.name), ['MSH', 'PID', 'PV1', 'ORC', 'OBR']);
    const adt = syntheticAdtA08({ seed: 2, charset: 'utf-8', allergies: true });
    assert.deepEqual(adt.characterSet, ['UNICODE UTF-8']);
    assert.deepEqual(adt.bytes, Buffer.from(adt.text, 'utf8'));
    assert.deepEqual([...adt.message].map((seg) => seg.name), ['MSH', 'EVN', 'PID', 'PV1', 'AL1']);
    assert.equal(Hl7Message.parse(decodeHl7(adt.bytes).text).header.messageType.trigger, 'A08');
  });

  it('is reproducible for a seed and varies between seeds', () => {
    assert.deepEqual(syntheticOmgO19({ seed: 3 }).bytes, syntheticOmgO19({ seed: 3 }).bytes);
    assert.notDeepEqual(syntheticOmgO19({ seed: 3 }).bytes, syntheticOmgO19({ seed: 4 }).bytes);
  });
});
