/**
 * Order rows as the API shows them (src/shared/api.ts).
 */
import type { Jj1017View, OrderSummary } from '../../../shared/api.ts';
import type { OrderRow } from './repository.ts';

/**
 * The status shown (ORC-5 / ServiceRequest.status as Enkaku sees the exam): cancelled and
 * completed as stored (a facility's cancel; the report of the order's study finalised,
 * OrderService.markReported); otherwise in progress while a study is linked to the order
 * (its images arrived and reconciliation linked them), else scheduled. In progress is derived
 * from the link rather than stored, so that image intake never writes an order row (see
 * repository.ts); the change is still recorded in the order's history and audited
 * (status.ts).
 */
export function shownStatus(status: string, studyId: string | null): OrderSummary['status'] {
  if (status === 'cancelled' || status === 'completed') return status;
  return studyId ? 'in-progress' : 'scheduled';
}

/** An order in the order list: the summary with its JJ1017 code in words (as on the order screen). */
export type OrderListEntry = OrderSummary & { jj1017: Jj1017View | null };

/** A page of the order list (`GET /api/orders`): OrderList with {@link OrderListEntry} rows. */
export interface OrderListPage {
  total: number;
  orders: OrderListEntry[];
}

/** An order row with its patient, for lists. */
export function orderSummary(r: OrderRow): OrderSummary {
  return {
    id: r.id,
    facilityId: r.facility_id,
    facilityName: r.facility_name,
    patient: {
      id: r.patient_ref,
      facilityId: r.facility_id,
      facilityName: r.facility_name,
      patientId: r.p_patient_id,
      issuer: r.p_issuer,
      name: { alphabetic: r.p_name_alphabetic, ideographic: r.p_name_ideographic, phonetic: r.p_name_phonetic },
      sex: r.p_sex,
      birthDate: r.p_birth_date,
    },
    placerOrderNumber: r.placer_order_number,
    accessionNumber: r.accession_number,
    status: shownStatus(r.status, r.study_id),
    priority: r.priority as OrderSummary['priority'],
    modality: r.modality,
    bodyPart: r.body_part,
    procedureText: r.procedure_text,
    contrast: r.contrast === 1,
    requestedAt: r.requested_at,
    scheduledAt: r.scheduled_at,
    createdFrom: r.created_from as OrderSummary['createdFrom'],
    studyId: r.study_id,
  };
}
