/**
 * Tables of report delivery (W7, A5): the facilities' delivery endpoints (HL7 receivers and
 * FHIR servers), one row per delivery of a report version (to an endpoint, or by hand), and
 * every attempt of it. Times are ISO 8601 UTC strings.
 */
import type { Selectable } from 'kysely';

/** A facility system that receives reports: an HL7 v2 MLLP receiver or a FHIR R4 server. */
export interface DeliveryEndpointTable {
  id: string;
  facility_id: string;
  /** hl7 | fhir */
  kind: string;
  /** What operators call it (unique per facility), e.g. "電子カルテ". */
  name: string;
  /** 1 active, 0 retired (deliveries are no longer queued to it; rows are never deleted). */
  active: number;
  /** HL7: the receiver's host and port. */
  host: string | null;
  port: number | null;
  /** HL7: 1 when the connection uses TLS. FHIR: taken from the base URL's scheme. */
  tls: number;
  /** HL7 over TLS: PEM files on this server (CA to verify the receiver; client certificate and key). */
  tls_ca: string | null;
  tls_cert: string | null;
  tls_key: string | null;
  /** 1 when plain text off loopback was explicitly allowed (e.g. inside an IPsec VPN). */
  allow_plain: number;
  /** HL7: MSH-3/MSH-4 written (our identity) and MSH-5/MSH-6 (the receiver's), HD namespace IDs. */
  sending_application: string;
  sending_facility: string;
  receiving_application: string;
  receiving_facility: string;
  /** HL7: iso-2022-jp (MSH-18 `~ISO IR87`, JAHIS) | utf-8 (MSH-18 `UNICODE UTF-8`). */
  charset: string;
  /** HL7: FT (one OBX per section, `\.br\` line breaks) | TX (one OBX-5 repetition per line). */
  text_type: string;
  /** HL7: 1 when the signed PDF travels in the message (OBX ED, base64). */
  embed_pdf: number;
  /** FHIR: the server's base URL (…/fhir/R4). */
  base_url: string | null;
  /** FHIR: bearer token sealed with the data folder's SecretBox key; null without one. */
  auth_token_sealed: string | null;
  /** FHIR: the identifier system of the facility's patient IDs (e.g. JP Core `urn:oid:1.2.392.100495.20.3.51.1<医療機関コード>`). */
  patient_id_system: string | null;
  /** Seconds to wait for the ACK or the HTTP answer. */
  timeout_seconds: number;
  created_at: string;
  /** Actor description (no PHI). */
  created_by: string;
  updated_at: string;
}

/** One delivery of one report version: to one endpoint (hl7, fhir) or by hand (manual). */
export interface ReportDeliveryTable {
  id: string;
  /** Unique: `report.deliver:<versionId>:<endpointId>` or `report.manual:<versionId>`. */
  key: string;
  version_id: string;
  /** The report and version number, when known (orders the versions of one report per endpoint). */
  report_id: string | null;
  version_number: number | null;
  facility_id: string;
  /** hl7 | fhir | manual */
  route: string;
  endpoint_id: string | null;
  /** The job that sends it (hl7, fhir). */
  job_id: string | null;
  /**
   * hl7, fhir: pending | delivered | failed (for good, until an operator retries).
   * manual: awaiting-transcription | transcribed | confirmed.
   */
  status: string;
  attempts: number;
  /** HL7: MSH-10 of the message (the same on every attempt, so the receiver can drop duplicates). */
  control_id: string | null;
  /** The last answer: MSA-1 code, or HTTP status (as text). */
  last_code: string | null;
  /** The last error (no PHI). */
  last_error: string | null;
  delivered_at: string | null;
  /** manual: who confirms the transcription, as the facility contract names it (A5). */
  confirmer_role: string | null;
  /** manual: why there is a manual task (`contract`, or `no-endpoint` when the route has no active endpoint). */
  manual_reason: string | null;
  transcribed_by: string | null;
  transcribed_by_name: string | null;
  transcribed_at: string | null;
  confirmed_by: string | null;
  confirmed_by_name: string | null;
  confirmed_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One attempt of a delivery, kept for good ("every attempt visible"). */
export interface ReportDeliveryAttemptTable {
  id: string;
  delivery_id: string;
  /** 1, 2, 3 … */
  attempt: number;
  started_at: string;
  finished_at: string | null;
  /** running | delivered | retry | failed | interrupted (the process stopped mid-attempt) | deferred */
  outcome: string;
  /** MSA-1 (AA, AE, AR, CA, CE, CR) for HL7. */
  ack_code: string | null;
  http_status: number | null;
  /** What went wrong, without PHI: error codes, locations, ASCII diagnostics. */
  error: string | null;
  duration_ms: number | null;
}

/** The tables of this module, merged into the database type. */
export interface DeliveryDatabase {
  delivery_endpoints: DeliveryEndpointTable;
  report_deliveries: ReportDeliveryTable;
  report_delivery_attempts: ReportDeliveryAttemptTable;
}

export type DeliveryEndpoint = Selectable<DeliveryEndpointTable>;
export type ReportDelivery = Selectable<ReportDeliveryTable>;
export type ReportDeliveryAttempt = Selectable<ReportDeliveryAttemptTable>;
