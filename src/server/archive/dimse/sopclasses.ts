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
