/**
 * Fixtures for the orders module's tests: actors in each role, order messages, and studies
 * stored through the real image intake (so the reconciliation hook runs as in production).
 */
import assert from 'node:assert/strict';
import { Intake } from '../archive/intake.ts';
import { generateSeries, type SyntheticPatient, type SyntheticSeriesOptions } from '../archive/dicom/synthetic.ts';
import type { Actor } from '../platform/context.ts';
import type { Runtime } from '../runtime.ts';
import type { OrderInput, PatientInput } from './model.ts';

/** The operator at the console. */
export const OPERATOR: Actor = { kind: 'system', name: 'test' };

/** A logged-in user holding one role at a facility (or at the provider with null). */
export function user(role: string, facilityId: string | null, name = `${role}-${facilityId ?? 'provider'}`): Actor {
  return { kind: 'user', userId: `u-${name}`, username: name, grants: [{ role, facilityId }], address: '127.0.0.1', sessionId: 's' };
}

/** Demographics of a test patient. */
export function patient(patientId: string, extra: Partial<PatientInput> = {}): PatientInput {
  return { patientId, issuer: '', name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412', ...extra };
}

/** An order message with sensible defaults. */
export function orderInput(facilityId: string, o: Partial<OrderInput> & { placerOrderNumber: string; messageId: string }): OrderInput {
  return {
    facilityId,
    patient: patient('P001'),
    accessionNumber: '',
    control: 'new',
    priority: 'routine',
    modality: 'CT',
    bodyPart: '胸部',
    procedureText: '胸部CT',
    reason: '咳嗽が続く。肺炎の評価',
    clinicalNotes: '',
    contrast: false,
    requester: { name: '依頼 太郎', department: '内科' },
    requestedAt: '2026-03-10T00:30:00Z',
    source: 'hl7',
    ...o,
  };
}

/** Stores a small synthetic study of a facility through the image intake; returns its Study Instance UID. */
export async function storeStudy(rt: Runtime, facilityId: string, opts: Partial<SyntheticSeriesOptions> & { patient: SyntheticPatient }): Promise<string> {
  let uid = '';
  for (const inst of generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16, seed: Math.floor(Math.random() * 1e9), ...opts })) {
    const intake = await Intake.start(rt.blobs, 1e9);
    await intake.write(inst.bytes);
    const r = await rt.intake.ingestPart10(await intake.finish(), { actor: { kind: 'system', name: 'test' }, facilityId, callingAet: 'TEST', source: 'import' });
    assert.ok(r.ok, JSON.stringify(r));
    uid = inst.studyInstanceUid;
  }
  return uid;
}

/** The internal id of a stored study. */
export async function studyId(rt: Runtime, studyUid: string): Promise<string> {
  const s = await rt.intake.repo.studyByUid(studyUid);
  assert.ok(s, `study ${studyUid} stored`);
  return s.id;
}

/** Audit entries of an action, oldest first. */
export async function auditOf(rt: Runtime, action: string, objectId?: string): Promise<Array<{ action: string; outcome: string; objectId: string; patientRef: string | null; details: Record<string, unknown> }>> {
  const r = await rt.audit.search(OPERATOR, { action, limit: 1000, ...(objectId ? { objectId } : {}) });
  return r.records.reverse().map((x) => ({ action: x.action, outcome: x.outcome, objectId: x.object.id, patientRef: x.patientRef, details: x.details }));
}
