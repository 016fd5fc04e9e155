/**
 * Storage SOP classes accepted by the C-STORE SCP: every class of PS3.4 Annex B. The
 * known list comes from dcmjs-dimse; any other UID under the storage roots of PS3.6
 * (1.2.840.10008.5.1.4.1.1.x, and 1.2.840.10008.5.1.4.34.x for RT) is accepted too, so a
 * newly defined storage class is stored without a software update.
 */
import dimse from 'dcmjs-dimse';

const KNOWN = new Set<string>(Object.values(dimse.constants.StorageClass as Record<string, string>));

/** Whether the abstract syntax is a storage SOP class. */
export function isStorageSopClass(uid: string): boolean {
  return KNOWN.has(uid) || uid.startsWith('1.2.840.10008.5.1.4.1.1.') || uid.startsWith('1.2.840.10008.5.1.4.34.');
}

/** Query/Retrieve information models (PS3.4 C.6.1, C.6.2) and their DIMSE services. */
export const QR = {
  PatientRootFind: '1.2.840.10008.5.1.4.1.2.1.1',
  PatientRootMove: '1.2.840.10008.5.1.4.1.2.1.2',
  PatientRootGet: '1.2.840.10008.5.1.4.1.2.1.3',
  StudyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  StudyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  StudyRootGet: '1.2.840.10008.5.1.4.1.2.2.3',
} as const;

/** The information model of a Query/Retrieve SOP class. */
export type QrModel = 'patient' | 'study';

const QR_CLASSES: ReadonlyMap<string, { model: QrModel; service: 'find' | 'move' | 'get' }> = new Map([
  [QR.PatientRootFind, { model: 'patient', service: 'find' }],
  [QR.PatientRootMove, { model: 'patient', service: 'move' }],
  [QR.PatientRootGet, { model: 'patient', service: 'get' }],
  [QR.StudyRootFind, { model: 'study', service: 'find' }],
  [QR.StudyRootMove, { model: 'study', service: 'move' }],
  [QR.StudyRootGet, { model: 'study', service: 'get' }],
]);

/** The model and service of a supported Query/Retrieve SOP class, or undefined. */
export function queryRetrieveClass(uid: string): { model: QrModel; service: 'find' | 'move' | 'get' } | undefined {
  return QR_CLASSES.get(uid);
}
