/**
 * DICOM audit messages (PS3.15 A.5, the XML schema of A.5.1, as used by IHE ATNA
 * [ITI-20]) from audit records. The message carries identifiers only: the patient is
 * named by Enkaku's internal patient id, never by name (ARCHITECTURE rule 8).
 */
import { isIP } from 'node:net';
import { DCM, eventCodesOf, objectCodesOf, outcomeIndicatorOf, type Code } from './codes.ts';
import type { AuditRecord, AuditSource } from './model.ts';

/** Escapes text for an XML attribute value or element content (XML 1.0 §2.2, §3.3.3). */
export function xmlEscape(s: string): string {
  return (
    s
      // Characters XML 1.0 does not allow at all.
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // Kept as references so that attribute-value normalisation does not turn them into spaces.
      .replace(/\t/g, '&#9;')
      .replace(/\n/g, '&#10;')
      .replace(/\r/g, '&#13;')
  );
}

function attrs(a: Record<string, string | undefined>): string {
  return Object.entries(a)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => ` ${k}="${xmlEscape(v)}"`)
    .join('');
}

/** A CodedValueType element (`csd-code`, `codeSystemName`, `originalText`; PS3.15 A.5.1). */
function coded(element: string, c: Code): string {
  return `<${element}${attrs({ 'csd-code': c.code, codeSystemName: c.system ?? 'DCM', originalText: c.display })}/>`;
}

/** NetworkAccessPointTypeCode: 1 machine name, 2 IP address (RFC 3881 §5.3). */
function napType(address: string): string | undefined {
  if (!address) return undefined;
  return isIP(address) ? '2' : '1';
}

function reasonOf(r: AuditRecord): string | undefined {
  const reason = r.details.reason;
  return typeof reason === 'string' && reason ? reason : undefined;
}

/**
 * The PS3.15 A.5 `AuditMessage` XML of a record: EventIdentification,
 * ActiveParticipant (the actor; for transfers also Enkaku as the other party),
 * AuditSourceIdentification and ParticipantObjectIdentification (the object and the
 * patient).
 */
export function toDicomAuditMessage(r: AuditRecord, source: AuditSource = {}): string {
  const ev = eventCodesOf(r.action, r.object.type);
  const observer = source.observer ?? 'Enkaku';
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', '<AuditMessage>'];

  const reason = reasonOf(r);
  out.push(`<EventIdentification${attrs({ EventActionCode: ev.action, EventDateTime: r.recordedAt, EventOutcomeIndicator: outcomeIndicatorOf(r) })}>`);
  out.push(coded('EventID', ev.eventId));
  if (ev.eventType) out.push(coded('EventTypeCode', ev.eventType));
  if (reason) out.push(`<EventOutcomeDescription>${xmlEscape(reason)}</EventOutcomeDescription>`);
  out.push('</EventIdentification>');

  // The requestor. In a transfer it is the source (data sent to Enkaku) or the
  // destination (data sent by Enkaku), PS3.15 A.5.3.4; otherwise its role in Enkaku.
  const actorRole: Code =
    ev.transfer === 'in' ? DCM.sourceRole : ev.transfer === 'out' ? DCM.destinationRole : { code: r.actor.role || r.actor.kind, display: r.actor.role || r.actor.kind, system: '99ENKAKU' };
  out.push(
    `<ActiveParticipant${attrs({
      UserID: r.actor.id,
      UserName: r.actor.name,
      UserIsRequestor: 'true',
      NetworkAccessPointID: r.clientAddress || undefined,
      NetworkAccessPointTypeCode: napType(r.clientAddress),
    })}>`,
  );
  out.push(coded('RoleIDCode', actorRole));
  out.push('</ActiveParticipant>');
  if (ev.transfer) {
    out.push(`<ActiveParticipant${attrs({ UserID: source.aet ?? observer, UserName: observer, UserIsRequestor: 'false' })}>`);
    out.push(coded('RoleIDCode', ev.transfer === 'in' ? DCM.destinationRole : DCM.sourceRole));
    out.push('</ActiveParticipant>');
  }

  // AuditSourceTypeCode 4: application server process (RFC 3881 §5.4).
  out.push(`<AuditSourceIdentification${attrs({ AuditEnterpriseSiteID: source.site, AuditSourceID: observer })}>`);
  out.push(coded('AuditSourceTypeCode', { code: '4', display: 'Application Server Process or Thread' }));
  out.push('</AuditSourceIdentification>');

  const obj = objectCodesOf(r.object.type, r.object.id);
  out.push(`<ParticipantObjectIdentification${attrs({ ParticipantObjectID: r.object.id, ParticipantObjectTypeCode: obj.type.code, ParticipantObjectTypeCodeRole: obj.role.code })}>`);
  out.push(coded('ParticipantObjectIDTypeCode', obj.idType));
  if (r.object.type === 'audit') out.push('<ParticipantObjectName>Security Audit Log</ParticipantObjectName>'); // A.5.3.1
  if (r.detailsJson !== '{}') out.push(`<ParticipantObjectDetail${attrs({ type: 'details', value: Buffer.from(r.detailsJson, 'utf8').toString('base64') })}/>`);
  out.push('</ParticipantObjectIdentification>');
  if (r.patientRef && !(r.object.type === 'patient' && r.object.id === r.patientRef)) {
    const p = objectCodesOf('patient', r.patientRef);
    out.push(`<ParticipantObjectIdentification${attrs({ ParticipantObjectID: r.patientRef, ParticipantObjectTypeCode: p.type.code, ParticipantObjectTypeCodeRole: p.role.code })}>`);
    out.push(coded('ParticipantObjectIDTypeCode', p.idType));
    out.push('</ParticipantObjectIdentification>');
  }
  out.push('</AuditMessage>');
  return out.join('');
}
