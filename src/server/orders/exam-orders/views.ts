/**
 * Order rows as the API shows them (src/shared/api.ts).
 */
import type { OrderSummary } from '../../../shared/api.ts';
import type { OrderRow } from './repository.ts';

/** The status shown: cancelled, else completed while a study is linked, else as the facility said. */
export function shownStatus(status: string, studyId: string | null): OrderSummary['status'] {
  if (status === 'cancelled') return 'cancelled';
  if (studyId) return 'completed';
  return status as OrderSummary['status'];
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
