/**
 * FHIR R4 interface (JP Core): exam orders as ServiceRequest. Other modules import from here.
 */
import type { OrderDetail } from '../../../shared/api.ts';
import type { FhirOrderView } from './servicerequest.ts';

export { fhirPlugin, FHIR_JSON, type FhirRouteOptions } from './routes.ts';
export { capabilityStatement, FHIR_VERSION } from './capability.ts';
export { FhirError, operationOutcome, type FhirIssue } from './outcome.ts';
export {
  JJ1017_SYSTEM, JP_PATIENT_PROFILE, JP_SERVICE_REQUEST_PROFILE, fhirDateTimeToIso, orderToServiceRequest, serviceRequestOfBundle, serviceRequestToOrder,
  type FhirOrderView,
} from './servicerequest.ts';

/**
 * The FHIR view of an order as the orders service shows it (`GET /api/orders/:id`): its version
 * is the ETag, and lastUpdated is when that version came to be (the first history entry of the
 * current version). Entries that leave the version as it is (a stale message, a study linked:
 * in progress is still `active`) do not move lastUpdated, so it changes with versionId only.
 */
export function fhirViewOfOrder(o: OrderDetail): FhirOrderView {
  const ofVersion = o.history.filter((e) => e.version === o.version).map((e) => e.receivedAt).filter(Boolean).sort();
  const times = o.history.map((e) => e.receivedAt).filter(Boolean).sort();
  return {
    id: o.id,
    facilityId: o.facilityId,
    status: o.status,
    versionId: String(o.version),
    lastUpdated: ofVersion[0] ?? times.at(-1) ?? o.requestedAt,
    patient: { patientId: o.patient.patientId, issuer: o.patient.issuer, name: o.patient.name, sex: o.patient.sex, birthDate: o.patient.birthDate },
    placerOrderNumber: o.placerOrderNumber,
    ...(o.fillerOrderNumber ? { fillerOrderNumber: o.fillerOrderNumber } : {}),
    accessionNumber: o.accessionNumber,
    priority: o.priority,
    ...(o.jj1017?.code ? { jj1017: o.jj1017.code } : {}),
    modality: o.modality,
    bodyPart: o.bodyPart,
    procedureText: o.procedureText,
    reason: o.reason,
    clinicalNotes: o.clinicalNotes,
    contrast: o.contrast,
    requester: o.requester,
    requestedAt: o.requestedAt,
    ...(o.scheduledAt ? { scheduledAt: o.scheduledAt } : {}),
  };
}
export { diagnosticReportBundle, diagnosticReportStatus, readConfirmationOfCommunication, type DiagnosticReportBundleOptions, type FhirReadConfirmation } from './diagnostic-report.ts';
export { FHIR_JSON_TYPE, sendFhir, useFhirJson } from './plugin.ts';
