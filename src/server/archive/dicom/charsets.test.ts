import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText, encodeText, parseSpecificCharacterSet, personNameGroups } from './charsets.ts';

/** Bytes from a hex dump such as "59 61 1b 24 42". */
const hex = (dump: string): Buffer => Buffer.from(dump.replace(/\s+/g, ''), 'hex');

describe('parseSpecificCharacterSet', () => {
  it('returns [] for a missing or empty attribute (default repertoire)', () => {
    assert.deepEqual(parseSpecificCharacterSet(undefined), []);
    assert.deepEqual(parseSpecificCharacterSet(''), []);
    assert.deepEqual(parseSpecificCharacterSet('  '), []);
  });

  it('splits Values, trims padding and keeps an empty Value 1', () => {
    assert.deepEqual(parseSpecificCharacterSet('ISO_IR 100 '), ['ISO_IR 100']);
    assert.deepEqual(parseSpecificCharacterSet('\\ISO 2022 IR 87'), ['', 'ISO 2022 IR 87']);
    assert.deepEqual(parseSpecificCharacterSet('ISO 2022 IR 13\\ISO 2022 IR 87 '), ['ISO 2022 IR 13', 'ISO 2022 IR 87']);
  });
});

describe('PS3.5 Annex H examples', () => {
  // PS3.5 H.3.1: Value 1 empty (ASCII in G0), kanji/hiragana via ESC $ B, back with ESC ( B.
  // Note "やま" = 24 64 24 5e: the 0x5e inside a two-byte pair is not a "^" delimiter.
  const h31Sets = parseSpecificCharacterSet('\\ISO 2022 IR 87');
  const h31Bytes = hex(`59 61 6d 61 64 61 5e 54 61 72 6f 75 3d 1b 24 42 3b 33 45 44 1b 28 42 5e 1b 24 42 42 40 4f 3a 1b 28 42
    3d 1b 24 42 24 64 24 5e 24 40 1b 28 42 5e 1b 24 42 24 3f 24 6d 24 26 1b 28 42`);
  const h31Text = 'Yamada^Tarou=山田^太郎=やまだ^たろう';

  it('H.3.1 decodes', () => {
    assert.equal(decodeText(h31Bytes, h31Sets, 'PN'), h31Text);
  });

  it('H.3.1 encodes to exactly the standard bytes', () => {
    assert.deepEqual(encodeText(h31Text, h31Sets, 'PN'), h31Bytes);
  });

  // PS3.5 H.3.2: Value 1 is IR 13 (JIS X 0201 Roman in G0, katakana in G1): the half-width
  // katakana need no escape, and G0 returns to JIS X 0201 Roman with ESC ( J.
  const h32Sets = parseSpecificCharacterSet('ISO 2022 IR 13\\ISO 2022 IR 87');
  const h32Bytes = hex(`d4 cf c0 de 5e c0 db b3 3d 1b 24 42 3b 33 45 44 1b 28 4a 5e 1b 24 42 42 40 4f 3a 1b 28 4a
    3d 1b 24 42 24 64 24 5e 24 40 1b 28 4a 5e 1b 24 42 24 3f 24 6d 24 26 1b 28 4a`);
  const h32Text = 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう';

  it('H.3.2 decodes', () => {
    assert.equal(decodeText(h32Bytes, h32Sets, 'PN'), h32Text);
  });

  it('H.3.2 encodes to exactly the standard bytes', () => {
    assert.deepEqual(encodeText(h32Text, h32Sets, 'PN'), h32Bytes);
  });

  it('H.3.1 bytes under the IR 13 sets return to ESC ( J, not ESC ( B', () => {
    const encoded = encodeText(h31Text, h32Sets, 'PN');
    assert.ok(!encoded.includes(hex('1b 28 42')));
    assert.equal(decodeText(encoded, h32Sets, 'PN'), h31Text);
  });
});

describe('JIS X 0212 (ISO 2022 IR 159)', () => {
  const sets = ['', 'ISO 2022 IR 87', 'ISO 2022 IR 159'];

  it('decodes and encodes a JIS X 0212-only kanji with ESC $ ( D', () => {
    // 丂 U+4E02 is JIS X 0212 0x3021; not in JIS X 0208.
    const bytes = hex('1b 24 28 44 30 21 1b 28 42 20');
    assert.equal(decodeText(bytes, sets, 'LO'), '丂');
    assert.deepEqual(encodeText('丂', sets, 'LO'), bytes);
  });

  it('prefers JIS X 0208 when switching between the two sets', () => {
    // 山 is in JIS X 0208 (0x3B33); é only in JIS X 0212 (0x2B31).
    const bytes = hex('1b 24 42 3b 33 1b 24 28 44 2b 31 1b 28 42');
    assert.deepEqual(encodeText('山é', sets, 'LO'), bytes);
    assert.equal(decodeText(bytes, sets, 'LO'), '山é');
  });

  it('refuses a JIS X 0212 character when only IR 87 is declared', () => {
    assert.throws(() => encodeText('丂', ['', 'ISO 2022 IR 87'], 'LO'), /U\+4E02/);
  });
});

describe('JIS X 0208 Unicode mapping', () => {
  const sets = ['', 'ISO 2022 IR 87'];

  it('decodes 1-33 as WAVE DASH and 1-61 as MINUS SIGN (JIS X 0221)', () => {
    assert.equal(decodeText(hex('1b 24 42 21 41 21 5d 1b 28 42'), sets, 'LO'), '\u301c\u2212');
  });

  it('accepts the Windows FULLWIDTH TILDE as an alias of WAVE DASH when encoding', () => {
    const bytes = hex('1b 24 42 21 41 1b 28 42');
    assert.deepEqual(encodeText('\u301c', sets, 'LO'), bytes);
    assert.deepEqual(encodeText('\uff5e', sets, 'LO'), bytes);
  });

  it('does not write NEC vendor row 13 characters', () => {
    assert.equal(decodeText(hex('1b 24 42 2d 21 1b 28 42'), sets, 'LO'), '①'); // lenient read
    assert.throws(() => encodeText('①', sets, 'LO'), /U\+2460/);
  });
});

describe('single-byte and UTF-8 character sets', () => {
  it('ISO_IR 13: half-width katakana in 0xA1-0xDF', () => {
    const bytes = hex('b1 b2 b3 5e ca dd'); // ｱｲｳ^ﾊﾝ
    assert.equal(decodeText(bytes, ['ISO_IR 13'], 'PN'), 'ｱｲｳ^ﾊﾝ');
    assert.deepEqual(encodeText('ｱｲｳ^ﾊﾝ', ['ISO_IR 13'], 'PN'), bytes);
    assert.equal(decodeText(hex('a1 df'), ['ISO_IR 13'], 'SH'), '\uff61\uff9f');
  });

  it('ISO_IR 13: JIS X 0201 Roman 0x5C / 0x7E are read as ASCII "\\" and "~"', () => {
    assert.equal(decodeText(hex('41 5c 7e'), ['ISO_IR 13'], 'LO'), 'A\\~');
  });

  it('ISO_IR 13 without code extensions cannot encode kanji', () => {
    assert.throws(() => encodeText('山田', ['ISO_IR 13'], 'PN'), /Cannot encode character "山" \(U\+5C71\)/);
  });

  it('ISO_IR 192: UTF-8 with kanji', () => {
    const text = 'Yamada^Taro=山田^太郎'; // 25 bytes in UTF-8, padded with one space
    const bytes = Buffer.from(`${text} `, 'utf8');
    assert.equal(bytes.length, 26);
    assert.equal(decodeText(bytes, ['ISO_IR 192'], 'PN'), text);
    assert.deepEqual(encodeText(text, ['ISO_IR 192'], 'PN'), bytes);
  });

  it('ISO_IR 100: Latin-1 é', () => {
    const bytes = hex('52 65 6e e9 65 20'); // "Renée" + pad
    assert.equal(decodeText(bytes, ['ISO_IR 100'], 'PN'), 'Renée');
    assert.deepEqual(encodeText('Renée', ['ISO_IR 100'], 'PN'), bytes);
    assert.throws(() => encodeText('山', ['ISO_IR 100'], 'PN'), /U\+5C71/);
  });

  it('default repertoire accepts ASCII only', () => {
    assert.deepEqual(encodeText('ABC', [], 'CS'), Buffer.from('ABC ', 'latin1'));
    assert.equal(decodeText(Buffer.from('ABC ', 'latin1'), [], 'CS'), 'ABC');
    assert.throws(() => encodeText('é', [], 'LO'), /U\+00E9/);
  });
});

describe('escape state resets (PS3.5 §6.1.2.5.3)', () => {
  it('multi-valued LO: returns to ASCII before each "\\" and at the end', () => {
    const sets = ['', 'ISO 2022 IR 87'];
    const bytes = hex('1b 24 42 3b 33 45 44 1b 28 42 5c 1b 24 42 42 40 4f 3a 1b 28 42 20');
    assert.deepEqual(encodeText('山田\\太郎', sets, 'LO'), bytes);
    assert.equal(decodeText(bytes, sets, 'LO'), '山田\\太郎');
  });

  it('a reader resets G1 at "\\": a second designation is needed after the delimiter', () => {
    const sets = ['ISO 2022 IR 6', 'ISO 2022 IR 13'];
    // ESC ) I then ｱ, "\", then 0xB1 with G1 back to the Value-1 state (none) => U+FFFD.
    assert.equal(decodeText(hex('1b 29 49 b1 5c b1'), sets, 'LO'), 'ｱ\\\ufffd');
    const encoded = encodeText('ｱ\\ｱ', sets, 'LO');
    assert.deepEqual(encoded, hex('1b 29 49 b1 5c 1b 29 49 b1 20'));
    assert.equal(decodeText(encoded, sets, 'LO'), 'ｱ\\ｱ');
  });

  it('LT: returns to ASCII before CR LF; backslash is data, not a delimiter', () => {
    const sets = ['', 'ISO 2022 IR 87'];
    const bytes = hex('1b 24 42 3b 33 1b 28 42 0d 0a 1b 24 42 45 44 1b 28 42 5c 20');
    assert.deepEqual(encodeText('山\r\n田\\', sets, 'LT'), bytes);
    assert.equal(decodeText(bytes, sets, 'LT'), '山\r\n田\\');
  });

  it('switches back to ASCII for a space between kanji', () => {
    const sets = ['', 'ISO 2022 IR 87'];
    assert.deepEqual(encodeText('山 田', sets, 'LO'), hex('1b 24 42 3b 33 1b 28 42 20 1b 24 42 45 44 1b 28 42 20'));
  });
});

describe('padding', () => {
  it('trims trailing spaces and the UI trailing NUL', () => {
    assert.equal(decodeText(Buffer.from('1.2.3\0', 'latin1'), [], 'UI'), '1.2.3');
    assert.equal(decodeText(Buffer.from('DOE^JOHN  ', 'latin1'), [], 'PN'), 'DOE^JOHN');
    assert.equal(decodeText(Buffer.from(' lead', 'latin1'), [], 'LT'), ' lead');
  });

  it('pads to even length with space, or NUL for UI', () => {
    assert.deepEqual(encodeText('1.2.3', [], 'UI'), Buffer.from('1.2.3\0', 'latin1'));
    assert.deepEqual(encodeText('AB', [], 'SH'), Buffer.from('AB', 'latin1'));
    assert.deepEqual(encodeText('ABC', [], 'SH'), Buffer.from('ABC ', 'latin1'));
  });
});

describe('invalid input', () => {
  const sets = ['', 'ISO 2022 IR 87'];

  it('decodes undecodable bytes to U+FFFD without throwing', () => {
    assert.equal(decodeText(hex('41 ff 42'), [], 'LO'), 'A\ufffdB'); // no G1 set
    assert.equal(decodeText(hex('1b 24 42 3b'), sets, 'LO'), '\ufffd'); // half a pair
    assert.equal(decodeText(hex('1b 24 42 29 21 1b 28 42'), sets, 'LO'), '\ufffd'); // empty row 9
    assert.equal(decodeText(hex('41 1b 24'), sets, 'LO'), 'A\ufffd'); // truncated escape
    assert.equal(decodeText(hex('c3 28'), ['ISO_IR 192'], 'LO'), '\ufffd(');
    assert.equal(decodeText(hex('41 80'), ['ISO_IR 100'], 'LO'), 'A\ufffd');
  });

  it('treats an unknown designation as unreadable until the next reset', () => {
    // ESC $ A (GB 2312 to G0) is not declared/supported: its pair is not misread as ASCII.
    assert.equal(decodeText(hex('1b 24 41 30 21 5e 41'), ['', 'ISO 2022 IR 87'], 'LO'), '\ufffd'.repeat(5));
    assert.equal(decodeText(hex('1b 24 41 30 21 0d 41'), ['', 'ISO 2022 IR 87'], 'LT'), '\ufffd\ufffd\ufffd\rA');
  });

  it('throws a clear error for unrepresentable characters and unsupported terms', () => {
    assert.throws(() => encodeText('Yamada=😀', sets, 'PN'), /Cannot encode character "😀" \(U\+1F600\)/);
    assert.throws(() => encodeText('é', sets, 'PN'), /U\+00E9/);
    assert.throws(() => encodeText('A', ['', 'ISO 2022 IR 149'], 'PN'), /Unsupported.*ISO 2022 IR 149/);
    assert.throws(() => encodeText('\u001b', sets, 'LO'), /ESC/);
    assert.throws(() => encodeText('\ud800', ['ISO_IR 192'], 'LO'), /surrogate/);
  });
});

describe('personNameGroups', () => {
  it('splits one, two and three component groups', () => {
    assert.deepEqual(personNameGroups('Yamada^Tarou'), { alphabetic: 'Yamada^Tarou', ideographic: '', phonetic: '' });
    assert.deepEqual(personNameGroups('Yamada^Tarou=山田^太郎'), { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: '' });
    assert.deepEqual(personNameGroups('Yamada^Tarou=山田^太郎=やまだ^たろう'),
      { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' });
    assert.deepEqual(personNameGroups('=山田^太郎'), { alphabetic: '', ideographic: '山田^太郎', phonetic: '' });
  });
});
