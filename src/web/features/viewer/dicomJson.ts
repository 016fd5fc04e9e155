/**
 * Reading DICOM JSON (PS3.18 Annex F) as the QIDO-RS and WADO-RS metadata answers give it:
 * `{ "00100010": { "vr": "PN", "Value": [ { "Alphabetic": ..., "Ideographic": ... } ] } }`.
 * Only attributes travel to the browser this way, never pixel data (S6): Pixel Data comes
 * as a `BulkDataURI`, which the viewer never follows.
 */

/** One attribute of a DICOM JSON object. */
export interface DicomJsonElement {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

/** A DICOM JSON object (one study, series or instance). */
export type DicomJson = Record<string, DicomJsonElement>;

/** The tags the viewer reads, as 8-digit upper-case hex (PS3.18 F.2.1.1). */
export const TAG = {
  SpecificCharacterSet: '00080005',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  InstitutionName: '00080080',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  SliceThickness: '00180050',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  FrameOfReferenceUID: '00200052',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  PhotometricInterpretation: '00280004',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
  FrameTime: '00181063',
  CineRate: '00180040',
  SharedFunctionalGroupsSequence: '52009229',
  PerFrameFunctionalGroupsSequence: '52009230',
  PlanePositionSequence: '00209113',
  PlaneOrientationSequence: '00209116',
  PixelMeasuresSequence: '00289110',
  FrameVOILUTSequence: '00289132',
  PixelData: '7FE00010',
} as const;

/** The values of an attribute (empty when absent or empty). */
export function values(ds: DicomJson | undefined, tag: string): unknown[] {
  return ds?.[tag]?.Value ?? [];
}

/** The first value as text, or undefined. */
export function str(ds: DicomJson | undefined, tag: string): string | undefined {
  const v = values(ds, tag)[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Every value as text (multi-valued CS such as Modalities in Study). */
export function strs(ds: DicomJson | undefined, tag: string): string[] {
  return values(ds, tag).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String);
}

/** The first value as a number (DS and IS may come as numbers or as decimal strings). */
export function num(ds: DicomJson | undefined, tag: string): number | undefined {
  return nums(ds, tag)[0];
}

/** Every value as a number; values that are not numbers are left out. */
export function nums(ds: DicomJson | undefined, tag: string): number[] {
  const out: number[] = [];
  for (const v of values(ds, tag)) {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (Number.isFinite(n)) out.push(n);
  }
  return out;
}

/** The items of a sequence attribute. */
export function items(ds: DicomJson | undefined, tag: string): DicomJson[] {
  return values(ds, tag).filter((v): v is DicomJson => typeof v === 'object' && v !== null);
}

/** A person name in its three component groups (PS3.5 §6.2.1), each with `^` between components. */
export interface PersonName {
  alphabetic: string;
  ideographic: string;
  phonetic: string;
}

/** The person name of an attribute; empty groups are empty strings. */
export function personName(ds: DicomJson | undefined, tag: string): PersonName {
  const v = values(ds, tag)[0];
  if (v && typeof v === 'object') {
    const p = v as Record<string, unknown>;
    const text = (k: string): string => (typeof p[k] === 'string' ? (p[k] as string) : '');
    return { alphabetic: text('Alphabetic'), ideographic: text('Ideographic'), phonetic: text('Phonetic') };
  }
  if (typeof v === 'string') {
    const [alphabetic = '', ideographic = '', phonetic = ''] = v.split('=');
    return { alphabetic, ideographic, phonetic };
  }
  return { alphabetic: '', ideographic: '', phonetic: '' };
}

/** One component group for display: `Yamada^Tarou` becomes `Yamada Tarou`. */
export function formatNameGroup(group: string): string {
  return group.split('^').map((part) => part.trim()).filter(Boolean).join(' ');
}

/** `20240131` as `2024/01/31` (Japanese) or `2024-01-31`; anything else unchanged. */
export function formatDicomDate(value: string | undefined, language: string): string {
  if (!value) return '';
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  if (!m) return value;
  const sep = language === 'ja' ? '/' : '-';
  return `${m[1]}${sep}${m[2]}${sep}${m[3]}`;
}

/** `083015.123` as `08:30:15`; anything else unchanged. */
export function formatDicomTime(value: string | undefined): string {
  if (!value) return '';
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(value.trim());
  if (!m) return value;
  return [m[1], m[2] ?? '00', m[3] ?? '00'].join(':');
}
