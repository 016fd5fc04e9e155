/**
 * The CapabilityStatement of Enkaku's FHIR R4 interface (FHIR R4 §3.1.0.15 capabilities,
 * `GET [base]/metadata`): what a facility system may send and read, and what Enkaku sends
 * out. It describes the routes registered in app.ts under `/fhir/R4` (capability.test.ts
 * checks that every interaction named here is a route, and every FHIR route is named here):
 * - ServiceRequest (JP Core JP_ServiceRequest_Common): create, update, read; transaction and
 *   batch Bundles holding one ServiceRequest and its Patient (routes.ts);
 * - Communication: create, the read confirmation of a delivered report (reports/delivery);
 * - Observation: create, an AI result about a study (ai-findings.ts);
 * - outgoing (mode client): the final report as a transaction Bundle of JP Core
 *   DiagnosticReport, ImagingStudy, Observation, Patient and Practitioner (diagnostic-report.ts).
 * The statement itself is public, as FHIR servers publish theirs; every other route needs a
 * facility API token (`Authorization: Bearer`, RFC 6750).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { JP_DIAGNOSTIC_REPORT_RADIOLOGY_PROFILE, JP_IMAGING_STUDY_RADIOLOGY_PROFILE, JP_OBSERVATION_RADIOLOGY_FINDINGS_PROFILE, JP_OBSERVATION_RADIOLOGY_IMPRESSION_PROFILE, JP_PRACTITIONER_PROFILE } from './diagnostic-report.ts';
import { JP_PATIENT_PROFILE, JP_SERVICE_REQUEST_PROFILE } from './servicerequest.ts';

/** The FHIR version served (FHIR R4 4.0.1). */
export const FHIR_VERSION = '4.0.1';
/** JP Core's implementation guide (jpfhir.jp JP Core v1.x, `$FHIRJPCoreImplementationGuide`). */
export const JP_CORE_IG = 'http://jpfhir.jp/fhir/core/ImplementationGuide/jpfhir.jp.core';
/**
 * When this statement's content last changed (CapabilityStatement.date): change it with the
 * statement.
 */
export const CAPABILITY_DATE = '2026-11-26';

/** Enkaku's version, from package.json (undefined when it cannot be read). */
function softwareVersion(): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
const VERSION = softwareVersion();

/** How every protected route authenticates (CapabilityStatement.rest.security). */
const SECURITY = {
  cors: false,
  service: [{ text: 'Bearer token (RFC 6750): an Enkaku facility API token' }],
  description:
    'Send `Authorization: Bearer <token>` with an API token created by the operator for the facility ' +
    '(`enkaku token create --facility <name> --scope <scope>`). The token\'s facility is the facility of every resource it ' +
    'writes or reads; a resource of another facility answers 404. Scopes: `orders:write` (ServiceRequest create and update, ' +
    'transaction and batch Bundles, Communication), `orders:read` (ServiceRequest read), `ai:write` (Observation). Without a ' +
    'token: 401 with `WWW-Authenticate: Bearer`; without the scope: 403. Browser sessions are not accepted. Only this ' +
    'statement (`GET /metadata`) is public.',
};

const SERVICE_REQUEST: CapabilityStatementRestResource = {
  type: 'ServiceRequest',
  profile: JP_SERVICE_REQUEST_PROFILE,
  supportedProfile: [JP_SERVICE_REQUEST_PROFILE],
  documentation:
    'Exam orders (JP Core JP_ServiceRequest_Common; docs/fhir.md). POST creates (201; 200 when the same request was already ' +
    'applied), PUT changes (status active) or cancels (status revoked) an order of the token\'s facility, GET reads it back. ' +
    'Ids are assigned by Enkaku; PUT does not create. ETag `W/"<version>"`; PUT honours If-Match (412 when stale). Errors ' +
    'are OperationOutcomes.',
  interaction: [
    { code: 'create', documentation: 'scope orders:write' },
    { code: 'update', documentation: 'scope orders:write; If-Match honoured' },
    { code: 'read', documentation: 'scope orders:read (a token with orders:write reads back what it wrote)' },
  ],
  versioning: 'versioned-update',
  readHistory: false,
  updateCreate: false,
  conditionalCreate: false,
  conditionalRead: 'not-supported',
  conditionalUpdate: false,
  conditionalDelete: 'not-supported',
};

const COMMUNICATION: CapabilityStatementRestResource = {
  type: 'Communication',
  documentation:
    'Read confirmation (参照確認) of a delivered report: category urn:enkaku:communication-category#read-confirmation, about ' +
    'the DiagnosticReport by identifier urn:enkaku:report-version, sender the physician, sent when read (scope orders:write).',
  interaction: [{ code: 'create', documentation: 'scope orders:write' }],
  conditionalCreate: false,
};

const OBSERVATION: CapabilityStatementRestResource = {
  type: 'Observation',
  documentation:
    'An AI result about a study of the token\'s facility: partOf or derivedFrom the ImagingStudy by its Study Instance UID ' +
    '(urn:dicom:uid), device.display the AI system, the text in valueString (scope ai:write). Shown to the reader labelled as ' +
    'AI output; it never becomes a report without a physician.',
  interaction: [{ code: 'create', documentation: 'scope ai:write' }],
  conditionalCreate: false,
};

/** What Enkaku sends to a facility's FHIR server when a report version is final (rest mode client). */
const OUTGOING: CapabilityStatementRestResource[] = [
  {
    type: 'DiagnosticReport',
    supportedProfile: [JP_DIAGNOSTIC_REPORT_RADIOLOGY_PROFILE],
    documentation: 'One per report version, by conditional update on identifier urn:enkaku:report-version, with the signed PDF in presentedForm.',
    interaction: [{ code: 'update' }],
    conditionalUpdate: true,
  },
  {
    type: 'ImagingStudy',
    supportedProfile: [JP_IMAGING_STUDY_RADIOLOGY_PROFILE],
    documentation: 'The study read, by conditional create on its Study Instance UID (ifNoneExist).',
    interaction: [{ code: 'create' }],
    conditionalCreate: true,
  },
  {
    type: 'Observation',
    supportedProfile: [JP_OBSERVATION_RADIOLOGY_FINDINGS_PROFILE, JP_OBSERVATION_RADIOLOGY_IMPRESSION_PROFILE],
    documentation: 'Findings and impression of the version, by conditional update on identifier urn:enkaku:report-observation.',
    interaction: [{ code: 'update' }],
    conditionalUpdate: true,
  },
  {
    type: 'Patient',
    supportedProfile: [JP_PATIENT_PROFILE],
    documentation: 'The facility\'s patient, by conditional create on the patient ID (never overwrites the facility\'s record).',
    interaction: [{ code: 'create' }],
    conditionalCreate: true,
  },
  {
    type: 'Practitioner',
    supportedProfile: [JP_PRACTITIONER_PROFILE],
    documentation: 'The signing physician, by conditional create on the 医籍登録番号.',
    interaction: [{ code: 'create' }],
    conditionalCreate: true,
  },
];

/**
 * The CapabilityStatement answered by `GET /fhir/R4/metadata`.
 * @param baseUrl the public base URL of the FHIR interface (`<public URL>/fhir/R4`), when known
 */
export function capabilityStatement(baseUrl?: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    id: 'enkaku',
    name: 'EnkakuFhirR4',
    title: 'Enkaku FHIR R4 interface (orders in, reports out)',
    status: 'active',
    experimental: false,
    date: CAPABILITY_DATE,
    publisher: 'Enkaku',
    description:
      'Exam orders from facility systems as JP Core ServiceRequest, read confirmations as Communication and AI results as ' +
      'Observation; final reports sent to the facility as a transaction Bundle around a JP Core DiagnosticReport (docs/fhir.md).',
    kind: 'instance',
    software: { name: 'Enkaku', ...(VERSION ? { version: VERSION } : {}) },
    implementation: { description: 'Enkaku teleradiology', ...(baseUrl ? { url: baseUrl } : {}) },
    fhirVersion: FHIR_VERSION,
    format: ['application/fhir+json', 'json'],
    implementationGuide: [JP_CORE_IG],
    rest: [
      {
        mode: 'server',
        documentation: 'Facility systems write orders, read confirmations and AI results, and read their orders back.',
        security: SECURITY,
        resource: [SERVICE_REQUEST, COMMUNICATION, OBSERVATION],
        interaction: [
          { code: 'transaction', documentation: 'POST [base]: a Bundle of type transaction with one ServiceRequest and its Patient (scope orders:write)' },
          { code: 'batch', documentation: 'POST [base]: the same as a batch Bundle (scope orders:write)' },
        ],
      },
      {
        mode: 'client',
        documentation:
          'When a report version is final and the facility\'s contract names the fhir route, Enkaku POSTs one transaction ' +
          'Bundle to every FHIR endpoint registered for the facility (with its bearer token, when one was registered), and ' +
          'retries until it is taken.',
        resource: OUTGOING,
        interaction: [{ code: 'transaction' }],
      },
    ],
  };
}
