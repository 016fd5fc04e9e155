/**
 * Helpers for the worklist tests: studies of any modality stored through the real image
 * intake (so the reconciliation and worklist hooks run as in production), qualified and
 * unqualified physicians, and a Server-Sent Events reader.
 */
import assert from 'node:assert/strict';
import { Intake } from '../archive/intake.ts';
import { generateSeries, type SyntheticPatient } from '../archive/dicom/synthetic.ts';
import type { Actor } from '../platform/context.ts';
import { openEventStream } from '../platform/sse-client.ts';
import type { Runtime } from '../runtime.ts';
import type { WorklistEvent } from '../../shared/worklist.ts';
import { OP } from './test-support.ts';

/** Modality (0008,0060) CS, explicit VR little endian: the tag, VR and length of a two-letter value. */
const MODALITY_ELEMENT = Buffer.from([0x08, 0x00, 0x60, 0x00, 0x43, 0x53, 0x02, 0x00]);

/** A synthetic CR instance relabelled as another two-letter modality (MG, NM, US, ...). */
function relabel(bytes: Buffer, modality: string): Buffer {
  const at = bytes.indexOf(MODALITY_ELEMENT);
  assert.ok(at > 0, 'the synthetic instance has a Modality element');
  const out = Buffer.from(bytes);
  out.write(modality, at + MODALITY_ELEMENT.length, 'latin1');
  return out;
}

/** Stores a one-instance study of a facility through the intake; returns its Study Instance UID. */
export async function arrive(rt: Runtime, facilityId: string, o: { modality: string; accessionNumber?: string; patient?: SyntheticPatient; studyDate?: string }): Promise<string> {
  const base = o.modality === 'CT' || o.modality === 'MR' ? o.modality : 'CR';
  const [inst] = [...generateSeries({ modality: base, count: 1, rows: 16, columns: 16, seed: Math.floor(Math.random() * 1e9), accessionNumber: o.accessionNumber ?? '', ...(o.patient ? { patient: o.patient } : {}), ...(o.studyDate ? { studyDate: o.studyDate } : {}) })];
  const bytes = o.modality.length === 2 && base === 'CR' && o.modality !== 'CR' ? relabel(inst!.bytes, o.modality) : inst!.bytes;
  const intake = await Intake.start(rt.blobs, 1e9);
  await intake.write(bytes);
  const r = await rt.intake.ingestPart10(await intake.finish(), { actor: { kind: 'system', name: 'test' }, facilityId, callingAet: 'TEST', source: 'import' });
  assert.ok(r.ok, JSON.stringify(r));
  return inst!.studyInstanceUid;
}

/** The credentials a physician holds in a test. */
export type Credentials = 'diagnostic' | 'mammography' | 'foreign' | 'licence-only' | 'none';

/** Records a physician's licence and certification (verified by the operator). */
export async function qualify(rt: Runtime, userId: string, what: Credentials): Promise<void> {
  if (what === 'none') return;
  if (what === 'foreign') await rt.credentials.recordLicence(OP, userId, { kind: 'foreign-medical', number: 'US-123', country: 'US', evidence: 'licence copy' });
  else await rt.credentials.recordLicence(OP, userId, { kind: 'jp-medical', number: String(100000 + Math.floor(Math.random() * 800000)), country: 'JP', evidence: '医師等資格確認検索' });
  if (what === 'licence-only') return;
  const kind = what === 'mammography' ? 'mammography-reader' : 'diagnostic-radiology-specialist';
  await rt.credentials.recordCertification(OP, userId, { kind, number: 'C-1', issuedOn: '2024-04-01', expiresOn: '2099-03-31', evidence: '認定証' });
}

/** A service-call actor for a user id with one grant (service-level tests). */
export function userActor(userId: string, role: string, facilityId: string | null = null): Extract<Actor, { kind: 'user' }> {
  return { kind: 'user', userId, username: userId, grants: [{ role, facilityId }], address: '127.0.0.1', sessionId: 'test' };
}

/** An open SSE stream and the worklist events received so far. */
export interface EventStream {
  events: WorklistEvent[];
  /** Resolves when an event matching `pred` has arrived (rejects after `ms`). */
  waitFor(pred: (e: WorklistEvent) => boolean, ms?: number): Promise<WorklistEvent>;
  close(): void;
}

/** Opens `GET /api/worklist/events` as a user (session cookie); resolves once the server says `ready`. */
export async function openEvents(port: number, cookie: string): Promise<EventStream> {
  const s = await openEventStream<WorklistEvent>({ port, path: '/api/worklist/events', cookie, event: 'worklist', waitMs: 5000 });
  return { events: s.received, waitFor: s.waitFor, close: s.close };
}

/** Polls until `check` returns a value (or fails after `ms`). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
