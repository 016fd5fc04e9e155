/**
 * FHIR R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html) from audit records, coded
 * as the DICOM messages are (the FHIR AuditEvent mapping of PS3.15 A.5 / IHE BALP):
 * type and subtype from DCM, action C/R/U/D/E, outcome 0/4/8.
 */
import { isIP } from 'node:net';
import { DCM, FHIR_DCM_SYSTEM, eventCodesOf, isDicomUid, objectCodesOf, outcomeIndicatorOf, type Code } from './codes.ts';
import type { AuditRecord, AuditSource } from './model.ts';

/** FHIR R4 Coding. */
export interface FhirCoding {
  system?: string;
  code: string;
  display?: string;
}

/** FHIR R4 Reference. */
export interface FhirReference {
  reference?: string;
  identifier?: { system: string; value: string };
  display?: string;
}

/** The subset of FHIR R4 AuditEvent that Enkaku produces. */
export interface FhirAuditEvent {
  resourceType: 'AuditEvent';
  id: string;
  type: FhirCoding;
  subtype?: FhirCoding[];
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  recorded: string;
  outcome: '0' | '4' | '8' | '12';
  outcomeDesc?: string;
  agent: Array<{
    type?: { coding: FhirCoding[] };
    role?: Array<{ coding?: FhirCoding[]; text?: string }>;
    who: FhirReference;
    name?: string;
    requestor: boolean;
    network?: { address: string; type: '1' | '2' };
  }>;
  source: { site?: string; observer: FhirReference; type: FhirCoding[] };
  entity: Array<{
    what: FhirReference;
    type: FhirCoding;
    role: FhirCoding;
    detail?: Array<{ type: string; valueString: string }>;
  }>;
}

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ROLE_TYPE = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';

/** A DCM code (all event and role codes of the export are DICOM's) as a FHIR Coding. */
function coding(c: Code): FhirCoding {
  return { system: FHIR_DCM_SYSTEM, code: c.code, display: c.display };
}

/** What the entity is: a FHIR reference when Enkaku serves that resource type, else an identifier. */
function what(type: string, id: string): FhirReference {
  // ImagingStudy.identifier convention for a Study Instance UID (FHIR R4 ImagingStudy).
  if (type === 'study' && isDicomUid(id)) return { identifier: { system: 'urn:dicom:uid', value: `urn:oid:${id}` } };
  const res = objectCodesOf(type, id).fhirResource;
  if (res && /^[A-Za-z0-9\-.]{1,64}$/.test(id)) return { reference: `${res}/${id}` };
  return { identifier: { system: `urn:enkaku:${type}`, value: id } };
}

/** The FHIR R4 AuditEvent of a record. */
export function toFhirAuditEvent(r: AuditRecord, source: AuditSource = {}): FhirAuditEvent {
  const ev = eventCodesOf(r.action, r.object.type);
  const observer = source.observer ?? 'Enkaku';
  const reason = typeof r.details.reason === 'string' && r.details.reason ? r.details.reason : undefined;

  const agentType: FhirCoding =
    ev.transfer === 'in'
      ? coding(DCM.sourceRole)
      : ev.transfer === 'out'
        ? coding(DCM.destinationRole)
        : r.actor.kind === 'user'
          ? { system: ROLE_TYPE, code: 'humanuser', display: 'human user' }
          : coding(DCM.application);
  const agents: FhirAuditEvent['agent'] = [
    {
      type: { coding: [agentType] },
      ...(r.actor.role ? { role: [{ coding: [{ system: 'urn:enkaku:role', code: r.actor.role }], text: r.actor.role }] } : {}),
      who: { identifier: { system: `urn:enkaku:actor:${r.actor.kind}`, value: r.actor.id }, display: r.actor.name },
      name: r.actor.name,
      requestor: true,
      ...(r.clientAddress ? { network: { address: r.clientAddress, type: isIP(r.clientAddress) ? ('2' as const) : ('1' as const) } } : {}),
    },
  ];
  if (ev.transfer) {
    agents.push({
      type: { coding: [coding(ev.transfer === 'in' ? DCM.destinationRole : DCM.sourceRole)] },
      who: { display: source.aet ?? observer },
      requestor: false,
    });
  }

  const obj = objectCodesOf(r.object.type, r.object.id);
  const entity: FhirAuditEvent['entity'] = [
    {
      what: what(r.object.type, r.object.id),
      type: { system: ENTITY_TYPE, code: obj.type.code, display: obj.type.display },
      role: { system: OBJECT_ROLE, code: obj.role.code, display: obj.role.display },
      ...(r.detailsJson !== '{}' ? { detail: [{ type: 'details', valueString: r.detailsJson }] } : {}),
    },
  ];
  if (r.patientRef && !(r.object.type === 'patient' && r.object.id === r.patientRef)) {
    const p = objectCodesOf('patient', r.patientRef);
    entity.push({
      what: what('patient', r.patientRef),
      type: { system: ENTITY_TYPE, code: p.type.code, display: p.type.display },
      role: { system: OBJECT_ROLE, code: p.role.code, display: p.role.display },
    });
  }

  return {
    resourceType: 'AuditEvent',
    id: r.id,
    type: coding(ev.eventId),
    ...(ev.eventType ? { subtype: [coding(ev.eventType)] } : {}),
    action: ev.action,
    recorded: r.recordedAt,
    outcome: outcomeIndicatorOf(r),
    ...(reason ? { outcomeDesc: reason } : {}),
    agent: agents,
    source: {
      ...(source.site ? { site: source.site } : {}),
      observer: { display: observer },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity,
  };
}
