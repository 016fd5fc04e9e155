import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkSsmix2Folders, formatSsmix2FileName, parseSsmix2FileName, ssmix2KeyPrefix, ssmix2RelativePath, type Ssmix2FileName } from './layout.ts';

describe('SS-MIX2 standardized storage layout', () => {
  it('parses and writes the file naming rule, and places the file by patient ID, date and data type', () => {
    const name = '99990010_-_ADT-00_999999999999999_20161028143312352_-_1';
    const parsed = parseSsmix2FileName(name) as Ssmix2FileName;
    assert.deepEqual(parsed, {
      patientId: '99990010', date: '-', dataType: 'ADT-00', orderNumber: '999999999999999', timestamp: '20161028143312352', department: '-', condition: '1',
    });
    assert.equal(formatSsmix2FileName(parsed), name);
    assert.equal(ssmix2RelativePath(parsed), `999/900/99990010/-/ADT-00/${name}`);
    const lab = parseSsmix2FileName('0123456789_20080126_OML-11_081251234567800_200802031630123_01_2') as Ssmix2FileName;
    assert.equal(ssmix2RelativePath(lab), '012/345/0123456789/20080126/OML-11/0123456789_20080126_OML-11_081251234567800_200802031630123_01_2');
    assert.equal(lab.condition, '2');
  });

  it('pads order numbers to 15 digits and takes the parts from the right (IDs with "_")', () => {
    assert.equal(formatSsmix2FileName({ patientId: 'A_1234567', date: '20240101', dataType: 'OMP-01', orderNumber: '42', timestamp: '20240101090000000', department: '01', condition: '1' }),
      'A_1234567_20240101_OMP-01_000000000000042_20240101090000000_01_1');
    assert.equal((parseSsmix2FileName('A_1234567_20240101_OMP-01_000000000000042_20240101090000000_01_1') as Ssmix2FileName).patientId, 'A_1234567');
  });

  it('names what is wrong with a bad file name', () => {
    const bad = (name: string): string => (parseSsmix2FileName(name) as { error: string }).error;
    assert.match(bad('README.txt'), /not an SS-MIX2 file name/);
    assert.match(bad('1234567_2024013_OML-11_000000000000001_20240101090000000_01_1'), /care date "2024013"/);
    assert.match(bad('1234567_20240131_XYZ_000000000000001_20240101090000000_01_1'), /"XYZ" is not a standardized storage data type/);
    assert.match(bad('1234567_20240131_OML-11_000000000000001_2024010109_01_1'), /timestamp/);
    assert.match(bad('1234567_20240131_OML-11_000000000000001_20240101090000000_01_3'), /condition flag "3"/);
  });

  it('checks the folders against the name, and keys items by the path without the condition flag', () => {
    const f = parseSsmix2FileName('1234567_20240131_OML-11_000000000000001_20240101090000000_01_1') as Ssmix2FileName;
    assert.equal(checkSsmix2Folders(['123', '456', '1234567', '20240131', 'OML-11'], f), undefined);
    assert.match(checkSsmix2Folders(['123', '456', '1234567', '20240130', 'OML-11'], f)!, /calls for 123\/456\/1234567\/20240131\/OML-11\//);
    const renamed = { ...f, condition: '2' as const };
    assert.equal(ssmix2KeyPrefix(f), ssmix2KeyPrefix(renamed));
    assert.equal(ssmix2KeyPrefix(f), '123/456/1234567/20240131/OML-11/1234567_20240131_OML-11_000000000000001_20240101090000000_01');
  });
});
