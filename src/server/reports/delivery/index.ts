/**
 * Report delivery (W7, W8, A5): final report versions reach the requesting facility by the route
 * its contract names (HL7 v2.5 ORU^R01 over MLLP, FHIR R4 DiagnosticReport, or by hand with a
 * confirmed transcription), through the durable job queue, with every attempt recorded; read
 * confirmations come back over HL7 (`ORU^ZR1`) and FHIR (`Communication`).
 *
 * How the report service uses it:
 * ```ts
 * const delivery = new DeliveryService({ db, queue, audit, secrets, log, facilityExists });
 * delivery.registerHandlers(worker, { loadVersion });            // before worker.start()
 * delivery.onReadConfirmation(async (c) => reports.recordRead(c)); // W8
 * // in the transaction that finalises a version:
 * await delivery.enqueueDeliveries(trx, { facilityId, versionId, reportId, version, actor });
 * ```
 */
import type { JobHandler } from '../../platform/outbox/index.ts';
import type { DeliveryService, ReportVersionLoader } from './service.ts';

export {
  DeliveryService, DELIVERY_JOB_KIND, DELIVERY_MAX_ATTEMPTS, controlIdOf,
  type ConfirmRead, type DeliveryServiceDeps, type QueuedDelivery, type ReadConfirmation, type ReportVersionLoader,
} from './service.ts';
export { validateEndpoint, refusalOf, type EndpointInput, type FhirEndpointInput, type Hl7EndpointInput, type ValidEndpoint } from './endpoints.ts';
export { answerHl7ReadConfirmation, receiveFhirReadConfirmation, type Hl7ConfirmationAnswer } from './confirmations.ts';
export { registerDeliveryRoutes, deliveryFhirPlugin, type DeliveryFhirOptions } from './routes.ts';
export { interpretAck, sendFhirTransaction, sendHl7, type SendResult } from './transport.ts';
export { deliveryMigration } from './migration.ts';
export type { DeliveryDatabase, DeliveryEndpoint, ReportDelivery, ReportDeliveryAttempt } from './schema.ts';
export type { DeliveryAttemptView, DeliveryEndpointView, DeliveryView } from './schemas.ts';

/**
 * Registers the delivery job handler (`report.deliver`) on a job worker, before it starts:
 * the same as `service.registerHandlers(worker, deps)`.
 */
export function registerDeliveryHandlers(
  worker: { register(kind: string, handler: JobHandler): unknown },
  service: DeliveryService,
  deps: { loadVersion: ReportVersionLoader },
): void {
  service.registerHandlers(worker, deps);
}
