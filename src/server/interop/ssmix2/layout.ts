/**
 * The SS-MIX2 standardized storage layout (SS-MIX2 標準化ストレージ 構成の説明と構築ガイドライン
 * Ver.1.2, 「フォルダ構成」「ファイル命名規則」):
 *
 *   <root>/<patient ID 1-3>/<patient ID 4-6>/<patient ID>/<care date YYYYMMDD or ->/<data type>/<file>
 *
 * and the file name
 *
 *   <patient ID>_<care date or ->_<data type>_<order no.>_<timestamp>_<department or ->_<condition flag>
 *
 * - order no.: 15 characters (ORC-2 placer order number); 999999999999999 when the data has none
 *   (ADT-00, ADT-61, PPR-01);
 * - timestamp: YYYYMMDDHHMMSSfff, when the file was written (発生日時; not MSH-7); files with
 *   fewer fraction digits occur and are read;
 * - department: 診療科コード (SS-MIX2 user-defined table 0069) or `-`;
 * - condition flag (コンディションフラグ): `1` the current data, `2` superseded by a newer file of the
 *   same patient, date, data type and order no. (renamed `*_1` to `*_2`), `0` deleted (renamed
 *   `*_1` to `*_0`); the guideline's index database (p.35) records both renames.
 *
 * Data types with no date (患者基本情報, アレルギー, 病名) live under the `-` folder. The patient ID is
 * not hashed; IDs shorter than six characters give shorter first folders.
 */
import { isClinicalDataType, type ClinicalDataType } from '../hl7/index.ts';

/** The condition flag: 1 current, 2 superseded by an update, 0 deleted. */
export type Ssmix2Condition = '0' | '1' | '2';

/** The parts of a standardized storage file name. */
export interface Ssmix2FileName {
  patientId: string;
  /** YYYYMMDD, or `-` for data without a care date. */
  date: string;
  /** e.g. `OML-11`. */
  dataType: string;
  /** 15 characters; `999999999999999` when there is no order. */
  orderNumber: string;
  /** YYYYMMDDHHMMSSfff. */
  timestamp: string;
  /** Department code or `-`. */
  department: string;
  condition: Ssmix2Condition;
}

/** The order number written when the data belongs to no order. */
export const NO_ORDER_NUMBER = '999999999999999';

/** Every data type of the standardized storage (SS-MIX2 構築ガイドライン Ver.1.2, 表「標準化ストレージ格納データ」). */
export const SSMIX2_DATA_TYPES: readonly string[] = Object.freeze([
  'ADT-00', 'ADT-01', 'ADT-12', 'ADT-21', 'ADT-22', 'ADT-31', 'ADT-32', 'ADT-41', 'ADT-42', 'ADT-51', 'ADT-52', 'ADT-61',
  'PPR-01', 'OMD', 'OMP-01', 'OMP-11', 'OMP-02', 'OMP-12', 'OML-01', 'OML-11', 'OMG-01', 'OMG-11', 'OMG-02', 'OMG-12', 'OMG-03', 'OMG-13',
]);

/** Whether a standardized storage data type carries clinical context Enkaku imports. */
export function isImportedDataType(dataType: string): dataType is ClinicalDataType {
  return isClinicalDataType(dataType);
}

/**
 * Parse a file name. Parts are taken from the right, so a patient ID that contains `_` still
 * parses. Returns a reason instead when the name does not follow the rule.
 */
export function parseSsmix2FileName(name: string): Ssmix2FileName | { error: string } {
  const parts = name.split('_');
  if (parts.length < 7) return { error: `"${name}" is not an SS-MIX2 file name (patientID_date_datatype_orderNo_timestamp_department_flag)` };
  const [date, dataType, orderNumber, timestamp, department, condition] = parts.slice(-6) as [string, string, string, string, string, string];
  const patientId = parts.slice(0, -6).join('_');
  const bad = (what: string): { error: string } => ({ error: `"${name}": ${what}` });
  if (!patientId) return bad('the patient ID is empty');
  if (date !== '-' && !/^\d{8}$/.test(date)) return bad(`the care date "${date}" is neither YYYYMMDD nor "-"`);
  if (!/^[A-Z]{3}-\d{2}$/.test(dataType) && !SSMIX2_DATA_TYPES.includes(dataType)) return bad(`"${dataType}" is not a standardized storage data type`);
  if (!/^[0-9A-Za-z]{1,15}$/.test(orderNumber)) return bad(`the order number "${orderNumber}" is not 1-15 letters or digits`);
  // 17 digits per the guideline; files written with fewer fraction digits (15) are seen in practice.
  if (!/^\d{14,17}$/.test(timestamp)) return bad(`the timestamp "${timestamp}" is not YYYYMMDDHHMMSS[fff]`);
  if (!department) return bad('the department code is empty (write "-" when there is none)');
  if (condition !== '0' && condition !== '1' && condition !== '2') return bad(`the condition flag "${condition}" is not 0, 1 or 2`);
  return { patientId, date, dataType, orderNumber, timestamp, department, condition };
}

/** The file name for its parts (the order number is zero-padded to 15 characters). */
export function formatSsmix2FileName(f: Ssmix2FileName): string {
  const order = f.orderNumber.padStart(15, '0');
  return [f.patientId, f.date, f.dataType, order, f.timestamp, f.department, f.condition].join('_');
}

/** The folders of a file below the root: `[ID 1-3, ID 4-6, ID, date, data type]`. */
export function ssmix2Folders(f: Pick<Ssmix2FileName, 'patientId' | 'date' | 'dataType'>): string[] {
  return [f.patientId.slice(0, 3), f.patientId.slice(3, 6), f.patientId, f.date, f.dataType];
}

/** The path of a file relative to the root, with `/` separators. */
export function ssmix2RelativePath(f: Ssmix2FileName): string {
  return [...ssmix2Folders(f), formatSsmix2FileName(f)].join('/');
}

/**
 * Check that a file sits in the folders its name calls for; returns the problem, if any.
 * @param folders the five folders between the root and the file
 */
export function checkSsmix2Folders(folders: readonly string[], f: Ssmix2FileName): string | undefined {
  const expected = ssmix2Folders(f);
  if (folders.length !== expected.length || folders.some((part, i) => part !== expected[i])) {
    return `the file is in ${folders.join('/')}/ but its name calls for ${expected.join('/')}/`;
  }
  return undefined;
}

/**
 * The stable start of the `sourceKey` of the items read from a file: its path relative to the
 * root without the condition flag, so renaming `*_1` to `*_2` or `*_0` keeps the key, and moving
 * the storage root does not change it. A newer version of the same order has a new timestamp,
 * hence new keys.
 */
export function ssmix2KeyPrefix(f: Ssmix2FileName): string {
  return ssmix2RelativePath(f).replace(/_[012]$/, '');
}
