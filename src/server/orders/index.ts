/**
 * Orders module: facilities and their contracts (L5, A5), the master patient index and
 * opt-outs (W3, S1), exam orders from every interface (W1), reconciliation of studies and
 * orders (W2), clinical context and protocol checks (W4), protocol and consultation (W5).
 * Interfaces (HL7, FHIR, SS-MIX2) call OrderService.receive, PatientService.update and
 * ClinicalService.record through the contract in model.ts.
 */
export { FacilityService, validateAet, DEFAULT_PRIOR_POLICY, type NodeInput, type PriorPolicyView } from './service.ts';
export { Hl7SenderRegistry, type Hl7Sender } from './senders.ts';
export { ContractService } from './contracts/service.ts';
export { DEFAULT_TERMS } from './contracts/validate.ts';
export { PatientService } from './mpi/service.ts';
export { OrderService, type OrderServiceDeps } from './exam-orders/service.ts';
export type { OrderListEntry, OrderListPage } from './exam-orders/views.ts';
export { ReconciliationService } from './reconcile/service.ts';
export { ClinicalService } from './clinical/service.ts';
export { registerOrderRoutes, type OrderRouteServices } from './routes.ts';
export type * from './model.ts';
