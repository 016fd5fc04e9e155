import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JJ1017_LAYOUT, Jj1017Error, jj1017FormOf, joinJj1017, parseJj1017, splitJj1017 } from './jj1017.ts';

describe('parseJj1017 with codes from JJ1017 別表F (頻用コード)', () => {
  it('X線単純撮影 胸部 立位 正面 (10000002000101000000010000000000)', () => {
    const c = parseJj1017('10000002000101000000010000000000');
    assert.equal(c.form, '32');
    assert.equal(c.modality!.code, '1');
    assert.equal(c.modality!.ja, 'X線単純撮影');
    assert.equal(c.modality!.en, 'plain radiography');
    assert.equal(c.bodyPart!.code, '200');
    assert.equal(c.bodyPart!.ja, '胸部');
    assert.equal(c.laterality!.specified, false);
    assert.equal(c.bodyPosition!.ja, '立位');
    assert.equal(c.direction!.code, '01');
    assert.equal(c.direction!.known, false);
    assert.equal(c.nuclide!.code, '01');
    assert.equal(c.specialInstruction!.specified, false);
    assert.equal(c.contrast, undefined);
    assert.deepEqual(c.unknown, []);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.description, { ja: 'X線単純撮影 胸部 立位', en: 'plain radiography, chest, standing' });
  });

  it('X線CT撮影 頭部 (60000001000002000000010000000000)', () => {
    const c = parseJj1017('60000001000002000000010000000000');
    assert.equal(c.modality!.ja, 'X線CT');
    assert.equal(c.bodyPart!.en, 'head');
    assert.equal(c.bodyPosition!.specified, false);
    assert.equal(c.description.en, 'CT, head');
  });

  it('腹部超音波 (99A00002500000000000000000000000): unknown body part stays a flagged code', () => {
    const c = parseJj1017('99A00002500000000000000000000000');
    assert.equal(c.modality!.ja, '超音波');
    assert.equal(c.procedureMajor!.code, '9A');
    assert.equal(c.procedureMajor!.known, false);
    assert.equal(c.bodyPart!.code, '250');
    assert.equal(c.bodyPart!.ja, undefined);
    assert.deepEqual(c.unknown, ['bodyPart']);
    assert.equal(c.description.ja, '超音波');
  });

  it('the special instruction of 「頸部を含めて撮影」 (positions 19-20 = 03)', () => {
    const c = parseJj1017('10000002000101000003010000000000');
    assert.equal(c.specialInstruction!.code, '03');
    assert.equal(c.specialInstruction!.position, 19);
  });

  it('contrast (technique minor class 01), laterality and facility extensions', () => {
    const c = parseJj1017('6000100200R0000000000000000000000'.slice(0, 32));
    assert.equal(c.procedureMinor!.code, '01');
    assert.equal(c.contrast, true);
    assert.equal(c.laterality!.ja, '右側');
    assert.match(c.description.ja, /造影 胸部 右側/);
    const local = parseJj1017('P0000000000000000000000000000000');
    assert.equal(local.modality!.facilityExtension, true);
    assert.deepEqual(local.unknown, ['modality']);
    const listedUnnamed = parseJj1017('1000000200F000000000000000000000');
    assert.equal(listedUnnamed.laterality!.known, false);
    assert.deepEqual(listedUnnamed.warnings, []);
    const notListed = parseJj1017('1000000200X000000000000000000000');
    assert.match(notListed.warnings.join(' '), /not in 表5\.5/);
  });
});

describe('JJ1017-16M and 16S (DICOM halves)', () => {
  it('parses the 16M example of the Ver3.0 guideline (1000000200010300): chest, standing, direction 03', () => {
    const m = parseJj1017('1000000200010300');
    assert.equal(m.form, '16M');
    assert.equal(m.bodyPart!.ja, '胸部');
    assert.equal(m.bodyPosition!.ja, '立位');
    assert.equal(m.direction!.code, '03');
    assert.equal(m.nuclide, undefined);
  });

  it('parses 16S only when asked, with positions counted from 17', () => {
    const s = parseJj1017('0003010000000000', '16S');
    assert.equal(s.form, '16S');
    assert.equal(s.modality, undefined);
    assert.equal(s.specialInstruction!.code, '03');
    assert.equal(s.nuclide!.code, '01');
    assert.equal(s.nuclide!.position, 21);
  });

  it('splits and joins, ignoring DICOM space padding', () => {
    const code = '10000002000101000003010000000000';
    assert.deepEqual(splitJj1017(code), { m16: '1000000200010100', s16: '0003010000000000' });
    assert.equal(joinJj1017('1000000200010100 ', '0003010000000000'), code);
    assert.equal(joinJj1017('1000000200010100'), '10000002000101000000000000000000');
  });

  it('maps coding systems to forms', () => {
    assert.equal(jj1017FormOf('JJ1017-32'), '32');
    assert.equal(jj1017FormOf('JJ1017-16M/SAMPLEHOSP'), '16M');
    assert.equal(jj1017FormOf('jj1017-16s'), '16S');
    assert.equal(jj1017FormOf('JJ1017P'), undefined);
    assert.equal(jj1017FormOf(undefined), undefined);
  });

  it('reads the bare HL7 table 0396 name JJ1017 by the code\'s length: 32 characters only', () => {
    assert.equal(jj1017FormOf('JJ1017', '60000001000002000000010000000000'), '32');
    assert.equal(jj1017FormOf('jj1017', '60000001000002000000010000000000  '), '32', 'DICOM padding is not part of the code');
    assert.equal(jj1017FormOf('JJ1017', '6000000100000200'), undefined, '16M and 16S cannot be told apart: not guessed');
    assert.equal(jj1017FormOf('JJ1017'), undefined);
  });
});

describe('validation names the position', () => {
  const fails = (code: string, form: Parameters<typeof parseJj1017>[1], position: number, pattern: RegExp): void => {
    assert.throws(() => parseJj1017(code, form), (e: unknown) => {
      assert.ok(e instanceof Jj1017Error);
      assert.equal(e.position, position);
      assert.match(e.message, pattern);
      return true;
    });
  };

  it('refuses wrong lengths', () => {
    fails('1000000200', 'auto', 0, /32 \(JJ1017-32\) or 16/);
    fails('1000000200010300', '32', 0, /JJ1017-32 code has 32 characters, got 16/);
  });

  it('refuses I and O, lower case and other characters, naming the element', () => {
    fails('1000I00200010300', 'auto', 5, /position 5 .*手技\(小分類\).*I and O/);
    fails('100000020001030o', '16M', 16, /upper case/);
    fails('000301000000000-', '16S', 32, /position 16 of the JJ1017-16S code \(position 32 of JJ1017-32\).*委員会予約/);
    fails('1000000200\u00e9' + '0'.repeat(21), 'auto', 11, /左右等/);
  });

  it('warns about a non-zero reserved area without refusing the code', () => {
    assert.match(parseJj1017('1000000200010100000301000000000A').warnings.join(' '), /reserved/);
  });

  it('describes all 32 positions exactly once', () => {
    const covered = JJ1017_LAYOUT.flatMap((el) => Array.from({ length: el.length }, (_, i) => el.position + i));
    assert.deepEqual(covered, Array.from({ length: 32 }, (_, i) => i + 1));
  });
});
