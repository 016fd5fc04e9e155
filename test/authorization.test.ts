/**
 * Walks every HTTP route of the application with every role, at its own facility and at
 * another, and proves that each answer is exactly what the role allows: nothing is done
 * without the right role and nothing leaks across facilities. A route missing from the
 * table below fails the test, so new routes must be classified here.
 * (DIMSE paths are bound to facilities by calling AE title: test/interop/dimse.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { generate } from 'otplib';
import { buildApp } from '../src/server/app.ts';
import { testRuntime } from './helpers.ts';
import { storeStudy } from '../src/server/orders/test-fixtures.ts';
import type { Runtime } from '../src/server/runtime.ts';

const OP = { kind: 'system', name: 'test' } as const;
const PW = 'Correct-Horse-9-Battery';

type Who = 'anonymous' | 'sysadmin' | 'fadminA' | 'fadminB' | 'attendingA' | 'techA' | 'radiologist' | 'mgmt' | 'scribe' | 'auditor' | 'auditorB';
const EVERYONE: Who[] = ['anonymous', 'sysadmin', 'fadminA', 'fadminB', 'attendingA', 'techA', 'radiologist', 'mgmt', 'scribe', 'auditor', 'auditorB'];
const USERS = EVERYONE.filter((w) => w !== 'anonymous');
/** Who reads medical data: facility clinical staff and the reading provider's physicians and transcriptionists. */
const READERS: Who[] = ['attendingA', 'techA', 'radiologist', 'mgmt', 'scribe'];

/** Who takes part in findings: facility staff who may stand on a contact ladder, and the provider's physicians. */
const FINDING_PARTIES: Who[] = ['fadminA', 'fadminB', 'attendingA', 'techA', 'radiologist', 'mgmt'];

/** One route: how to call it and who may. `public` routes answer everyone without 401/403. */
interface Rule {
  allowed: Who[] | 'public' | 'logged-in';
  url?: (ids: Ids) => string;
  body?: (ids: Ids, who: Who) => unknown;
}
interface Ids {
  facilityA: string;
  facilityB: string;
  victimA: string;
  techA: string;
  radiologist: string;
  licence: string;
  alert: string;
  /** A reading terminal of facility A. */
  terminalA: string;
  /** An order of facility A, its patient, and a patient of facility B. */
  orderA: string;
  patientA: string;
  patientB: string;
  /** An active link between records of A and B (to unlink). */
  link: string;
  /** A patient of A without and one with an active opt-out. */
  optOutPatient: string;
  optedOutPatient: string;
  /** A study of A waiting in the reconciliation queue, and an order of A it may link to. */
  queuedStudy: string;
  queuedStudyUid: string;
  queueOrder: string;
}

/** Valid facility contract terms; each caller asks for a different retention (a provider's term). */
const contractBody = (who: Who) => ({
  scope: { modalities: ['CT'], bodyParts: [] },
  dueMinutes: { stat: 60, urgent: 240, routine: 2880 },
  retentionDays: 100 + EVERYONE.indexOf(who),
  contactLadder: [{ name: '当直医', role: '当直', phone: '03-0000-0000', hours: '24時間' }],
  delivery: { route: 'manual', transcriptionConfirmer: '依頼医' },
  onwardSharing: true,
  monitorCheckRequired: true,
  optOutNotice: 'お知らせ',
});

/** A valid daily visual check with every item seen OK. */
const DAILY_OK = {
  pattern: 'TG18-QC',
  items: { 'patch-5pct': true, 'patch-95pct': true, 'grey-steps': true, 'low-contrast': true, 'line-pairs': true, ramps: true, 'no-artefacts': true, uniformity: true },
};
/** A terminal registration (JESRA X-0093 grade 1B display). */
const TERMINAL = (facilityId: string | null) => ({
  name: 'Reading room 1',
  location: 'Room 1',
  displayModel: 'MD-21',
  displaySerial: 'SN-1',
  grade: '1B',
  lmax: 400,
  lmin: 0.8,
  lamb: 0.2,
  acceptanceTestedOn: '2025-04-01',
  facilityId,
});

const RULES: Record<string, Rule> = {
  'GET /healthz': { allowed: 'public' },
  'GET /readyz': { allowed: 'public' },
  'GET /api/setup': { allowed: 'public' },
  'POST /api/setup': { allowed: 'public', body: () => ({ token: 'x', username: 'late', displayName: 'x', password: PW }) },
  'POST /api/auth/login': { allowed: 'public', body: () => ({ username: 'nobody', password: 'wrong' }) },
  'POST /api/auth/mfa': { allowed: 'public', body: () => ({ code: '123456' }) },
  'POST /api/auth/logout': { allowed: 'public' },
  'POST /api/auth/passkey/options': { allowed: 'public' },
  'POST /api/auth/passkey': { allowed: 'public', body: () => ({ response: { id: 'x' } }) },
  'GET /api/session': { allowed: 'logged-in' },
  'POST /api/me/agreement': { allowed: 'logged-in', body: () => ({ accept: true }) },
  'POST /api/me/password': { allowed: 'logged-in', body: () => ({ currentPassword: PW, newPassword: 'short' }) },
  'POST /api/me/reauth': { allowed: 'logged-in', body: () => ({ password: PW }) },
  'POST /api/me/passkeys/options': { allowed: 'logged-in' },
  'POST /api/me/passkeys': { allowed: 'logged-in', body: () => ({ name: 'x' }) },
  'GET /api/me/passkeys': { allowed: 'logged-in' },
  'DELETE /api/me/passkeys/:id': { allowed: 'logged-in', url: () => '/api/me/passkeys/none' },
  'GET /api/admin/users': { allowed: ['sysadmin', 'fadminA', 'fadminB', 'mgmt'] },
  'POST /api/admin/users': {
    allowed: ['sysadmin', 'fadminA'],
    body: (ids, who) => ({ username: `new-${who.toLowerCase()}`, displayName: 'x', password: PW, grants: [{ role: 'technologist', facilityId: ids.facilityA }] }),
  },
  'GET /api/admin/facilities': { allowed: ['sysadmin', 'fadminA', 'fadminB', 'mgmt'] },
  'PUT /api/admin/users/:id/grants': {
    allowed: ['sysadmin', 'fadminA'],
    url: (ids) => `/api/admin/users/${ids.victimA}/grants`,
    body: (ids) => ({ grants: [{ role: 'technologist', facilityId: ids.facilityA }], reauthPassword: PW }),
  },
  'POST /api/admin/users/:id/unlock': { allowed: ['sysadmin', 'fadminA'], url: (ids) => `/api/admin/users/${ids.victimA}/unlock` },
  'POST /api/admin/users/:id/reset-mfa': { allowed: ['sysadmin', 'fadminA'], url: (ids) => `/api/admin/users/${ids.victimA}/reset-mfa`, body: () => ({ reauthPassword: PW }) },
  'POST /api/admin/users/:id/revoke-sessions': { allowed: ['sysadmin', 'fadminA'], url: (ids) => `/api/admin/users/${ids.victimA}/revoke-sessions` },
  'GET /api/admin/users/:id/credentials': { allowed: ['sysadmin', 'mgmt', 'radiologist'], url: (ids) => `/api/admin/users/${ids.radiologist}/credentials` },
  'POST /api/admin/users/:id/licences': {
    allowed: ['sysadmin', 'mgmt'],
    url: (ids) => `/api/admin/users/${ids.radiologist}/licences`,
    body: () => ({ kind: 'jp-medical', number: '123456', country: 'JP', evidence: '医師等資格確認検索' }),
  },
  'POST /api/admin/users/:id/certifications': {
    allowed: ['sysadmin', 'mgmt'],
    url: (ids) => `/api/admin/users/${ids.radiologist}/certifications`,
    body: () => ({ kind: 'diagnostic-radiology-specialist', number: 'R-1', issuedOn: '2024-04-01', expiresOn: '2029-03-31', evidence: '認定証' }),
  },
  'POST /api/admin/users/:id/trainings': { allowed: ['sysadmin', 'mgmt'], url: (ids) => `/api/admin/users/${ids.radiologist}/trainings`, body: () => ({ course: '研修', dueOn: '2027-03-31' }) },
  'GET /api/admin/users/:id/qualification': { allowed: ['sysadmin', 'mgmt', 'radiologist'], url: (ids) => `/api/admin/users/${ids.radiologist}/qualification?modality=CT&facilityId=${ids.facilityA}` },
  'POST /api/admin/licences/:id/revoke': { allowed: ['sysadmin', 'mgmt'], url: (ids) => `/api/admin/licences/${ids.licence}/revoke` },
  'GET /api/alerts': { allowed: ['sysadmin', 'auditor', 'auditorB'] },
  'POST /api/alerts/:id/ack': { allowed: ['sysadmin'], url: (ids) => `/api/alerts/${ids.alert}/ack` },
  // Background jobs (priors fetches): seen like their facility's medical data, and by system administrators; only they retry.
  'GET /api/jobs': { allowed: [...READERS, 'sysadmin'] },
  'GET /api/jobs/:id': { allowed: [...READERS, 'sysadmin'], url: () => '/api/jobs/00000000-0000-4000-8000-000000000000' },
  'POST /api/jobs/:id/retry': { allowed: ['sysadmin'], url: () => '/api/jobs/00000000-0000-4000-8000-000000000000/retry' },
  // Facility contracts (L5): read by administrators of the facility and the provider's physicians;
  // the provider's terms are changed by system administrators and the management physician only.
  'GET /api/facilities/:id/contract': { allowed: ['sysadmin', 'fadminA', 'radiologist', 'mgmt'], url: (ids) => `/api/facilities/${ids.facilityA}/contract` },
  'GET /api/facilities/:id/contract/history': { allowed: ['sysadmin', 'fadminA', 'radiologist', 'mgmt'], url: (ids) => `/api/facilities/${ids.facilityA}/contract/history` },
  'PUT /api/facilities/:id/contract': { allowed: ['sysadmin', 'mgmt'], url: (ids) => `/api/facilities/${ids.facilityA}/contract`, body: (_ids, who) => contractBody(who) },
  // Patients (W3, S1): readers of the facility and MPI stewards read; stewards link; the facility's
  // administrators and attending physicians (and stewards) record opt-outs.
  'GET /api/patients/:id': { allowed: [...READERS, 'sysadmin'], url: (ids) => `/api/patients/${ids.patientA}` },
  'POST /api/patients/links': { allowed: ['sysadmin', 'mgmt'], body: (ids) => ({ patientA: ids.patientA, patientB: ids.patientB, reason: '同一人物' }) },
  'DELETE /api/patients/links/:id': { allowed: ['sysadmin', 'mgmt'], url: (ids) => `/api/patients/links/${ids.link}` },
  'POST /api/patients/:id/opt-out': { allowed: ['sysadmin', 'fadminA', 'attendingA', 'mgmt'], url: (ids) => `/api/patients/${ids.optOutPatient}/opt-out`, body: () => ({ date: '2026-01-05', source: '書面' }) },
  'POST /api/patients/:id/opt-out/withdraw': { allowed: ['sysadmin', 'fadminA', 'attendingA', 'mgmt'], url: (ids) => `/api/patients/${ids.optedOutPatient}/opt-out/withdraw`, body: () => ({ date: '2026-02-01' }) },
  // Orders (W1, W5): read by the facility's staff and the provider's readers; the web form by the
  // facility's technologists and attending physicians; protocols by radiologists.
  'GET /api/orders': { allowed: READERS },
  'POST /api/orders': {
    allowed: ['attendingA', 'techA'],
    body: (ids, who) => ({ facilityId: ids.facilityA, submissionId: `authz-form-${who}`, patient: { patientId: 'AZ-FORM' }, priority: 'routine', modality: 'CT', procedureText: '胸部CT', reason: '精査' }),
  },
  'GET /api/orders/:id': { allowed: READERS, url: (ids) => `/api/orders/${ids.orderA}` },
  'PUT /api/orders/:id/protocol': { allowed: ['radiologist', 'mgmt'], url: (ids) => `/api/orders/${ids.orderA}/protocol`, body: () => ({ text: '単純のみ' }) },
  'GET /api/orders/:id/messages': { allowed: READERS, url: (ids) => `/api/orders/${ids.orderA}/messages` },
  'POST /api/orders/:id/messages': { allowed: READERS, url: (ids) => `/api/orders/${ids.orderA}/messages`, body: () => ({ text: '確認です' }) },
  // Reconciliation (W2): the facility's staff of that facility and system administrators.
  'GET /api/reconciliation': { allowed: ['sysadmin', 'fadminA', 'fadminB', 'attendingA', 'techA'] },
  'POST /api/reconciliation/link': { allowed: ['sysadmin', 'fadminA', 'attendingA', 'techA'], body: (ids) => ({ studyId: ids.queuedStudy, orderId: ids.queueOrder }) },
  'POST /api/reconciliation/unlink': { allowed: ['sysadmin', 'fadminA', 'attendingA', 'techA'], body: (ids) => ({ studyId: ids.queuedStudy }) },
  'GET /api/audit': { allowed: ['auditor', 'auditorB'] },
  'GET /api/audit/fhir': { allowed: ['auditor', 'auditorB'] },
  // QIDO-RS: facility staff and the provider's readers, each within the facilities they may read.
  'GET /dicomweb/studies': { allowed: READERS },
  'GET /dicomweb/series': { allowed: READERS },
  'GET /dicomweb/instances': { allowed: READERS },
  'GET /dicomweb/studies/:study/series': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series' },
  'GET /dicomweb/studies/:study/instances': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/instances' },
  'GET /dicomweb/studies/:study/series/:series/instances': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances' },
  // WADO-RS metadata carries no pixels: the same readers as QIDO-RS.
  'GET /dicomweb/studies/:study/metadata': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/metadata' },
  'GET /dicomweb/studies/:study/series/:series/metadata': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/metadata' },
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/metadata': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/metadata' },
  // Rendered pixels are what reading terminals get (thin client, S6): the same readers.
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/rendered': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/rendered' },
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/rendered': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/frames/1/rendered' },
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/thumbnail': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/thumbnail' },
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/frames/1/thumbnail' },
  'GET /dicomweb/studies/:study/series/:series/thumbnail': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/thumbnail' },
  'GET /dicomweb/studies/:study/thumbnail': { allowed: READERS, url: () => '/dicomweb/studies/1.2.3/thumbnail' },
  // DICOM retrieval (WADO-RS, WADO-URI) is for facility systems' tokens only: thin client (S6).
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames': { allowed: [], url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/frames/1' },
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/bulkdata/:tag': { allowed: [], url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/bulkdata/00091001' },
  'GET /dicomweb/studies/:study': { allowed: [], url: () => '/dicomweb/studies/1.2.3' },
  'GET /dicomweb/studies/:study/series/:series': { allowed: [], url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4' },
  'GET /dicomweb/studies/:study/series/:series/instances/:instance': { allowed: [], url: () => '/dicomweb/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5' },
  'GET /wado': { allowed: [], url: () => '/wado?requestType=WADO&studyUID=1.2.3&seriesUID=1.2.3.4&objectUID=1.2.3.4.5' },
  // Reading terminals and monitor QC (Q1, Q2): managers (system administrators, the management physician) register and change;
  // readers see the terminals of the facilities they read and record daily checks; constancy by managers and the facility's technologists.
  'GET /api/terminals': { allowed: [...READERS, 'sysadmin'] },
  'POST /api/terminals': { allowed: ['sysadmin', 'mgmt'], body: (ids) => TERMINAL(ids.facilityA) },
  'GET /api/terminals/:id': { allowed: [...READERS, 'sysadmin'], url: (ids) => `/api/terminals/${ids.terminalA}` },
  'PUT /api/terminals/:id': { allowed: ['sysadmin', 'mgmt'], url: (ids) => `/api/terminals/${ids.terminalA}`, body: () => ({ location: 'Room 2' }) },
  'PUT /api/terminals/:id/profile': { allowed: ['sysadmin', 'mgmt'], url: (ids) => `/api/terminals/${ids.terminalA}/profile`, body: () => ({ profile: 'gsdf' }) },
  'GET /api/terminals/:id/status': { allowed: [...READERS, 'sysadmin'], url: (ids) => `/api/terminals/${ids.terminalA}/status` },
  'POST /api/terminals/:id/daily-checks': { allowed: [...READERS, 'sysadmin'], url: (ids) => `/api/terminals/${ids.terminalA}/daily-checks`, body: () => DAILY_OK },
  'GET /api/terminals/:id/daily-checks': { allowed: [...READERS, 'sysadmin'], url: (ids) => `/api/terminals/${ids.terminalA}/daily-checks` },
  'POST /api/terminals/:id/constancy': {
    allowed: ['sysadmin', 'mgmt', 'techA'],
    url: (ids) => `/api/terminals/${ids.terminalA}/constancy`,
    body: () => ({ lmax: 400, lmin: 0.8, lamb: 0.2, readings: [{ ddl: 0, luminance: 0.8 }, { ddl: 128, luminance: 60 }, { ddl: 255, luminance: 400 }] }),
  },
  'GET /api/terminals/:id/constancy': { allowed: [...READERS, 'sysadmin'], url: (ids) => `/api/terminals/${ids.terminalA}/constancy` },
  'GET /api/me/terminal': { allowed: 'logged-in' },
  'PUT /api/me/terminal': { allowed: 'logged-in', body: () => ({ terminalId: null }) },
  // Test patterns hold no medical data.
  'GET /api/qc/patterns': { allowed: 'logged-in' },
  'GET /api/qc/patterns/:name': { allowed: 'logged-in', url: () => '/api/qc/patterns/TG18-QC' },
  // The viewer's server side: readers within the facilities they read (unknown studies answer 404).
  'POST /api/measurements': { allowed: READERS, body: () => ({ studyUid: '1.2.3', seriesUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5', kind: 'length', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }) },
  'GET /api/studies/:studyUid/key-images': { allowed: READERS, url: () => '/api/studies/1.2.3/key-images' },
  'POST /api/studies/:studyUid/key-images': { allowed: READERS, url: () => '/api/studies/1.2.3/key-images', body: () => ({ seriesUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5' }) },
  'DELETE /api/studies/:studyUid/key-images/:id': { allowed: READERS, url: () => '/api/studies/1.2.3/key-images/none' },
  'POST /api/viewer/sessions': { allowed: READERS, body: () => ({ studyUid: '1.2.3' }) },
  'POST /api/viewer/sessions/:id/end': { allowed: READERS, url: () => '/api/viewer/sessions/none/end' },
  // The reading worklist (W6): seen by the same readers as the studies, each within its facilities; claims by the physicians
  // with a reading role (an unknown item answers 404), assignment by the management physician, saved views per user, the
  // automatic assignment setting by system administrators and the management physician. The event stream (SSE) is asked
  // to end at once (lifetime=0).
  'GET /api/worklist': { allowed: READERS },
  'GET /api/worklist/events': { allowed: READERS, url: () => '/api/worklist/events?lifetime=0' },
  'POST /api/worklist/:id/claim': { allowed: ['radiologist', 'mgmt'], url: () => '/api/worklist/none/claim' },
  'POST /api/worklist/:id/renew': { allowed: ['radiologist', 'mgmt'], url: () => '/api/worklist/none/renew' },
  'POST /api/worklist/:id/release': { allowed: ['radiologist', 'mgmt'], url: () => '/api/worklist/none/release' },
  'POST /api/worklist/:id/assign': { allowed: ['mgmt'], url: () => '/api/worklist/none/assign', body: () => ({ auto: true }) },
  'GET /api/worklist/views': { allowed: READERS },
  'POST /api/worklist/views': { allowed: READERS, body: () => ({ name: '至急', filters: { priority: ['stat'] } }) },
  'DELETE /api/worklist/views/:id': { allowed: READERS, url: () => '/api/worklist/views/none' },
  'GET /api/worklist/settings': { allowed: ['sysadmin', 'mgmt'] },
  'PUT /api/worklist/settings': { allowed: ['sysadmin', 'mgmt'], body: () => ({ facilityId: null, autoAssign: false }) },
  // Reports (W7-W9, A2-A4): readers within their facilities; physicians and transcriptionists write; the service decides the rest.
  'GET /api/studies/:studyUid/report': { allowed: READERS, url: () => '/api/studies/1.2.3/report' },
  'GET /api/studies/:studyUid/report/physicians': { allowed: ['radiologist', 'mgmt', 'scribe'], url: () => '/api/studies/1.2.3/report/physicians' },
  'POST /api/studies/:studyUid/report': { allowed: ['radiologist', 'mgmt', 'scribe'], url: () => '/api/studies/1.2.3/report' },
  'POST /api/studies/:studyUid/ai-findings': { allowed: ['radiologist', 'mgmt'], url: () => '/api/studies/1.2.3/ai-findings', body: () => ({ source: 'CAD', text: '結節候補' }) },
  'PUT /api/reports/:id/draft': { allowed: READERS, url: () => '/api/reports/none/draft' },
  'POST /api/reports/:id/finalise': { allowed: READERS, url: () => '/api/reports/none/finalise' },
  'POST /api/reports/:id/amend': { allowed: READERS, url: () => '/api/reports/none/amend' },
  'GET /api/reports/unconfirmed': { allowed: READERS },
  'GET /api/report-templates': { allowed: READERS },
  'POST /api/report-versions/:id/confirm': { allowed: READERS, url: () => '/api/report-versions/none/confirm' },
  'GET /api/report-versions/:id/pdf': { allowed: READERS, url: () => '/api/report-versions/none/pdf' },
  'GET /api/report-versions/:id/cms': { allowed: READERS, url: () => '/api/report-versions/none/cms' },
  'GET /api/report-versions/:id/canonical': { allowed: READERS, url: () => '/api/report-versions/none/canonical' },
  // Report delivery (A5): endpoints by administrators; deliveries seen by the facility's readers and administrators.
  'GET /api/facilities/:id/delivery-endpoints': { allowed: ['sysadmin', 'fadminA'], url: (ids) => `/api/facilities/${ids.facilityA}/delivery-endpoints` },
  'POST /api/facilities/:id/delivery-endpoints': { allowed: ['sysadmin', 'fadminA'], url: (ids) => `/api/facilities/${ids.facilityA}/delivery-endpoints`, body: () => ({ kind: 'hl7' }) },
  'POST /api/delivery-endpoints/:id/retire': { allowed: ['sysadmin', 'fadminA', 'fadminB'], url: () => '/api/delivery-endpoints/none/retire' },
  'POST /api/delivery-endpoints/:id/activate': { allowed: ['sysadmin', 'fadminA', 'fadminB'], url: () => '/api/delivery-endpoints/none/activate' },
  'GET /api/deliveries': { allowed: ['sysadmin', 'fadminA', 'fadminB', ...READERS] },
  'GET /api/deliveries/:id': { allowed: ['sysadmin', 'fadminA', 'fadminB', ...READERS], url: () => '/api/deliveries/none' },
  'GET /api/report-versions/:id/deliveries': { allowed: ['sysadmin', 'fadminA', 'fadminB', ...READERS], url: () => '/api/report-versions/none/deliveries' },
  'GET /api/deliveries/:id/pdf': { allowed: ['fadminA', 'fadminB', ...READERS], url: () => '/api/deliveries/none/pdf' },
  'POST /api/deliveries/:id/transcribed': { allowed: ['fadminA', 'fadminB', ...READERS], url: () => '/api/deliveries/none/transcribed' },
  'POST /api/deliveries/:id/confirmed': { allowed: ['fadminA', 'fadminB', ...READERS], url: () => '/api/deliveries/none/confirmed' },
  // Critical and incidental findings (C1-C3, L3, W11): raised by physicians; a finding is seen by its reader, its
  // recipients, the facility's clinical staff and the management physicians (everyone else who takes part in findings
  // gets 404 for an unknown or foreign one); statistics for management physicians and system administrators; settings by
  // system administrators, management physicians and the facility's administrators (channels only); the alert stream
  // (SSE) is every logged-in user's own, asked to end at once (lifetime=0).
  'POST /api/findings': { allowed: ['radiologist', 'mgmt'], body: () => ({ studyUid: '1.2.3', category: 'critical', message: '所見' }) },
  'GET /api/findings': { allowed: FINDING_PARTIES },
  'GET /api/findings/events': { allowed: 'logged-in', url: () => '/api/findings/events?lifetime=0' },
  'GET /api/findings/stats': { allowed: ['sysadmin', 'mgmt'] },
  'GET /api/findings/reviews': { allowed: FINDING_PARTIES },
  'GET /api/findings/settings/:facilityId': { allowed: ['sysadmin', 'fadminA', 'mgmt'], url: (ids) => `/api/findings/settings/${ids.facilityA}` },
  'PUT /api/findings/settings/:facilityId': { allowed: ['sysadmin', 'fadminA', 'mgmt'], url: (ids) => `/api/findings/settings/${ids.facilityA}`, body: () => ({ sms: true }) },
  'GET /api/findings/:id': { allowed: FINDING_PARTIES, url: () => '/api/findings/none' },
  'POST /api/findings/:id/acknowledge': { allowed: FINDING_PARTIES, url: () => '/api/findings/none/acknowledge' },
  'POST /api/findings/:id/phone': { allowed: FINDING_PARTIES, url: () => '/api/findings/none/phone', body: () => ({ calledName: '主治医', outcome: 'no-answer' }) },
  'POST /api/findings/:id/follow-up': { allowed: FINDING_PARTIES, url: () => '/api/findings/none/follow-up', body: () => ({ state: 'referred', note: '紹介' }) },
  'POST /api/findings/:id/cancel': { allowed: FINDING_PARTIES, url: () => '/api/findings/none/cancel', body: () => ({ reason: '取り消し' }) },
  'POST /fhir/R4/Communication': { allowed: [], body: () => ({ resourceType: 'Communication' }) },
  'POST /fhir/R4/Observation': { allowed: [], body: () => ({ resourceType: 'Observation' }) },
  // The built-in time-stamping authority (RFC 3161): hashes in, tokens out, no medical data.
  'POST /tsa': { allowed: 'public' },
  // STOW-RS takes facility API tokens only: a browser session never stores images.
  'POST /dicomweb/studies': { allowed: [] },
  'POST /dicomweb/studies/:study': { allowed: [], url: () => '/dicomweb/studies/1.2.3' },
  // FHIR R4 orders take facility API tokens only (orders:write / orders:read), never a browser session.
  'POST /fhir/R4': { allowed: [], body: () => ({ resourceType: 'Bundle', type: 'transaction', entry: [] }) },
  'POST /fhir/R4/ServiceRequest': { allowed: [], body: () => ({ resourceType: 'ServiceRequest' }) },
  'PUT /fhir/R4/ServiceRequest/:id': { allowed: [], url: () => '/fhir/R4/ServiceRequest/00000000-0000-4000-8000-000000000000', body: () => ({ resourceType: 'ServiceRequest' }) },
  'GET /fhir/R4/ServiceRequest/:id': { allowed: [], url: () => '/fhir/R4/ServiceRequest/00000000-0000-4000-8000-000000000000' },
  // The FHIR CapabilityStatement is public, as FHIR servers publish theirs; it names no patient or facility.
  'GET /fhir/R4/metadata': { allowed: 'public' },
};

/** Routes of the app from Fastify's route tree (static web files excluded). */
function routesOf(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const parent = stack[depth - 1] ?? '';
    const seg = m[2]!;
    const full = parent === '' ? seg : parent.endsWith('/') || seg.startsWith('/') ? parent + seg : `${parent}/${seg}`;
    stack[depth] = full;
    stack.length = depth + 1;
    if (!m[3]) continue;
    for (const method of m[3].split(', ').filter((x) => x !== 'HEAD')) out.push(`${method} ${full.startsWith('/') ? full : `/${full}`}`);
  }
  return out.filter((r) => !/ \/(assets\/.*|index\.html)?$/.test(r));
}

let rt: Runtime & { cleanup: () => Promise<void> };
let app: FastifyInstance;
const sessions = new Map<Who, { cookie: string; csrf: string }>();
let ids: Ids;

before(async () => {
  rt = await testRuntime();
  app = await buildApp(rt);
  const facilityA = (await rt.facilities.add(OP, { name: 'Hospital A', aets: ['A'] })).id;
  const facilityB = (await rt.facilities.add(OP, { name: 'Hospital B', aets: ['B'] })).id;
  const grants: Record<Exclude<Who, 'anonymous'>, { role: string; facilityId: string | null }> = {
    sysadmin: { role: 'system-admin', facilityId: null },
    fadminA: { role: 'facility-admin', facilityId: facilityA },
    fadminB: { role: 'facility-admin', facilityId: facilityB },
    attendingA: { role: 'attending-physician', facilityId: facilityA },
    techA: { role: 'technologist', facilityId: facilityA },
    radiologist: { role: 'radiologist', facilityId: null },
    mgmt: { role: 'management-physician', facilityId: null },
    scribe: { role: 'transcriptionist', facilityId: null },
    auditor: { role: 'auditor', facilityId: null },
    auditorB: { role: 'auditor', facilityId: facilityB },
  };
  const userIds = new Map<Who, string>();
  for (const who of USERS) {
    const id = await rt.accounts.create(OP, { username: who.toLowerCase(), displayName: who, password: PW, grants: [grants[who as Exclude<Who, 'anonymous'>]], mustChangePassword: false });
    userIds.set(who, id);
    await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
    const client = { address: '127.0.0.1', userAgent: 'authz-test' };
    const first = await rt.auth.login(who.toLowerCase(), PW, client);
    let cookie = first.cookie;
    if (first.response.status === 'mfa-enrolment-required') {
      ({ cookie } = await rt.auth.secondFactor(cookie, await generate({ secret: first.response.enrolment.secret }), client));
    }
    const info = (await rt.auth.session(cookie, client))!;
    assert.ok(info, `${who} logged in`);
    sessions.set(who, { cookie, csrf: info.csrfToken });
  }
  const victimA = await rt.accounts.create(OP, { username: 'victim-a', displayName: 'v', password: PW, grants: [{ role: 'technologist', facilityId: facilityA }] });
  const licence = await rt.credentials.recordLicence(OP, userIds.get('radiologist')!, { kind: 'jp-medical', number: '654321', country: 'JP', evidence: 'x' });
  await rt.alerts.raise('failed-logins', 'test alert', {});
  const alert = (await rt.alerts.list(OP))[0]!.id;
  const terminalA = (await rt.terminals.register(OP, TERMINAL(facilityA))).id;
  // Orders-module records: an order, patients of both facilities, a link, opt-outs, and a
  // study of facility A that waits in the reconciliation queue (a different day from its order).
  const person = (patientId: string) => ({ patientId, issuer: '', name: { alphabetic: 'Yamada^Tarou', ideographic: '山田^太郎', phonetic: 'やまだ^たろう' }, sex: 'M', birthDate: '19650412' });
  const order = (placer: string, patientId: string) => ({
    facilityId: facilityA, patient: person(patientId), placerOrderNumber: placer, accessionNumber: '', control: 'new' as const, priority: 'routine' as const,
    modality: 'CT', bodyPart: '胸部', procedureText: '胸部CT', reason: '精査', clinicalNotes: '', contrast: false,
    requester: { name: '依頼医', department: '内科' }, requestedAt: '2026-03-10T00:30:00Z', source: 'hl7' as const, messageId: placer,
  });
  const orderA = (await rt.orders.receive(OP, order('AZ-1', 'AZ-P1'))).orderId;
  const patientA = (await rt.patients.update(OP, facilityA, person('AZ-P1'))).patientRef;
  const patientB = (await rt.patients.update(OP, facilityB, person('AZ-P2'))).patientRef;
  const linkA = (await rt.patients.update(OP, facilityA, person('AZ-L1'))).patientRef;
  const linkB = (await rt.patients.update(OP, facilityB, person('AZ-L2'))).patientRef;
  const link = (await rt.patients.link(OP, { patientA: linkA, patientB: linkB, reason: '同一人物' })).id;
  const optOutPatient = (await rt.patients.update(OP, facilityA, person('AZ-O1'))).patientRef;
  const optedOutPatient = (await rt.patients.update(OP, facilityA, person('AZ-O2'))).patientRef;
  await rt.patients.recordOptOut(OP, optedOutPatient, { date: '2026-01-05', source: '口頭' });
  const queueOrder = (await rt.orders.receive(OP, order('AZ-Q', 'AZ-Q1'))).orderId;
  const queuedStudyUid = await storeStudy(rt, facilityA, { patient: { id: 'AZ-Q1', name: { alphabetic: 'Yamada^Tarou' }, sex: 'M', birthDate: '19650412' }, accessionNumber: '', studyDate: '20250101' });
  const queuedStudy = (await rt.intake.repo.studyByUid(queuedStudyUid))!.id;
  ids = {
    facilityA, facilityB, victimA, techA: userIds.get('techA')!, radiologist: userIds.get('radiologist')!, licence, alert, terminalA,
    orderA, patientA, patientB, link, optOutPatient, optedOutPatient, queuedStudy, queuedStudyUid, queueOrder,
  };
});

after(async () => {
  await app?.close();
  await rt?.cleanup();
});

test('every route is classified', () => {
  const routes = routesOf(app);
  assert.ok(routes.length >= 30, `found ${routes.length} routes`);
  const unclassified = routes.filter((r) => !(r in RULES));
  assert.deepEqual(unclassified, [], 'routes missing from the authorization table');
  const stale = Object.keys(RULES).filter((r) => !routes.includes(r));
  assert.deepEqual(stale, [], 'rules for routes that no longer exist');
});

test('each role gets exactly what it is allowed, on every route, for its own facility and another', async () => {
  const problems: string[] = [];
  for (const [route, rule] of Object.entries(RULES)) {
    if (route === 'POST /api/auth/logout') continue; // would end the sessions used below
    const [method, path] = route.split(' ') as [string, string];
    for (const who of EVERYONE) {
      const s = sessions.get(who);
      const headers: Record<string, string> = {};
      if (s) {
        headers.cookie = `enkaku_session=${s.cookie}`;
        headers['x-csrf-token'] = s.csrf;
      }
      const body = rule.body?.(ids, who) ?? (method === 'GET' || method === 'DELETE' ? undefined : {});
      if (body !== undefined) headers['content-type'] = path.startsWith('/dicomweb') ? 'multipart/related; type="application/dicom"; boundary=x' : 'application/json';
      const res = await app.inject({
        method: method as 'GET',
        url: rule.url?.(ids) ?? path,
        headers,
        ...(body !== undefined ? { payload: path.startsWith('/dicomweb') ? '--x--\r\n' : JSON.stringify(body) } : {}),
        remoteAddress: '127.0.0.1',
      });
      const allowed = rule.allowed === 'public' || (rule.allowed === 'logged-in' ? who !== 'anonymous' : rule.allowed.includes(who));
      const refused = res.statusCode === 401 || res.statusCode === 403;
      if (res.statusCode >= 500) problems.push(`${route} as ${who}: ${res.statusCode} ${res.body}`);
      else if (rule.allowed === 'public') continue;
      else if (allowed && refused) problems.push(`${route} as ${who}: refused (${res.statusCode}) but should be allowed: ${res.body}`);
      else if (!allowed && !refused) problems.push(`${route} as ${who}: answered ${res.statusCode} but should be refused`);
      else if (!allowed && who === 'anonymous' && res.statusCode !== 401) problems.push(`${route} as anonymous: ${res.statusCode}, expected 401`);
    }
  }
  assert.deepEqual(problems, []);
});

test('what an allowed role sees is limited to its facilities', async () => {
  const get = async (who: Who, url: string) => {
    const s = sessions.get(who)!;
    return app.inject({ method: 'GET', url, headers: { cookie: `enkaku_session=${s.cookie}` } });
  };
  const usersA = (await get('fadminA', '/api/admin/users')).json() as Array<{ username: string }>;
  const usersB = (await get('fadminB', '/api/admin/users')).json() as Array<{ username: string }>;
  assert.ok(usersA.every((u) => ['fadmina', 'attendinga', 'techa', 'victim-a'].includes(u.username) || u.username.startsWith('new-')), JSON.stringify(usersA));
  assert.deepEqual(usersB.map((u) => u.username).sort(), ['auditorb', 'fadminb']);
  const facilitiesB = (await get('fadminB', '/api/admin/facilities')).json() as Array<{ name: string }>;
  assert.deepEqual(facilitiesB.map((f) => f.name), ['Hospital B']);
  // An auditor of facility B sees facility B's entries and none of facility A's.
  for (const facilityId of [ids.facilityA, ids.facilityB]) {
    await rt.audit.record({ actor: OP, action: 'study.view', object: { type: 'study', id: `study-of-${facilityId}` }, facilityId });
  }
  const auditB = (await get('auditorB', '/api/audit?action=study.view&limit=1000')).json() as { entries: Array<{ facilityId: string | null; objectId: string }> };
  assert.deepEqual(auditB.entries.map((e) => e.objectId), [`study-of-${ids.facilityB}`]);
  const auditAll = (await get('auditor', '/api/audit?action=study.view&limit=1000')).json() as { entries: unknown[] };
  assert.equal(auditAll.entries.length, 2, 'the provider auditor sees both');
});

test('every read path shows a facility user only its own facility; provider readers see the facilities they serve', async () => {
  const { generateSeries } = await import('../src/server/archive/dicom/synthetic.ts');
  const studies: Record<'A' | 'B', { study: string; series: string; sop: string }> = {} as never;
  for (const [name, facilityId] of [['A', ids.facilityA], ['B', ids.facilityB]] as const) {
    const write = (await rt.tokens.create(OP, { facilityId, name: 'pacs', scopes: ['dicomweb:write'] })).token;
    const [inst] = [...generateSeries({ modality: 'CT', count: 1, rows: 16, columns: 16, seed: name === 'A' ? 1 : 2 })];
    const body = Buffer.concat([Buffer.from('--xx\r\nContent-Type: application/dicom\r\n\r\n'), inst!.bytes, Buffer.from('\r\n--xx--\r\n')]);
    const res = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${write}`, 'content-type': 'multipart/related; type="application/dicom"; boundary=xx' }, payload: body });
    assert.equal(res.statusCode, 200);
    studies[name] = { study: inst!.studyInstanceUid, series: inst!.seriesInstanceUid, sop: inst!.sopInstanceUid };
  }
  const as = (who: Who, url: string) => app.inject({ method: 'GET', url, headers: { cookie: `enkaku_session=${sessions.get(who)!.cookie}`, accept: 'image/png, application/dicom+json' } });
  const paths = (s: { study: string; series: string; sop: string }) => [
    `/dicomweb/studies?StudyInstanceUID=${s.study}`,
    `/dicomweb/studies/${s.study}/series`,
    `/dicomweb/studies/${s.study}/series/${s.series}/instances`,
    `/dicomweb/studies/${s.study}/metadata`,
    `/dicomweb/studies/${s.study}/series/${s.series}/instances/${s.sop}/rendered`,
    `/dicomweb/studies/${s.study}/thumbnail`,
  ];
  for (const who of ['attendingA', 'techA'] as const) {
    for (const url of paths(studies.A)) assert.equal((await as(who, url)).statusCode, 200, `${who} reads its own facility: ${url}`);
    for (const url of paths(studies.B)) assert.ok([204, 404].includes((await as(who, url)).statusCode), `${who} must not see facility B: ${url}`);
  }
  // The provider's readers read where the facility's contract requires the daily monitor check (the default):
  // at a terminal of theirs whose check of today passed.
  const providerTerminal = (await rt.terminals.register(OP, TERMINAL(null))).id;
  for (const who of ['radiologist', 'mgmt'] as const) {
    assert.equal((await as(who, paths(studies.A)[4]!)).statusCode, 423, `${who} without a checked terminal is blocked`);
    const s = sessions.get(who)!;
    const headers = { cookie: `enkaku_session=${s.cookie}`, 'x-csrf-token': s.csrf, 'content-type': 'application/json' };
    assert.equal((await app.inject({ method: 'PUT', url: '/api/me/terminal', headers, payload: JSON.stringify({ terminalId: providerTerminal }) })).statusCode, 200);
    assert.equal((await app.inject({ method: 'POST', url: `/api/terminals/${providerTerminal}/daily-checks`, headers, payload: JSON.stringify(DAILY_OK) })).statusCode, 201);
  }
  for (const who of ['radiologist', 'mgmt'] as const) {
    for (const s of [studies.A, studies.B]) for (const url of paths(s)) assert.equal((await as(who, url)).statusCode, 200, `${who} reads served facilities: ${url}`);
  }
  const listA = (await as('attendingA', '/dicomweb/studies')).json() as Array<Record<string, { Value?: string[] }>>;
  // Facility A also holds the study left in its reconciliation queue by before().
  assert.deepEqual(listA.map((s) => s['0020000D']!.Value![0]).sort(), [studies.A.study, ids.queuedStudyUid].sort(), 'a facility user\'s search lists its facility only');
});
