/**
 * Coded values shared by the DICOM (PS3.15 A.5) and FHIR R4 AuditEvent exports: which
 * DICOM audit event (PS3.16 CID 400 "Audit Event ID", CID 401 "Audit Event Type Code")
 * an Enkaku action is, its EventActionCode, and how its objects are typed (RFC 3881
 * participant object codes, reused by FHIR `audit-entity-type` and `object-role`).
 */
import type { AuditRecord } from './model.ts';

/** A code with its meaning. `system` defaults to DCM (PS3.16). */
export interface Code {
  code: string;
  display: string;
  system?: CodeSystemName;
}

/**
 * Code systems used by the exports, by their DICOM `codeSystemName`. Enkaku's own codes
 * use a private coding scheme designator, which PS3.16 §8.2 requires to begin with "99".
 */
export type CodeSystemName = 'DCM' | 'RFC-3881' | '99ENKAKU';

/** FHIR system of DICOM codes (PS3.16 DCM). */
export const FHIR_DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';

const dcm = (code: string, display: string): Code => ({ code, display, system: 'DCM' });

/** DICOM audit codes (PS3.16 CID 400, 401, 402). */
export const DCM = {
  applicationActivity: dcm('110100', 'Application Activity'),
  auditLogUsed: dcm('110101', 'Audit Log Used'),
  instancesAccessed: dcm('110103', 'DICOM Instances Accessed'),
  instancesTransferred: dcm('110104', 'DICOM Instances Transferred'),
  studyDeleted: dcm('110105', 'DICOM Study Deleted'),
  export: dcm('110106', 'Export'),
  import: dcm('110107', 'Import'),
  orderRecord: dcm('110109', 'Order Record'),
  patientRecord: dcm('110110', 'Patient Record'),
  procedureRecord: dcm('110111', 'Procedure Record'),
  query: dcm('110112', 'Query'),
  securityAlert: dcm('110113', 'Security Alert'),
  userAuthentication: dcm('110114', 'User Authentication'),
  applicationStart: dcm('110120', 'Application Start'),
  applicationStop: dcm('110121', 'Application Stop'),
  login: dcm('110122', 'Login'),
  logout: dcm('110123', 'Logout'),
  securityConfiguration: dcm('110129', 'Security Configuration'),
  useOfRestrictedFunction: dcm('110132', 'Use of Restricted Function'),
  objectSecurityAttributesChanged: dcm('110135', 'Object Security Attributes Changed'),
  securityRolesChanged: dcm('110136', 'Security Roles Changed'),
  userSecurityAttributesChanged: dcm('110137', 'User security Attributes Changed'),
  application: dcm('110150', 'Application'),
  destinationRole: dcm('110152', 'Destination Role ID'),
  sourceRole: dcm('110153', 'Source Role ID'),
  studyInstanceUid: dcm('110180', 'Study Instance UID'),
} as const;

/** EventActionCode (PS3.15 A.5.1; FHIR AuditEvent.action): Create, Read, Update, Delete, Execute. */
export type ActionCode = 'C' | 'R' | 'U' | 'D' | 'E';

/** How an action is exported. */
export interface EventCodes {
  /** DICOM EventID; FHIR AuditEvent.type. */
  eventId: Code;
  /** DICOM EventTypeCode; FHIR AuditEvent.subtype. */
  eventType?: Code | undefined;
  action: ActionCode;
  /**
   * For DICOM Instances Transferred: `in` when the actor sent data to Enkaku (actor is
   * Source Role ID, Enkaku Destination), `out` when Enkaku sent it to the actor.
   */
  transfer?: 'in' | 'out' | undefined;
}

/** Actions whose codes are fixed by PS3.15 A.5.3. */
const KNOWN: Record<string, EventCodes> = {
  'auth.login': { eventId: DCM.userAuthentication, eventType: DCM.login, action: 'E' },
  'auth.logout': { eventId: DCM.userAuthentication, eventType: DCM.logout, action: 'E' },
  'user.role-change': { eventId: DCM.securityAlert, eventType: DCM.securityRolesChanged, action: 'U' },
  'security.access-denied': { eventId: DCM.securityAlert, eventType: DCM.useOfRestrictedFunction, action: 'E' },
  'app.start': { eventId: DCM.applicationActivity, eventType: DCM.applicationStart, action: 'E' },
  'app.stop': { eventId: DCM.applicationActivity, eventType: DCM.applicationStop, action: 'E' },
  'instance.store': { eventId: DCM.instancesTransferred, action: 'C', transfer: 'in' },
  'study.store': { eventId: DCM.instancesTransferred, action: 'C', transfer: 'in' },
  'instance.retrieve': { eventId: DCM.instancesTransferred, action: 'R', transfer: 'out' },
  'study.retrieve': { eventId: DCM.instancesTransferred, action: 'R', transfer: 'out' },
  'study.search': { eventId: DCM.query, action: 'E' },
  'study.query': { eventId: DCM.query, action: 'E' },
};

const VERB_ACTION: Array<[RegExp, ActionCode]> = [
  [/^(store|create|add|import|register|receive)$/, 'C'],
  [/^(view|read|retrieve|get|open|download|print|export)$/, 'R'],
  [/^(update|edit|change|link|unlink|merge|correct|amend|sign|finalise|finalize|confirm|assign|claim|release)$|-change$/, 'U'],
  [/^(delete|purge|remove|revoke|reject)$/, 'D'],
];

/** EventActionCode from the verb (the last segment of the action). */
export function actionCodeOf(action: string): ActionCode {
  const verb = action.slice(action.lastIndexOf('.') + 1);
  for (const [re, code] of VERB_ACTION) if (re.test(verb)) return code;
  return 'E';
}

/**
 * DICOM/FHIR event codes of an action: the fixed ones of PS3.15 A.5.3 first, then by the
 * verb (`*.export` Export, `*.import` Import) and the object type.
 */
export function eventCodesOf(action: string, objectType: string): EventCodes {
  const known = KNOWN[action];
  if (known) return known;
  const verb = action.slice(action.lastIndexOf('.') + 1);
  const subject = action.slice(0, action.indexOf('.'));
  const act = actionCodeOf(action);
  if (subject === 'audit' || objectType === 'audit') return { eventId: DCM.auditLogUsed, action: 'R' }; // A.5.3.1: always R
  if (verb === 'export') return { eventId: DCM.export, action: 'R' }; // A.5.3.6
  if (verb === 'import') return { eventId: DCM.import, action: 'C' }; // A.5.3.7
  if (verb === 'search' || verb === 'query') return { eventId: DCM.query, action: 'E' }; // A.5.3.10
  if (subject === 'auth') return { eventId: DCM.userAuthentication, action: 'E' };
  switch (subject) {
    case 'instance':
    case 'series':
    case 'study':
      if (act === 'D') return { eventId: DCM.studyDeleted, action: 'D' }; // A.5.3.5
      return { eventId: DCM.instancesAccessed, action: act }; // A.5.3.2
    case 'patient':
    case 'report':
    case 'finding':
      return { eventId: DCM.patientRecord, action: act }; // A.5.3.9
    case 'order':
      return { eventId: DCM.orderRecord, action: act }; // A.5.3.8
    case 'procedure':
      return { eventId: DCM.procedureRecord, action: act }; // A.5.3.11
    case 'user':
    case 'account':
    case 'session':
      return { eventId: DCM.securityAlert, eventType: DCM.userSecurityAttributesChanged, action: act }; // A.5.3.12
    case 'token':
    case 'security':
    case 'facility':
      return { eventId: DCM.securityAlert, eventType: DCM.securityConfiguration, action: act };
    default:
      return { eventId: DCM.applicationActivity, action: act };
  }
}

/**
 * EventOutcomeIndicator (PS3.15 A.5.1; FHIR AuditEvent.outcome): 0 success; a failed
 * authentication is a minor failure (4, the user may retry); any other failure is a
 * serious failure (8, the action was refused or terminated).
 */
export function outcomeIndicatorOf(r: Pick<AuditRecord, 'outcome' | 'action'>): '0' | '4' | '8' {
  if (r.outcome === 'success') return '0';
  return r.action.startsWith('auth.') ? '4' : '8';
}

/** How a participant object is typed (RFC 3881 §5.5, PS3.15 A.5.1). */
export interface ObjectCodes {
  /** ParticipantObjectTypeCode / FHIR entity.type: 1 Person, 2 System Object, 3 Organization, 4 Other. */
  type: { code: '1' | '2' | '3' | '4'; display: string };
  /** ParticipantObjectTypeCodeRole / FHIR entity.role. */
  role: { code: string; display: string };
  /** ParticipantObjectIDTypeCode. */
  idType: Code;
  /** FHIR resource type to reference the object as, when it has one. */
  fhirResource?: string | undefined;
}

const PERSON = { code: '1', display: 'Person' } as const;
const SYSTEM_OBJECT = { code: '2', display: 'System Object' } as const;
const ORGANIZATION = { code: '3', display: 'Organization' } as const;

/** A DICOM UID (PS3.5 §9.1): dotted numeric components, at most 64 characters. */
export function isDicomUid(s: string): boolean {
  return s.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/.test(s);
}

/** Codes of an audited object (and of the patient, with type `patient`). */
export function objectCodesOf(type: string, id: string): ObjectCodes {
  const local: Code = { code: type, display: `Enkaku ${type} id`, system: '99ENKAKU' };
  switch (type) {
    case 'patient':
      return { type: PERSON, role: { code: '1', display: 'Patient' }, idType: { code: '2', display: 'Patient Number', system: 'RFC-3881' }, fhirResource: 'Patient' };
    case 'study':
      return {
        type: SYSTEM_OBJECT,
        role: { code: '3', display: 'Report' }, // PS3.15 A.5.3.2: studies are role 3 "Report"
        idType: isDicomUid(id) ? DCM.studyInstanceUid : local,
        fhirResource: 'ImagingStudy',
      };
    case 'report':
      return { type: SYSTEM_OBJECT, role: { code: '3', display: 'Report' }, idType: { code: '9', display: 'Report Number', system: 'RFC-3881' }, fhirResource: 'DiagnosticReport' };
    case 'order':
      return { type: SYSTEM_OBJECT, role: { code: '4', display: 'Domain Resource' }, idType: local, fhirResource: 'ServiceRequest' };
    case 'user':
      return { type: PERSON, role: { code: '6', display: 'User' }, idType: { code: '11', display: 'User Identifier', system: 'RFC-3881' } };
    case 'facility':
      return { type: ORGANIZATION, role: { code: '4', display: 'Domain Resource' }, idType: local, fhirResource: 'Organization' };
    case 'audit':
      // PS3.15 A.5.3.1 Audit Log Used: the log is a Security Resource identified by URI.
      return { type: SYSTEM_OBJECT, role: { code: '13', display: 'Security Resource' }, idType: { code: '12', display: 'URI', system: 'RFC-3881' } };
    case 'query':
      return { type: SYSTEM_OBJECT, role: { code: '24', display: 'Query' }, idType: local };
    default:
      return { type: SYSTEM_OBJECT, role: { code: '4', display: 'Domain Resource' }, idType: local };
  }
}
