import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Encoding from 'encoding-japanese';
import { Hl7CharsetError, charsetModel, decodeHl7, encodeHl7, sniffHeader } from './charset.ts';
import { Hl7Message } from './message.ts';

/** Bytes from a hex dump such as "1b 24 42". */
const hex = (dump: string): Buffer => Buffer.from(dump.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const ESC_KANJI = '1b2442';
const ESC_ASCII = '1b2842';

/** A small message with the given MSH-18 and PID-5. */
const adt = (msh18: string, name: string, msh4 = 'HOSP'): string =>
  `MSH|^~\\&|HIS|${msh4}|ENKAKU|ENKAKU|20240603091500||ADT^A08^ADT_A01|MSG1|P|2.5|||||JPN|${msh18}\rPID|0001||123^^^^PI||${name}\r`;

describe('ISO IR87 (JIS X 0208 through ISO 2022 escapes, JAHIS ~ISO IR87)', () => {
  const text = adt('~ISO IR87', '山田^太郎');
  const bytes = Buffer.concat([
    ascii(adt('~ISO IR87', '').slice(0, -1)),
    hex(`${ESC_KANJI} 3b33 4544 ${ESC_ASCII} 5e ${ESC_KANJI} 4240 4f3a ${ESC_ASCII} 0d`),
  ]);

  it('encodes to exactly the expected bytes (ESC ( B before each delimiter and the segment end)', () => {
    assert.deepEqual(encodeHl7(text, ['', 'ISO IR87']), bytes);
  });

  it('decodes those bytes back to the same text', () => {
    const decoded = decodeHl7(bytes);
    assert.equal(decoded.text, text);
    assert.deepEqual(decoded.characterSet, ['', 'ISO IR87']);
    assert.deepEqual(decoded.warnings, []);
    assert.equal(Hl7Message.parse(decoded.text).get('PID-5-2'), '太郎');
  });

  it('matches an independent ISO-2022-JP encoder (encoding-japanese) for kanji and kana', () => {
    const name = '宮本^美咲~ミヤモト^ミサキ';
    const ours = encodeHl7(name, ['', 'ISO IR87']);
    const theirs = Buffer.from(Encoding.convert(Encoding.stringToCode(name), { to: 'JIS', from: 'UNICODE' }) as number[]);
    assert.deepEqual(ours, theirs);
    assert.equal(new TextDecoder('iso-2022-jp').decode(ours), name);
  });
});

describe('delimiter bytes inside JIS X 0208 characters', () => {
  // 日 46 7C ("F|"), 本 4B 5C ("K\"), 宮 35 5C, 美 48 7E ("H~"), ま 24 5E ("$^"), う 24 26 ("$&").
  const name = '宮本^美咲~みやもと^まう';
  const text = adt('~ISO IR87', name, '日本病院');
  const bytes = encodeHl7(text, ['', 'ISO IR87']);

  it('the encoded bytes do contain | \\ ~ ^ & inside kanji', () => {
    const jisOf = (s: string): Buffer => encodeHl7(s, ['', 'ISO IR87']).subarray(3, -3);
    assert.deepEqual(jisOf('日本'), hex('467c 4b5c'));
    assert.deepEqual(jisOf('美'), hex('487e'));
    assert.deepEqual(jisOf('まう'), hex('245e 2426'));
    // Splitting the raw bytes on "|" would cut MSH-4 (日本病院) in two and shift every field.
    const naive = bytes.toString('latin1').split('\r')[0]!.split('|');
    assert.notEqual(naive[17], '~ISO IR87');
  });

  it('sniffs MSH-18 from the bytes despite the kanji before it', () => {
    const sniffed = sniffHeader(bytes);
    assert.deepEqual(sniffed.characterSet, ['', 'ISO IR87']);
    assert.equal(sniffed.encodingCharacters, '^~\\&');
  });

  it('decodes first and splits after, so every field is intact', () => {
    const decoded = decodeHl7(bytes);
    assert.equal(decoded.text, text);
    const m = Hl7Message.parse(decoded.text);
    assert.equal(m.header.sendingFacility, '日本病院');
    assert.deepEqual(m.header.characterSet, ['', 'ISO IR87']);
    assert.deepEqual(m.getAll('PID-5-1'), ['宮本', 'みやもと']);
    assert.deepEqual(m.getAll('PID-5-2'), ['美咲', 'まう']);
  });
});

describe('half-width katakana', () => {
  it('ISO IR13 first: JIS X 0201 bytes A1..DF with no escape (as DICOM PS3.5 H.3.2)', () => {
    const bytes = encodeHl7('ﾔﾏﾀﾞ^ﾀﾛｳ', ['ISO IR13']);
    assert.deepEqual(bytes, hex('d4 cf c0 de 5e c0 db b3'));
    const msg = adt('ISO IR13', 'ﾔﾏﾀﾞ^ﾀﾛｳ');
    assert.equal(decodeHl7(encodeHl7(msg, ['ISO IR13'])).text, msg);
    assert.equal(decodeHl7(encodeHl7(msg, ['ISO IR14'])).text, msg);
  });

  it('ISO IR13 as a later repetition: ESC ( I and 7-bit bytes, back to ASCII before the delimiter', () => {
    const terms = ['', 'ISO IR87', 'ISO IR13'];
    const bytes = encodeHl7('ﾔﾏﾀﾞ^ﾀﾛｳ=山田', terms);
    assert.deepEqual(bytes, hex(`1b2849 544f405e ${ESC_ASCII} 5e 1b2849 405b33 ${ESC_ASCII} 3d ${ESC_KANJI} 3b334544 ${ESC_ASCII}`));
    const msg = adt('~ISO IR87~ISO IR13', 'ﾔﾏﾀﾞ^ﾀﾛｳ~山田^太郎');
    const decoded = decodeHl7(encodeHl7(msg, terms));
    assert.equal(decoded.text, msg);
    assert.deepEqual(Hl7Message.parse(decoded.text).getAll('PID-5-1'), ['ﾔﾏﾀﾞ', '山田']);
  });

  it('reads katakana designated to G1 with ESC ) I', () => {
    const bytes = Buffer.concat([ascii(adt('~ISO IR87~ISO IR13', '').slice(0, -1)), hex('1b2949 d4cfc0de 5e c0dbb3 0d')]);
    assert.equal(Hl7Message.parse(decodeHl7(bytes).text).get('PID-5-2'), 'ﾀﾛｳ');
  });

  it('refuses half-width katakana the charset cannot carry, or writes them full-width on request', () => {
    assert.throws(() => encodeHl7('ﾀﾞｲｽｹ', ['', 'ISO IR87']), (e: unknown) => e instanceof Hl7CharsetError && e.reason === 'unencodable' && e.index === 0);
    const wide = encodeHl7('ﾀﾞｲｽｹ', ['', 'ISO IR87'], { halfwidthKatakana: 'fullwidth' });
    assert.equal(decodeHl7(Buffer.concat([ascii(adt('~ISO IR87', '').slice(0, -1)), wide, hex('0d')])).text.split('\r')[1], 'PID|0001||123^^^^PI||ダイスケ');
  });
});

describe('ISO IR159 (JIS X 0212) and name variants', () => {
  it('writes 彅 (JIS X 0212 3C 74) with ESC $ ( D and round-trips 草彅^剛', () => {
    const terms = ['', 'ISO IR87', 'ISO IR159'];
    const bytes = encodeHl7('草彅^剛', terms);
    assert.deepEqual(bytes, hex(`${ESC_KANJI} 4170 1b242844 3c74 ${ESC_ASCII} 5e ${ESC_KANJI} 3964 ${ESC_ASCII}`));
    const msg = adt('~ISO IR87~ISO IR159', '草彅^剛');
    assert.equal(decodeHl7(encodeHl7(msg, terms)).text, msg);
  });

  it('髙 and 﨑 are in neither JIS X 0208 nor 0212: refused for ISO IR87, exact in UTF-8', () => {
    assert.throws(() => encodeHl7('髙橋', ['', 'ISO IR87', 'ISO IR159']), (e: unknown) =>
      e instanceof Hl7CharsetError && e.reason === 'unencodable' && e.index === 0 && /U\+9AD9/.test(e.message));
    assert.throws(() => encodeHl7('山﨑', ['', 'ISO IR87']), (e: unknown) => e instanceof Hl7CharsetError && e.index === 1);
    const msg = adt('UNICODE UTF-8', '髙橋^﨑子~山﨑^太郎');
    const bytes = encodeHl7(msg, ['UNICODE UTF-8']);
    assert.deepEqual(bytes, Buffer.from(msg, 'utf8'));
    assert.equal(decodeHl7(bytes).text, msg);
  });

  it('reads 髙 and 﨑 as Windows senders write them (NEC/IBM rows 7C 62 and 79 75, CP50220)', () => {
    const bytes = Buffer.concat([ascii(adt('~ISO IR87', '').slice(0, -1)), hex(`${ESC_KANJI} 7c62 3636 ${ESC_ASCII} 5e ${ESC_KANJI} 3b33 7975 ${ESC_ASCII} 0d`)]);
    assert.deepEqual(Hl7Message.parse(decodeHl7(bytes).text).segment('PID')!.components(5)[0], ['髙橋']);
    assert.equal(Hl7Message.parse(decodeHl7(bytes).text).get('PID-5-2'), '山﨑');
  });

  it('maps JIS 1-33 to U+301C WAVE DASH (JIS X 0221) and accepts the Windows FULLWIDTH TILDE when writing', () => {
    assert.deepEqual(encodeHl7('〜', ['', 'ISO IR87']), hex(`${ESC_KANJI} 2141 ${ESC_ASCII}`));
    assert.deepEqual(encodeHl7('～', ['', 'ISO IR87']), hex(`${ESC_KANJI} 2141 ${ESC_ASCII}`));
    const msg = Buffer.concat([ascii(adt('~ISO IR87', '').slice(0, -1)), hex(`${ESC_KANJI} 2141 ${ESC_ASCII} 0d`)]);
    assert.match(decodeHl7(msg).text, /\|\u301c\r$/);
  });
});

describe('lenient reading', () => {
  it('resets to ASCII at the end of a segment that forgot ESC ( B, with a warning', () => {
    const bytes = Buffer.concat([ascii(adt('~ISO IR87', '').slice(0, -1)), hex(`${ESC_KANJI} 3b33 4544 0d`), ascii('PV1|0001|O\r')]);
    const decoded = decodeHl7(bytes);
    const m = Hl7Message.parse(decoded.text);
    assert.equal(m.get('PID-5'), '山田');
    assert.equal(m.get('PV1-2'), 'O');
    assert.match(decoded.warnings.join(' '), /without returning to ASCII/);
  });

  it('honours ESC sequences MSH-18 does not declare, with a warning', () => {
    const bytes = Buffer.concat([ascii(adt('', '').slice(0, -1)), hex(`${ESC_KANJI} 3b33 4544 ${ESC_ASCII} 0d`)]);
    const decoded = decodeHl7(bytes);
    assert.equal(Hl7Message.parse(decoded.text).get('PID-5'), '山田');
    assert.match(decoded.warnings.join(' '), /does not declare/);
  });

  it('honours HL7 character set escapes (MSH-20 "2.3", HL7 v2.5 §2.7.2)', () => {
    const bytes = Buffer.concat([ascii(adt('~ISO IR87', '').replace('JPN|~ISO IR87', 'JPN|~ISO IR87||2.3').slice(0, -1)),
      ascii('\\M2442\\'), hex('3b334544'), ascii('\\C2842\\^\\M2442\\'), hex('4240 4f3a'), ascii('\\C2842\\\r')]);
    const decoded = decodeHl7(bytes);
    assert.equal(Hl7Message.parse(decoded.text).get('PID-5-1'), '山田');
    assert.equal(Hl7Message.parse(decoded.text).get('PID-5-2'), '太郎');
  });

  it('replaces undecodable bytes with U+FFFD and says so, without failing', () => {
    const latin = Buffer.concat([ascii(adt('', '').slice(0, -1)), hex('e9 0d')]);
    const decoded = decodeHl7(latin);
    assert.match(decoded.text, /\|\ufffd\r$/);
    assert.match(decoded.warnings.join(' '), /undecodable/);
    const badUtf8 = Buffer.concat([ascii(adt('UNICODE UTF-8', '').slice(0, -1)), hex('e5 b1 0d')]);
    assert.match(decodeHl7(badUtf8).warnings.join(' '), /Invalid UTF-8/);
    const unknownEsc = Buffer.concat([ascii(adt('~ISO IR87', '').slice(0, -1)), hex('1b2441 2121 1b2842 0d')]);
    assert.match(decodeHl7(unknownEsc).warnings.join(' '), /unknown ISO 2022 escape/);
  });
});

describe('Shift_JIS (not in table 0211, sent by some Windows systems)', () => {
  // 表 is 95 5C and ソ 83 5C in Shift_JIS: the second byte is "\", the HL7 escape character.
  const msg = adt('SHIFT_JIS', '表^ソウタ');

  it('round-trips with the second byte 5C intact', () => {
    const bytes = encodeHl7(msg, ['SHIFT_JIS']);
    assert.ok(bytes.includes(hex('955c')) && bytes.includes(hex('835c')));
    const m = Hl7Message.parse(decodeHl7(bytes).text);
    assert.equal(m.get('PID-5-1'), '表');
    assert.equal(m.get('PID-5-2'), 'ソウタ');
  });

  it('can be assumed for a facility that declares the wrong charset', () => {
    const mislabelled = Buffer.from(Encoding.convert(Encoding.stringToCode(adt('~ISO IR87', '表^ソウタ')), { to: 'SJIS', from: 'UNICODE' }) as number[]);
    const m = Hl7Message.parse(decodeHl7(mislabelled, { assumeCharacterSet: ['SHIFT_JIS'] }).text);
    assert.equal(m.get('PID-5-1'), '表');
  });
});

describe('charset model and errors', () => {
  it('understands spelling variants of MSH-18 terms', () => {
    assert.equal(charsetModel(['ISO_IR 87']).jisx0208, true);
    assert.equal(charsetModel(['iso ir87']).jisx0208, true);
    assert.equal(charsetModel(['ISO 2022 IR 159']).jisx0212, true);
    assert.equal(charsetModel([]).encoding, 'ascii');
    assert.equal(charsetModel(['ASCII']).encoding, 'ascii');
    assert.equal(charsetModel(['UNICODE UTF-8']).encoding, 'utf-8');
    assert.deepEqual(charsetModel(['8859/1', 'GB 18030-2000']).unsupported, ['8859/1', 'GB 18030-2000']);
  });

  it('refuses unknown terms, non-HL7 bytes and ESC in text', () => {
    assert.throws(() => decodeHl7(ascii(adt('8859/1', 'x'))), (e: unknown) => e instanceof Hl7CharsetError && e.reason === 'unsupported-charset' && e.location === 'MSH-18');
    assert.throws(() => decodeHl7(ascii('PID|1')), (e: unknown) => e instanceof Hl7CharsetError && e.reason === 'not-hl7');
    assert.throws(() => encodeHl7('a\u001bb', ['', 'ISO IR87']), /ESC/);
    assert.throws(() => encodeHl7('山', []), (e: unknown) => e instanceof Hl7CharsetError && e.reason === 'unencodable');
    assert.throws(() => encodeHl7('a\ud800', ['UNICODE UTF-8']), /lone surrogate/);
  });

  it('skips a UTF-8 byte order mark before MSH', () => {
    const text = adt('UNICODE UTF-8', '山田^太郎');
    const decoded = decodeHl7(Buffer.concat([hex('efbbbf'), Buffer.from(text, 'utf8')]));
    assert.equal(decoded.text, text);
  });
});

describe('parseHl7Bytes (index)', () => {
  it('decodes per MSH-18 and parses in one step, reading \\X..\\ data in a UTF-8 message as UTF-8', async () => {
    const { parseHl7Bytes } = await import('./index.ts');
    const { message, decoded } = parseHl7Bytes(Buffer.from(adt('UNICODE UTF-8', '山田^\\XE5A4AA\\郎'), 'utf8'));
    assert.equal(message.get('PID-5-2'), '太郎');
    assert.equal(decoded.model.encoding, 'utf-8');
  });

  it('finds MSH-18 past Shift_JIS kanji whose second byte is "|" when the facility is configured to Shift_JIS', async () => {
    const { parseHl7Bytes } = await import('./index.ts');
    const text = adt('SHIFT_JIS', 'ポ^太郎', 'ポプラ病院'); // ポ is 83 7C in Shift_JIS
    const bytes = encodeHl7(text, ['SHIFT_JIS']);
    assert.ok(bytes.includes(hex('837c')));
    assert.notDeepEqual(sniffHeader(bytes).characterSet, ['SHIFT_JIS']);
    const { message } = parseHl7Bytes(bytes, { assumeCharacterSet: ['SHIFT_JIS'] });
    assert.equal(message.header.sendingFacility, 'ポプラ病院');
    assert.equal(message.get('PID-5-1'), 'ポ');
  });
});
