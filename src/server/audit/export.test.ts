/**
 * DICOM (PS3.15 A.5) and FHIR R4 AuditEvent exports: the event codes an ATNA repository
 * or FHIR server files the entries under, the participants, and well-formed XML.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toDicomAuditMessage, toFhirAuditEvent, type AuditRecord } from './index.ts';

function record(over: Partial<AuditRecord> = {}): AuditRecord {
  const details = over.details ?? {};
  return {
    seq: 7,
    id: '6f1c2d3e-0000-4000-8000-000000000007',
    recordedAt: '2025-04-01T03:04:05.678Z',
    actor: { kind: 'user', id: 'u-42', name: 'Dr. Reader', role: 'radiologist' },
    action: 'study.view',
    object: { type: 'study', id: '1.2.392.200036.9116.2.5.1.37.2418295482.1507184833.1' },
    facilityId: 'fac-a',
    patientRef: 'pat-9',
    outcome: 'success',
    clientAddress: '192.0.2.10',
    detailsJson: JSON.stringify(details),
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
    ...over,
    details,
  };
}

/** A small well-formedness check: balanced tags and properly quoted, escaped attributes. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml [^?]*\?>/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = tag.exec(body))) {
    pos = tag.lastIndex;
    if (m[5] !== undefined) {
      assert.ok(stack.length > 0, 'text outside the root element');
      assert.doesNotMatch(m[5], /&(?!(amp|lt|gt|quot|apos|#\d+);)/, 'unescaped & in text');
      continue;
    }
    for (const a of m[3]!.matchAll(/"([^"]*)"/g)) assert.doesNotMatch(a[1]!, /&(?!(amp|lt|gt|quot|apos|#\d+);)|>/, `bad attribute value ${a[1]}`);
    if (m[1]) assert.equal(stack.pop(), m[2], `mismatched </${m[2]}>`);
    else if (!m[4]) stack.push(m[2]!);
  }
  assert.equal(pos, body.length, `not XML at ${body.slice(pos, pos + 40)}`);
  assert.deepEqual(stack, []);
}

describe('FHIR R4 AuditEvent', () => {
  test('study view: DICOM Instances Accessed, read, the reader as requestor, study and patient entities', () => {
    const e = toFhirAuditEvent(record(), { site: 'Enkaku Reading Center' });
    assert.equal(e.resourceType, 'AuditEvent');
    assert.equal(e.id, '6f1c2d3e-0000-4000-8000-000000000007');
    assert.deepEqual(e.type, { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110103', display: 'DICOM Instances Accessed' });
    assert.equal(e.action, 'R');
    assert.equal(e.recorded, '2025-04-01T03:04:05.678Z');
    assert.equal(e.outcome, '0');
    assert.equal(e.agent.length, 1);
    const [agent] = e.agent;
    assert.equal(agent!.requestor, true);
    assert.deepEqual(agent!.who, { identifier: { system: 'urn:enkaku:actor:user', value: 'u-42' }, display: 'Dr. Reader' });
    assert.deepEqual(agent!.network, { address: '192.0.2.10', type: '2' });
    assert.equal(agent!.role?.[0]?.text, 'radiologist');
    assert.equal(e.source.observer.display, 'Enkaku');
    assert.equal(e.source.site, 'Enkaku Reading Center');
    assert.equal(e.source.type[0]!.code, '4');
    const [study, patient] = e.entity;
    assert.deepEqual(study!.what, { identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.392.200036.9116.2.5.1.37.2418295482.1507184833.1' } });
    assert.deepEqual([study!.type.code, study!.role.code], ['2', '3']);
    assert.deepEqual(patient!.what, { reference: 'Patient/pat-9' });
    assert.deepEqual([patient!.type.code, patient!.role.code, patient!.role.system], ['1', '1', 'http://terminology.hl7.org/CodeSystem/object-role']);
    assert.equal(e.subtype, undefined);
  });

  test('instance store by a modality: Transferred, create, source and destination agents', () => {
    const e = toFhirAuditEvent(
      record({ action: 'instance.store', actor: { kind: 'device', id: 'CT01', name: 'CT01', role: 'modality' }, object: { type: 'instance', id: '1.2.3.4' } }),
      { aet: 'ENKAKU' },
    );
    assert.equal(e.type.code, '110104');
    assert.equal(e.action, 'C');
    assert.deepEqual(
      e.agent.map((a) => [a.type?.coding[0]?.code, a.requestor]),
      [
        ['110153', true],
        ['110152', false],
      ],
    );
    assert.equal(e.agent[1]!.who.display, 'ENKAKU');
    assert.deepEqual(e.entity[0]!.what, { identifier: { system: 'urn:enkaku:instance', value: '1.2.3.4' } });
  });

  test('failed login: User Authentication / Login, execute, minor failure with its reason', () => {
    const e = toFhirAuditEvent(record({ action: 'auth.login', outcome: 'failure', object: { type: 'user', id: 'u-42' }, patientRef: null, details: { reason: 'wrong password' } }));
    assert.deepEqual([e.type.code, e.subtype?.[0]?.code, e.subtype?.[0]?.display, e.action, e.outcome], ['110114', '110122', 'Login', 'E', '4']);
    assert.equal(e.outcomeDesc, 'wrong password');
    assert.equal(e.entity.length, 1);
    assert.deepEqual(e.entity[0]!.detail, [{ type: 'details', valueString: '{"reason":"wrong password"}' }]);
  });

  test('role change, audit export, report and order events, serious failure', () => {
    const role = toFhirAuditEvent(record({ action: 'user.role-change', object: { type: 'user', id: 'u-7' }, patientRef: null }));
    assert.deepEqual([role.type.code, role.subtype?.[0]?.code, role.action], ['110113', '110136', 'U']);
    const exp = toFhirAuditEvent(record({ action: 'audit.export', object: { type: 'audit', id: 'audit-trail' }, patientRef: null }));
    assert.deepEqual([exp.type.code, exp.type.display, exp.action], ['110101', 'Audit Log Used', 'R']);
    assert.equal(exp.entity[0]!.role.code, '13');
    const rep = toFhirAuditEvent(record({ action: 'report.update', object: { type: 'report', id: 'r-1' }, outcome: 'failure' }));
    assert.deepEqual([rep.type.code, rep.action, rep.outcome, rep.entity[0]!.what.reference], ['110110', 'U', '8', 'DiagnosticReport/r-1']);
    const del = toFhirAuditEvent(record({ action: 'study.delete' }));
    assert.deepEqual([del.type.code, del.action], ['110105', 'D']);
    const ord = toFhirAuditEvent(record({ action: 'order.create', object: { type: 'order', id: 'o-1' } }));
    assert.deepEqual([ord.type.code, ord.action, ord.entity[0]!.what.reference], ['110109', 'C', 'ServiceRequest/o-1']);
    const q = toFhirAuditEvent(record({ action: 'study.search', object: { type: 'query', id: 'qido' } }));
    assert.deepEqual([q.type.code, q.action], ['110112', 'E']);
  });
});

describe('DICOM audit message (PS3.15 A.5)', () => {
  test('study view: codes, participants in schema order, no PHI', () => {
    const xml = toDicomAuditMessage(record(), { site: 'Enkaku Reading Center' });
    assertWellFormedXml(xml);
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?><AuditMessage>/);
    assert.match(xml, /<EventIdentification EventActionCode="R" EventDateTime="2025-04-01T03:04:05.678Z" EventOutcomeIndicator="0">/);
    assert.ok(xml.includes('<EventID csd-code="110103" codeSystemName="DCM" originalText="DICOM Instances Accessed"/>'));
    assert.ok(xml.includes('<ActiveParticipant UserID="u-42" UserName="Dr. Reader" UserIsRequestor="true" NetworkAccessPointID="192.0.2.10" NetworkAccessPointTypeCode="2">'));
    assert.ok(xml.includes('<AuditSourceIdentification AuditEnterpriseSiteID="Enkaku Reading Center" AuditSourceID="Enkaku"><AuditSourceTypeCode csd-code="4"'));
    assert.ok(
      xml.includes(
        '<ParticipantObjectIdentification ParticipantObjectID="1.2.392.200036.9116.2.5.1.37.2418295482.1507184833.1" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3">' +
          '<ParticipantObjectIDTypeCode csd-code="110180" codeSystemName="DCM" originalText="Study Instance UID"/>',
      ),
    );
    assert.ok(
      xml.includes(
        '<ParticipantObjectIdentification ParticipantObjectID="pat-9" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">' +
          '<ParticipantObjectIDTypeCode csd-code="2" codeSystemName="RFC-3881" originalText="Patient Number"/>',
      ),
    );
    // PS3.15 A.5.1 element order.
    const order = ['<EventIdentification', '<ActiveParticipant', '<AuditSourceIdentification', '<ParticipantObjectIdentification'].map((s) => xml.indexOf(s));
    assert.deepEqual([...order].sort((a, b) => a - b), order);
    assert.ok(!xml.includes('ParticipantObjectName'));
  });

  test('transfer, login failure, role change and audit log use', () => {
    const store = toDicomAuditMessage(record({ action: 'instance.store', actor: { kind: 'device', id: 'CT01', name: 'CT01', role: 'modality' } }), { aet: 'ENKAKU' });
    assertWellFormedXml(store);
    assert.match(store, /EventActionCode="C"/);
    assert.ok(store.includes('<EventID csd-code="110104" codeSystemName="DCM" originalText="DICOM Instances Transferred"/>'));
    assert.match(store, /UserID="CT01"[^>]*UserIsRequestor="true"[^>]*><RoleIDCode csd-code="110153"/);
    assert.match(store, /UserID="ENKAKU" UserName="Enkaku" UserIsRequestor="false"><RoleIDCode csd-code="110152"/);

    const login = toDicomAuditMessage(record({ action: 'auth.login', outcome: 'failure', object: { type: 'user', id: 'u-42' }, patientRef: null, details: { reason: 'locked <out> & "away"' } }));
    assertWellFormedXml(login);
    assert.match(login, /EventActionCode="E"[^>]*EventOutcomeIndicator="4"/);
    assert.ok(login.includes('<EventTypeCode csd-code="110122" codeSystemName="DCM" originalText="Login"/>'));
    assert.ok(login.includes('<EventOutcomeDescription>locked &lt;out&gt; &amp; &quot;away&quot;</EventOutcomeDescription>'));
    assert.ok(login.includes(`<ParticipantObjectDetail type="details" value="${Buffer.from('{"reason":"locked <out> & \\"away\\""}').toString('base64')}"/>`));

    const role = toDicomAuditMessage(record({ action: 'user.role-change', object: { type: 'user', id: 'u-7' }, patientRef: null }));
    assert.ok(role.includes('<EventID csd-code="110113" codeSystemName="DCM" originalText="Security Alert"/><EventTypeCode csd-code="110136"'));

    const used = toDicomAuditMessage(record({ action: 'audit.export', object: { type: 'audit', id: 'audit-trail' }, patientRef: null }));
    assert.match(used, /<EventID csd-code="110101"[^>]*originalText="Audit Log Used"\/>/);
    assert.ok(used.includes('ParticipantObjectTypeCodeRole="13"><ParticipantObjectIDTypeCode csd-code="12" codeSystemName="RFC-3881" originalText="URI"/><ParticipantObjectName>Security Audit Log</ParticipantObjectName>'));
  });

  test('hostile text stays inside its attribute', () => {
    const xml = toDicomAuditMessage(record({ actor: { kind: 'user', id: 'x"/><Evil a="', name: "O'Brien <&>\n\u0001", role: 'r' }, clientAddress: 'ws-01.example.jp' }));
    assertWellFormedXml(xml);
    assert.ok(xml.includes('UserID="x&quot;/&gt;&lt;Evil a=&quot;"'));
    assert.ok(xml.includes('UserName="O&apos;Brien &lt;&amp;&gt;&#10;\uFFFD"'));
    assert.ok(xml.includes('NetworkAccessPointID="ws-01.example.jp" NetworkAccessPointTypeCode="1"'));
    assert.ok(!xml.includes('<Evil'));
  });
});
