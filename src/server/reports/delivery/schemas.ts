/**
 * Shapes of report delivery as the API answers them (no secrets, no PHI: deliveries name
 * report versions and endpoints by id only).
 */

/** A delivery endpoint (`GET /api/facilities/:id/delivery-endpoints`). The token is never shown. */
export interface DeliveryEndpointView {
  id: string;
  facilityId: string;
  kind: 'hl7' | 'fhir';
  name: string;
  active: boolean;
  /** HL7. */
  host: string | null;
  port: number | null;
  tls: boolean;
  clientCertificate: boolean;
  allowPlain: boolean;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  charset: 'iso-2022-jp' | 'utf-8';
  textType: 'FT' | 'TX';
  embedPdf: boolean;
  /** FHIR. */
  baseUrl: string | null;
  hasToken: boolean;
  patientIdSystem: string | null;
  timeoutSeconds: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** One attempt of a delivery. */
export interface DeliveryAttemptView {
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  /** running | delivered | retry | failed | interrupted | deferred */
  outcome: string;
  ackCode: string | null;
  httpStatus: number | null;
  error: string | null;
  durationMs: number | null;
}

/** One delivery of a report version (A5: logged per delivery). */
export interface DeliveryView {
  id: string;
  versionId: string;
  reportId: string | null;
  version: number | null;
  facilityId: string;
  route: 'hl7' | 'fhir' | 'manual';
  endpointId: string | null;
  endpointName: string | null;
  jobId: string | null;
  /** hl7, fhir: pending | delivered | failed; manual: awaiting-transcription | transcribed | confirmed. */
  status: string;
  attempts: number;
  controlId: string | null;
  lastCode: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  /** Manual delivery (A5): who confirms, as the contract names it, and who transcribed and confirmed. */
  manual: {
    reason: string | null;
    confirmerRole: string | null;
    transcribedBy: { userId: string; name: string; at: string } | null;
    confirmedBy: { userId: string; name: string; at: string } | null;
  } | null;
  createdAt: string;
  updatedAt: string;
  /** Every attempt, oldest first (detail views only). */
  attemptLog?: DeliveryAttemptView[];
}
