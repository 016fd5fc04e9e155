/**
 * A synthetic JP Core ServiceRequest (JP_ServiceRequest_Common with a contained JP_Patient,
 * JP_Practitioner and an Observation) for tests and demonstrations; no real patient is behind it.
 */
import type { ServiceRequest } from '@medplum/fhirtypes';
import { EN_REPRESENTATION, JJ1017_SYSTEM, JP_DEPARTMENT_EXTENSION, V2_0203 } from './servicerequest.ts';

/** A JP Core style order with its patient contained; `overrides` replace top-level elements. */
export function sampleServiceRequest(overrides: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    meta: { profile: ['http://jpfhir.jp/fhir/core/StructureDefinition/JP_ServiceRequest_Common'] },
    contained: [
      {
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: 'urn:oid:1.2.392.100495.20.3.51.11312345678', value: '00012345' }],
        name: [
          { extension: [{ url: EN_REPRESENTATION, valueCode: 'IDE' }], family: '宮本', given: ['美咲'] },
          { extension: [{ url: EN_REPRESENTATION, valueCode: 'SYL' }], family: 'ミヤモト', given: ['ミサキ'] },
        ],
        gender: 'female',
        birthDate: '1988-09-17',
      },
      { resourceType: 'Practitioner', id: 'dr', name: [{ extension: [{ url: EN_REPRESENTATION, valueCode: 'IDE' }], family: '鈴木', given: ['一郎'] }] },
      { resourceType: 'Observation', id: 'cre', status: 'final', code: { text: 'クレアチニン' }, valueQuantity: { value: 0.82, unit: 'mg/dL' } },
    ],
    extension: [{ url: JP_DEPARTMENT_EXTENSION, valueCodeableConcept: { text: '内科' } }],
    identifier: [
      { type: { coding: [{ system: V2_0203, code: 'PLAC' }] }, system: 'http://hospital.example.jp/order', value: 'ORD-1' },
      { type: { coding: [{ system: V2_0203, code: 'ACSN' }] }, value: 'ACC-1' },
    ],
    status: 'active',
    intent: 'order',
    priority: 'asap',
    code: { coding: [{ system: JJ1017_SYSTEM, code: '60000001000002000000010000000000', display: 'X線CT撮影頭部' }], text: '頭部CT' },
    subject: { reference: '#p1' },
    authoredOn: '2024-06-03T09:15:00+09:00',
    occurrenceDateTime: '2024-06-03T11:00:00+09:00',
    requester: { reference: '#dr' },
    reasonCode: [{ text: '転倒後の頭痛。頭蓋内出血の有無' }],
    note: [{ text: '抗凝固薬内服中' }],
    supportingInfo: [{ reference: '#cre' }],
    ...overrides,
  };
}

