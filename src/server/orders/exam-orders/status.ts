/**
 * Order status changes that no facility message makes: Enkaku's own view of the exam
 * (HL7 ORC-5 / FHIR ServiceRequest.status) as it moves on.
 * - scheduled → in-progress when a study is linked to the order (its images arrived and
 *   reconciliation, automatic or by hand, linked them; reconcile/service.ts), and back to
 *   scheduled when that link is ended;
 * - in-progress → completed when the report of the linked study is finalised
 *   (OrderService.markReported, called by the reports module).
 * Each change is recorded in the order's history (order_events, source `enkaku`, control
 * `change`, outcome `updated`, changed `["status=<new status>"]`) and audited
 * (`order.status-change`), both in the caller's transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditService } from '../../audit/index.ts';
import { describeActor, type Actor } from '../../platform/context.ts';
import type { Database, Order } from '../../platform/db/schema.ts';
import type { OrderStatus } from '../model.ts';
import { OrderRepository } from './repository.ts';

/** The history source of the changes Enkaku makes itself (never a facility's message source). */
export const STATUS_SOURCE = 'enkaku';

/** One status change to record. */
export interface StatusChange {
  actor: Actor;
  /** The order as it is after the change (its version is the history entry's version). */
  order: Pick<Order, 'id' | 'facility_id' | 'patient_ref' | 'version'>;
  from: OrderStatus;
  to: OrderStatus;
  /**
   * Natural key of the change, unique per order and change (`study-link:<link id>`,
   * `study-unlink:<link id>`, `report-final:<order id>`): the history's message id.
   */
  key: string;
  why: 'study-linked' | 'study-unlinked' | 'report-final';
  studyId: string;
  studyUid?: string | undefined;
}

/**
 * Records a status change in the order's history and the audit trail, inside `trx`. The
 * history entry is dated after the order's latest one, so the history lists it in order.
 */
export async function recordStatusChange(trx: Kysely<Database>, audit: AuditService<Database>, c: StatusChange): Promise<void> {
  const repo = new OrderRepository(trx);
  const last = await repo.lastEventAt(c.order.id);
  const at = new Date(Math.max(Date.now(), last ? Date.parse(last) + 1 : 0)).toISOString();
  await repo.insertEvents([{
    id: randomUUID(),
    order_id: c.order.id,
    facility_id: c.order.facility_id,
    source: STATUS_SOURCE,
    message_id: c.key,
    control: 'change',
    message_time: null,
    outcome: 'updated',
    version: c.order.version,
    changed: JSON.stringify([`status=${c.to}`]),
    snapshot: JSON.stringify({ status: c.to, from: c.from, why: c.why, studyId: c.studyId }),
    actor: describeActor(c.actor),
    received_at: at,
  }]);
  await audit.append(trx, {
    actor: c.actor,
    action: 'order.status-change',
    object: { type: 'order', id: c.order.id },
    facilityId: c.order.facility_id,
    patientRef: c.order.patient_ref,
    details: { from: c.from, to: c.to, why: c.why, studyId: c.studyId, ...(c.studyUid ? { studyUid: c.studyUid } : {}), version: c.order.version },
  });
}
