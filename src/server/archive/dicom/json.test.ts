import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetToJson } from './json.ts';
import { generateSeries, SAMPLE_PATIENTS } from './synthetic.ts';
import { TS } from './uids.ts';

const uri = (tag: string) => `bulk/${tag}`;

for (const [label, ts] of [['explicit VR little endian', TS.ExplicitVRLittleEndian], ['implicit VR little endian', TS.ImplicitVRLittleEndian], ['explicit VR big endian', TS.ExplicitVRBigEndian], ['deflated', TS.DeflatedExplicitVRLittleEndian]] as const) {
  test(`DICOM JSON of a Japanese CT slice (${label}) follows PS3.18 Annex F`, () => {
    const [inst] = [...generateSeries({ modality: 'CT', count: 1, rows: 64, columns: 64, transferSyntax: ts, charset: 'ISO 2022 IR 13\\ISO 2022 IR 87', patient: SAMPLE_PATIENTS[1]! })];
    const json = datasetToJson(inst!.bytes, { bulkDataUri: uri });
    assert.deepEqual(json['00100010'], { vr: 'PN', Value: [{ Alphabetic: 'Suzuki^Hanako', Ideographic: '鈴木^花子', Phonetic: 'ｽｽﾞｷ^ﾊﾅｺ' }] }, 'three name groups decoded from ISO 2022');
    assert.deepEqual(json['00080005'], { vr: 'CS', Value: ['ISO 2022 IR 13', 'ISO 2022 IR 87'] });
    assert.deepEqual(json['00100020'], { vr: 'LO', Value: ['00023456'] });
    assert.deepEqual(json['0020000D'], { vr: 'UI', Value: [inst!.studyInstanceUid] });
    assert.deepEqual(json['00080018'], { vr: 'UI', Value: [inst!.sopInstanceUid] });
    assert.deepEqual(json['00280010'], { vr: 'US', Value: [64] }, 'US is a JSON number');
    assert.equal(typeof (json['00281053']?.Value?.[0]), 'number', 'DS rescale slope is a JSON number');
    assert.deepEqual(json['7FE00010'], { vr: ts === TS.ImplicitVRLittleEndian ? 'OW' : json['7FE00010']!.vr, BulkDataURI: 'bulk/7FE00010' }, 'pixel data is bulk data');
    assert.ok(!('00020010' in json), 'file meta group is not part of the data set');
    for (const [tag, a] of Object.entries(json)) {
      assert.match(tag, /^[0-9A-F]{8}$/);
      assert.match(a.vr, /^[A-Z]{2}$/);
    }
  });
}

test('DICOM JSON: multi-valued strings, numbers, empty values', () => {
  const [inst] = [...generateSeries({ modality: 'CT', count: 1, rows: 32, columns: 32 })];
  const json = datasetToJson(inst!.bytes, { bulkDataUri: uri });
  const imageType = json['00080008']!.Value as string[];
  assert.ok(imageType.length >= 2 && imageType[0] === 'ORIGINAL', 'backslash splits values');
  const spacing = json['00280030']!.Value as number[];
  assert.equal(spacing.length, 2);
  assert.ok(spacing.every((n) => typeof n === 'number' && n > 0));
});
