/**
 * The attributes the index keeps for each instance, decoded from the raw element bytes
 * with the object's Specific Character Set (PS3.5 §6.1, Annex H).
 */
import { decodeText, parseSpecificCharacterSet, personNameGroups } from './charsets.ts';
import type { DatasetScan, RawElement } from './parse.ts';

/** Tags read for the index. */
export const T = {
  SpecificCharacterSet: 0x00080005,
  SOPClassUID: 0x00080016,
  SOPInstanceUID: 0x00080018,
  StudyDate: 0x00080020,
  StudyTime: 0x00080030,
  AccessionNumber: 0x00080050,
  Modality: 0x00080060,
  InstitutionName: 0x00080080,
  ReferringPhysicianName: 0x00080090,
  StudyDescription: 0x00081030,
  SeriesDescription: 0x0008103e,
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  IssuerOfPatientID: 0x00100021,
  PatientBirthDate: 0x00100030,
  PatientSex: 0x00100040,
  BodyPartExamined: 0x00180015,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  StudyID: 0x00200010,
  SeriesNumber: 0x00200011,
  InstanceNumber: 0x00200013,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
} as const;

/** The set of tags {@link scanDataset} should collect for the index. */
export const INDEX_TAGS: ReadonlySet<number> = new Set(Object.values(T));

/** A person name with its three component groups, as decoded. */
export interface PersonName {
  alphabetic: string;
  ideographic: string;
  phonetic: string;
}

/** Decoded index attributes of one instance. */
export interface InstanceAttributes {
  specificCharacterSet: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientId: string;
  issuerOfPatientId: string;
  patientName: PersonName;
  patientBirthDate: string;
  patientSex: string;
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  studyId: string;
  studyDescription: string;
  referringPhysician: PersonName;
  institutionName: string;
  modality: string;
  seriesNumber: number | null;
  seriesDescription: string;
  bodyPartExamined: string;
  instanceNumber: number | null;
  rows: number | null;
  columns: number | null;
  numberOfFrames: number | null;
}

/**
 * Decodes the index attributes from a scanned data set.
 * @throws Error naming the first missing mandatory UID
 */
export function extractAttributes(scan: DatasetScan): InstanceAttributes {
  const el = scan.elements;
  const charsetRaw = el.get(T.SpecificCharacterSet);
  const charsetText = charsetRaw ? charsetRaw.value.toString('latin1').replace(/[\0 ]+$/, '') : '';
  const charsets = parseSpecificCharacterSet(charsetText);
  const text = (tag: number): string => {
    const e = el.get(tag);
    return e ? decodeText(e.value, charsets, e.vr === 'UN' ? 'LO' : e.vr).trim() : '';
  };
  const ascii = (tag: number): string => {
    const e = el.get(tag);
    return e ? e.value.toString('latin1').replace(/[\0 ]+$/, '').trim() : '';
  };
  const integer = (tag: number): number | null => {
    const s = ascii(tag).split('\\')[0]?.trim() ?? '';
    if (!/^[+-]?\d+$/.test(s)) return null;
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : null;
  };
  const us = (tag: number): number | null => {
    const e: RawElement | undefined = el.get(tag);
    if (!e || e.value.length < 2) return null;
    return scan.bigEndian ? e.value.readUInt16BE(0) : e.value.readUInt16LE(0);
  };
  const pn = (tag: number): PersonName => personNameGroups(text(tag));
  return {
    specificCharacterSet: charsetText,
    sopClassUid: ascii(T.SOPClassUID),
    sopInstanceUid: ascii(T.SOPInstanceUID),
    studyInstanceUid: ascii(T.StudyInstanceUID),
    seriesInstanceUid: ascii(T.SeriesInstanceUID),
    patientId: text(T.PatientID),
    issuerOfPatientId: text(T.IssuerOfPatientID),
    patientName: pn(T.PatientName),
    patientBirthDate: ascii(T.PatientBirthDate),
    patientSex: ascii(T.PatientSex),
    studyDate: ascii(T.StudyDate),
    studyTime: ascii(T.StudyTime),
    accessionNumber: text(T.AccessionNumber),
    studyId: text(T.StudyID),
    studyDescription: text(T.StudyDescription),
    referringPhysician: pn(T.ReferringPhysicianName),
    institutionName: text(T.InstitutionName),
    modality: ascii(T.Modality),
    seriesNumber: integer(T.SeriesNumber),
    seriesDescription: text(T.SeriesDescription),
    bodyPartExamined: ascii(T.BodyPartExamined),
    instanceNumber: integer(T.InstanceNumber),
    rows: us(T.Rows),
    columns: us(T.Columns),
    numberOfFrames: integer(T.NumberOfFrames),
  };
}

/** Joins a person name's groups back into DICOM form, dropping empty trailing groups. */
export function formatPersonName(pn: PersonName): string {
  return [pn.alphabetic, pn.ideographic, pn.phonetic].join('=').replace(/=+$/, '');
}
