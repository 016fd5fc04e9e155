import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HL7_ERROR_CODES, buildAck, buildAckBytes } from './ack.ts';
import { decodeHl7 } from './charset.ts';
import { Hl7Message } from './message.ts';
import { syntheticOmgO19 } from './synthetic.ts';

const NOW = new Date('2024-06-03T01:00:00Z'); // 10:00 JST

describe('buildAck', () => {
  const order = syntheticOmgO19({ seed: 3, controlId: 'HIS000123' }).message;

  it('mirrors sender and receiver, processing ID, version and character set', () => {
    const ack = buildAck(order, { code: 'AA', controlId: 'ENK0001', dateTime: NOW });
    assert.equal(ack.toString(), [
      'MSH|^~\\&|ENKAKU|ENKAKU|HIS|1312345678|20240603100000||ACK^O19^ACK|ENK0001|P|2.5|||||JPN|~ISO IR87||ISO 2022-1994',
      'MSA|AA|HIS000123',
    ].join('\r') + '\r');
  });

  it('writes one ERR per error: location, table 0357 code and text, severity, diagnostic and user message', () => {
    const ack = buildAck(order, {
      code: 'AE', controlId: 'ENK0002', dateTime: NOW, textMessage: '受付できません',
      errors: [
        { code: 101, location: 'PID-3', userMessage: '患者IDがありません' },
        { code: 103, location: 'OBR[1]-4-3', severity: 'W', diagnostic: 'coding system not JJ1017-32', userMessage: '検査コード体系が不明です' },
        { code: 207, location: { segment: 'ORC', sequence: 2 }, applicationErrorCode: { code: 'E42', text: 'DB', system: 'L' } },
      ],
    });
    const lines = ack.toString().split('\r');
    assert.deepEqual(lines.slice(1, 5), [
      'MSA|AE|HIS000123|受付できません',
      'ERR||PID^1^3^1|101^Required field missing^HL70357|E||||患者IDがありません',
      'ERR||OBR^1^4^1^3|103^Table value not found^HL70357|W|||coding system not JJ1017-32|検査コード体系が不明です',
      'ERR||ORC^2|207^Application internal error^HL70357|E|E42^DB^L',
    ]);
    assert.equal(ack.get('ERR[2]-8'), '検査コード体系が不明です');
  });

  it('answers with an application acknowledgment type when asked (ORG^O20)', () => {
    const ack = buildAck(order, { code: 'AA', controlId: 'X', messageType: { code: 'ORG', trigger: 'O20', structure: 'ORG_O20' } });
    assert.deepEqual(ack.header.messageType, { code: 'ORG', trigger: 'O20', structure: 'ORG_O20' });
  });

  it('keeps the original delimiters and falls back to our identity and v2.5 when MSH is sparse', () => {
    const sparse = Hl7Message.parse('MSH*:!?%*****20240603**ADT:A08*77*T');
    const ack = buildAck(sparse, { code: 'AR', controlId: 'R1', dateTime: NOW, sendingApplication: 'ENKAKU', errors: [{ code: 203, location: 'MSH-12', userMessage: 'a*b' }] });
    assert.equal(ack.toString(), 'MSH*:!?%*ENKAKU****20240603100000**ACK:A08:ACK*R1*T*2.5\rMSA*AR*77\rERR**MSH:1:12:1*203:Unsupported version id:HL70357*E****a?F?b\r');
  });

  it('lists every table 0357 code the brief needs', () => {
    for (const code of [0, 100, 101, 102, 103, 200, 201, 203, 204, 205, 207] as const) assert.ok(HL7_ERROR_CODES[code]);
  });
});

describe('buildAckBytes', () => {
  it('encodes the acknowledgment in the original charset: ISO-2022-JP with Japanese ERR-8', () => {
    const order = syntheticOmgO19({ seed: 4 }).message;
    const bytes = buildAckBytes(order, { code: 'AE', controlId: 'E1', dateTime: NOW, errors: [{ code: 204, location: 'PID-3', userMessage: '日本語の説明|区切りを含む' }] });
    assert.ok(bytes.includes(Buffer.from('\x1b$B')));
    assert.ok(bytes.every((b) => b < 0x80), 'ISO-2022-JP is 7-bit');
    const back = Hl7Message.parse(decodeHl7(bytes).text);
    assert.equal(back.get('ERR-8'), '日本語の説明|区切りを含む');
    assert.equal(back.get('ERR-3-1'), '204');
  });

  it('encodes as UTF-8 when the original was UTF-8', () => {
    const order = syntheticOmgO19({ seed: 4, charset: 'utf-8' }).message;
    const bytes = buildAckBytes(order, { code: 'AE', controlId: 'E1', errors: [{ code: 205, userMessage: '重複した髙﨑のオーダ' }] });
    assert.ok(bytes.includes(Buffer.from('重複した髙﨑のオーダ', 'utf8')));
  });

  it('refuses a user message the original charset cannot carry', () => {
    const order = syntheticOmgO19({ seed: 4 }).message;
    assert.throws(() => buildAckBytes(order, { code: 'AE', controlId: 'E1', errors: [{ code: 207, userMessage: '髙' }] }), /Cannot encode/);
  });
});
