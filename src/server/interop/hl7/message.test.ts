import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_DELIMITERS, Hl7Builder, Hl7Message, Hl7ParseError, escapeHl7, parsePath, raw, repeat, unescapeHl7, validateHeader,
} from './message.ts';
import { formatHl7DateTime } from './builder.ts';

const ORDER = [
  'MSH|^~\\&|HIS|1312345678|ENKAKU|ENKAKU|20240603091500||OMG^O19^OMG_O19|MSG0001|P|2.5|||AL|NE|JPN|~ISO IR87||ISO 2022-1994',
  'PID|0001||12345678^^^^PI~99887766^^^^MR||山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19650401|M',
  'PV1|0001|O|01^^^^^^^^内科',
  'ORC|NW|00001234^HIS||||||||20240603091500|||D0012^鈴木^一郎',
  'OBR|1|00001234^HIS||10000002000101000000010000000000^X線単純撮影胸部^JJ1017-32|||||||||発熱\\.br\\咳嗽 \\F\\ 肺炎疑い\\S\\精査|||||A00001234',
  'OBR|2|00001235^HIS||60000001000002000000010000000000^X線CT撮影頭部^JJ1017-32',
].join('\r') + '\r';

describe('Hl7Message.parse', () => {
  const m = Hl7Message.parse(ORDER);

  it('reads delimiters from MSH-1 and MSH-2', () => {
    assert.deepEqual(m.delimiters, DEFAULT_DELIMITERS);
    assert.equal(m.get('MSH-1'), '|');
    assert.equal(m.get('MSH-2'), '^~\\&');
  });

  it('gives typed header fields (MSH-9, -10, -11, -12, -18, -20)', () => {
    const h = m.header;
    assert.deepEqual(h.messageType, { code: 'OMG', trigger: 'O19', structure: 'OMG_O19' });
    assert.equal(h.controlId, 'MSG0001');
    assert.equal(h.processingId, 'P');
    assert.equal(h.version, '2.5');
    assert.deepEqual(h.characterSet, ['', 'ISO IR87']);
    assert.equal(h.alternateCharacterSetHandling, 'ISO 2022-1994');
    assert.equal(h.sendingApplication, 'HIS');
    assert.equal(h.receivingFacility, 'ENKAKU');
    assert.deepEqual(validateHeader(m), []);
  });

  it('reads components, repetitions and segment occurrences by path', () => {
    assert.equal(m.get('PID-5-1'), '山田');
    assert.equal(m.get('PID-5'), '山田');
    assert.equal(m.get('PID-5[2]-1'), 'ヤマダ');
    assert.equal(m.get('PID-5[2]-8'), 'P');
    assert.deepEqual(m.getAll('PID-3'), ['12345678', '99887766']);
    assert.deepEqual(m.getAll('PID-3-5'), ['PI', 'MR']);
    assert.deepEqual(m.getAll('PID-3[2]-1'), ['99887766']);
    assert.equal(m.get('OBR-4-1'), '10000002000101000000010000000000');
    assert.equal(m.get('OBR[2]-4-2'), 'X線CT撮影頭部');
    assert.equal(m.get('OBR[3]-4'), undefined);
    assert.equal(m.get('PID-30'), undefined);
    assert.equal(m.get('ZZZ-1'), undefined);
  });

  it('unescapes values only after splitting (an escaped ^ does not split a component)', () => {
    assert.equal(m.get('OBR-13'), '発熱\n咳嗽 | 肺炎疑い^精査');
    assert.equal(m.segment('OBR')!.raw(13), '発熱\\.br\\咳嗽 \\F\\ 肺炎疑い\\S\\精査');
  });

  it('iterates segments in order and finds them by name', () => {
    assert.deepEqual([...m].map((s) => s.name), ['MSH', 'PID', 'PV1', 'ORC', 'OBR', 'OBR']);
    assert.equal(m.segmentsNamed('OBR').length, 2);
    assert.equal(m.segment('OBR', 2)!.index, 6);
    assert.equal(m.segment('PID')!.fieldCount, 8);
    assert.deepEqual(m.segment('PID')!.components(5, 2)[0], ['ヤマダ']);
  });

  it('writes the message back exactly as received', () => {
    assert.equal(m.toString(), ORDER);
  });

  it('tolerates CRLF, LF, blank lines, a byte order mark and leading whitespace', () => {
    const lf = Hl7Message.parse('\uFEFF\n ' + ORDER.replace(/\r/g, '\n\n'));
    const crlf = Hl7Message.parse(ORDER.replace(/\r/g, '\r\n'));
    assert.equal(lf.toString(), ORDER);
    assert.equal(crlf.toString(), ORDER);
  });

  it('keeps the HL7 null "" distinct from an empty value', () => {
    const n = Hl7Message.parse('MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5\rPID|1||""||""^太郎');
    assert.equal(n.get('PID-3'), '""');
    assert.equal(n.get('PID-4'), undefined);
    assert.equal(n.get('PID-5-1'), '""');
    assert.equal(n.get('PID-5-2'), '太郎');
  });

  it('uses whatever delimiters MSH declares', () => {
    const custom = Hl7Message.parse('MSH*:!?%*HIS*H*R*R*20240101**ADT:A08*7*P*2.5\rPID*1**X1%A:!Y2*?F?x?E?**山田:花子');
    assert.deepEqual({ ...custom.delimiters }, { field: '*', component: ':', repetition: '!', escape: '?', subcomponent: '%' });
    assert.deepEqual(custom.getAll('PID-3'), ['X1', 'Y2']);
    assert.equal(custom.get('PID-3-1-2'), 'A');
    assert.equal(custom.get('PID-4'), '*x?');
    assert.equal(custom.get('PID-6-2'), '花子');
    assert.equal(custom.header.messageType.trigger, 'A08');
  });

  it('accepts the v2.7 truncation character and the \\P\\ escape', () => {
    const t = Hl7Message.parse('MSH|^~\\&#|A|B|C|D|20240101||ADT^A08|1|P|2.7\rNTE|1||100\\P\\ #');
    assert.equal(t.delimiters.truncation, '#');
    assert.equal(t.get('NTE-3'), '100# #');
  });
});

describe('Hl7ParseError', () => {
  const expectError = (text: string, check: Partial<Pick<Hl7ParseError, 'reason' | 'errorCode'>> & { segmentIndex?: number; field?: number; segment?: string; message?: RegExp }): void => {
    assert.throws(() => Hl7Message.parse(text), (e: unknown) => {
      assert.ok(e instanceof Hl7ParseError, String(e));
      if (check.reason) assert.equal(e.reason, check.reason);
      if (check.errorCode !== undefined) assert.equal(e.errorCode, check.errorCode);
      if (check.segmentIndex !== undefined) assert.equal(e.location.segmentIndex, check.segmentIndex);
      if (check.segment !== undefined) assert.equal(e.location.segment, check.segment);
      if (check.field !== undefined) assert.equal(e.location.field, check.field);
      if (check.message) assert.match(e.message, check.message);
      return true;
    });
  };

  it('refuses an empty message or one not starting with MSH', () => {
    expectError('', { reason: 'empty' });
    expectError('  \r\n', { reason: 'empty' });
    expectError('PID|1||123', { reason: 'no-msh', segment: 'PID', segmentIndex: 1, errorCode: 100 });
    expectError('BHS|^~\\&|A\rMSH|^~\\&', { reason: 'no-msh', message: /batch/ });
  });

  it('names MSH-1 and MSH-2 problems', () => {
    expectError('MSH', { reason: 'bad-field-separator', field: 1 });
    expectError('MSHA^~\\&', { reason: 'bad-field-separator', field: 1 });
    expectError('MSH||', { reason: 'bad-encoding-characters', field: 2, message: /empty/ });
    expectError('MSH|^^\\&|A', { reason: 'bad-encoding-characters', field: 2, message: /repeats/ });
    expectError('MSH|^~\\A|A', { reason: 'bad-encoding-characters', field: 2, message: /letters/ });
    // Fewer than four encoding characters are read leniently: the missing delimiters are unused.
    const short = Hl7Message.parse('MSH|^~|A^B|C\rPID|1||X&Y\\Z');
    assert.deepEqual([short.delimiters.escape, short.delimiters.subcomponent], ['', '']);
    assert.equal(short.get('PID-3'), 'X&Y\\Z');
  });

  it('names the segment (by line) whose ID is invalid, without echoing control bytes', () => {
    expectError('MSH|^~\\&|A\rPID|1\rpv1|1', { reason: 'bad-segment-name', segmentIndex: 3, segment: 'pv1' });
    expectError('MSH|^~\\&|A\rPIDX|1', { reason: 'bad-segment-name', segmentIndex: 2, message: /"PIDX\|1"/ });
    expectError('MSH|^~\\&|A\r\u0001\u0002X|1', { reason: 'bad-segment-name', message: /\\x01\\x02X/ });
    expectError('MSH|^~\\&|A\rMSH|^~\\&|B', { reason: 'no-msh', segmentIndex: 2 });
  });

  it('rejects malformed paths', () => {
    const m = Hl7Message.parse(ORDER);
    for (const bad of ['PID', 'PID-0', 'pid-5', 'PID-5-', 'PID[0]-5', 'PID-5[0]', 'PID-a']) {
      assert.throws(() => m.get(bad), (e: unknown) => e instanceof Hl7ParseError && e.reason === 'bad-path', bad);
    }
    assert.deepEqual(parsePath('OBR[2]-4[3]-1-2'), { segment: 'OBR', occurrence: 2, field: 4, repetition: 3, component: 1, subcomponent: 2 });
  });
});

describe('validateHeader', () => {
  it('reports each missing required MSH field with its table 0357 code', () => {
    const m = Hl7Message.parse('MSH|^~\\&|HIS||||2024-06-03||OMG|||2');
    const issues = validateHeader(m);
    assert.deepEqual(issues.map((i) => [i.code, i.location]), [
      [101, 'MSH-9-2'], [101, 'MSH-10'], [101, 'MSH-11'], [102, 'MSH-7'],
    ]);
    const bad = validateHeader(Hl7Message.parse('MSH|^~\\&|||||20240603||ADT^A08|1|X|2.5'));
    assert.deepEqual(bad.map((i) => [i.code, i.location]), [[103, 'MSH-11']]);
  });
});

describe('escape sequences (HL7 v2.5 §2.7)', () => {
  const d = DEFAULT_DELIMITERS;

  it('escapes and unescapes every delimiter', () => {
    const text = 'a|b^c&d~e\\f';
    const escaped = escapeHl7(text, d);
    assert.equal(escaped, 'a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
    assert.equal(unescapeHl7(escaped, d), text);
  });

  it('writes line breaks as \\.br\\ (or hexadecimal) and other controls as \\Xhh\\', () => {
    assert.equal(escapeHl7('一行目\r\n二行目\n三', d), '一行目\\.br\\二行目\\.br\\三');
    assert.equal(escapeHl7('a\r\nb\rc', d, { lineBreaks: 'hex' }), 'a\\X0D0A\\b\\X0D\\c');
    assert.equal(escapeHl7('tab\there', d), 'tab\\X09\\here');
  });

  it('reads hexadecimal data, formatting commands and highlighting', () => {
    assert.equal(unescapeHl7('A\\X0D0A\\B', d), 'A\r\nB');
    assert.equal(unescapeHl7('\\X414243\\', d), 'ABC');
    assert.equal(unescapeHl7('\\XE5B1B1\\', d, { decodeHex: (b) => Buffer.from(b).toString('utf8') }), '山');
    assert.equal(unescapeHl7('a\\.sp 2\\b\\.sk3\\c\\.in +4\\\\.ti -2\\\\.fi\\\\.nf\\\\.ce\\d', d), 'a\n\nb   cd');
    assert.equal(unescapeHl7('\\H\\重要\\N\\所見', d), '重要所見');
    assert.equal(unescapeHl7('a\\.br\\b', d, { lineBreak: '\r\n' }), 'a\r\nb');
  });

  it('drops \\C..\\ and \\M..\\ character set switches and keeps unknown or unterminated sequences', () => {
    assert.equal(unescapeHl7('\\M2442\\x\\C2842\\y', d), 'xy');
    assert.equal(unescapeHl7('\\Zlocal\\', d), '\\Zlocal\\');
    assert.equal(unescapeHl7('C:\\data', d), 'C:\\data');
    assert.equal(unescapeHl7('\\Q\\', d), '\\Q\\');
  });
});

describe('Hl7Builder', () => {
  it('builds MSH from a typed header and escapes every value', () => {
    const text = new Hl7Builder()
      .msh({
        sendingApplication: 'ENKAKU', receivingApplication: ['HIS', undefined, undefined],
        dateTime: '20240603091500', messageType: { code: 'ACK', trigger: 'O19', structure: 'ACK' }, controlId: 'A1',
        characterSet: ['', 'ISO IR87'], alternateCharacterSetHandling: 'ISO 2022-1994', countryCode: 'JPN',
      })
      .segment('PID', '1', undefined, repeat(['1', undefined, undefined, undefined, 'PI'], ['2', undefined, undefined, undefined, 'MR']),
        undefined, [['山田', 'やまだ'], '太郎'], null, 19650401)
      .segment('NTE', '1', 'L', '所見|あり^要確認~再検&追跡\\以上\r\n次行')
      .segment('ZZZ')
      .toString();
    assert.equal(text, [
      'MSH|^~\\&|ENKAKU||HIS||20240603091500||ACK^O19^ACK|A1|P|2.5|||||JPN|~ISO IR87||ISO 2022-1994',
      'PID|1||1^^^^PI~2^^^^MR||山田&やまだ^太郎|""|19650401',
      'NTE|1|L|所見\\F\\あり\\S\\要確認\\R\\再検\\T\\追跡\\E\\以上\\.br\\次行',
      'ZZZ',
    ].join('\r') + '\r');
    const parsed = Hl7Message.parse(text);
    assert.equal(parsed.get('NTE-3'), '所見|あり^要確認~再検&追跡\\以上\n次行');
    assert.equal(parsed.get('PID-5-1-2'), 'やまだ');
  });

  it('round-trips through parse and toString', () => {
    const b = new Hl7Builder().msh({ messageType: { code: 'ADT', trigger: 'A08' }, controlId: '9', dateTime: '20240101' })
      .segment('PID', '1', undefined, 'X', undefined, ['日本', '花子']);
    assert.equal(b.build().toString(), b.toString());
  });

  it('copies raw (already escaped) fields verbatim and refuses unsafe raw text', () => {
    const text = new Hl7Builder().msh({ messageType: { code: 'ACK', trigger: 'A01' }, controlId: '1', dateTime: '20240101' })
      .segment('MSA', 'AA', raw('a\\S\\b^c')).toString();
    assert.match(text, /MSA\|AA\|a\\S\\b\^c\r$/);
    assert.throws(() => new Hl7Builder().msh({ messageType: { code: 'ACK', trigger: 'A01' }, controlId: '1' }).segment('MSA', raw('a|b')));
  });

  it('refuses misuse', () => {
    assert.throws(() => new Hl7Builder().segment('PID'), /msh\(\) before/);
    assert.throws(() => new Hl7Builder().msh({ messageType: { code: 'A', trigger: 'B' }, controlId: '1' }).segment('pid'));
    assert.throws(() => new Hl7Builder().msh({ messageType: { code: 'A', trigger: 'B' }, controlId: '1', characterSet: ['A|B'] }));
  });

  it('formats HL7 date/times in Japan time', () => {
    const instant = new Date('2024-06-02T15:30:05Z');
    assert.equal(formatHl7DateTime(instant), '20240603003005');
    assert.equal(formatHl7DateTime(instant, { offset: true }), '20240603003005+0900');
    assert.equal(formatHl7DateTime(instant, { precision: 'day' }), '20240603');
    assert.equal(formatHl7DateTime(instant, { precision: 'minute' }), '202406030030');
  });
});
