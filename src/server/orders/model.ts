/**
 * The orders module's vocabulary, shared by its services and by the interfaces that feed
 * them (HL7 v2 over MLLP, FHIR R4, the web form, SS-MIX2 import). Interfaces translate
 * their messages into these shapes and call the orders services; they own no tables.
 */

/** How urgent an exam order is (HL7 TQ1-9 / OBR-5 S/A/R; FHIR ServiceRequest.priority). */
export type OrderPriority = 'stat' | 'urgent' | 'routine';

/** Where an order or a clinical item came from. */
export type OrderSource = 'hl7' | 'fhir' | 'form';

/** Life of an order (HL7 ORC-5; FHIR ServiceRequest.status). */
export type OrderStatus = 'scheduled' | 'in-progress' | 'completed' | 'cancelled';

/** A patient as a facility identifies them: local ID within an issuer, with the PN groups. */
export interface PatientInput {
  /** The facility's patient ID (HL7 PID-3-1; FHIR Patient.identifier.value). */
  patientId: string;
  /** Assigning authority (PID-3-4; identifier.system); '' when the facility has one namespace. */
  issuer: string;
  /** Person name component groups as in DICOM PN (family^given): alphabetic, kanji, kana. */
  name: { alphabetic: string; ideographic: string; phonetic: string };
  /** M, F, O or ''. */
  sex: string;
  /** YYYYMMDD or ''. */
  birthDate: string;
}

/** One exam order as every interface delivers it. */
export interface OrderInput {
  /** The facility that sent it (bound to the MLLP connection, token or user). */
  facilityId: string;
  patient: PatientInput;
  /** Placer order number (ORC-2 / OBR-2; FHIR identifier PLAC): the facility's key for the order. */
  placerOrderNumber: string;
  /** Filler order number (ORC-3 / OBR-3) when the RIS assigns one. */
  fillerOrderNumber?: string;
  /** Accession number (JAHIS: OBR-18 or IPC-1; DICOM (0008,0050)); the first key for linking studies. */
  accessionNumber: string;
  /** What to do: `new` (ORC-1 NW), `change` (XO), `cancel` (CA). */
  control: 'new' | 'change' | 'cancel';
  priority: OrderPriority;
  /** JJ1017 code (32-character or 16M/16S form) when the facility sends one. */
  jj1017?: string;
  /** DICOM modality (CT, MR, CR, ...), from JJ1017 or the order. */
  modality: string;
  /** Body part in words or JJ1017's code. */
  bodyPart: string;
  /** The exam asked for, as the facility names it (OBR-4 text). */
  procedureText: string;
  /** The clinical question and reason for the exam (検査目的, 依頼コメント). */
  reason: string;
  /** Further clinical notes sent with the order (NTE, OBX). */
  clinicalNotes: string;
  /** Contrast medium requested (from JJ1017 or the order). */
  contrast: boolean;
  /** Requesting physician (name) and department. */
  requester: { name: string; department: string };
  /** When the exam was requested and is scheduled (ISO 8601 UTC). */
  requestedAt: string;
  scheduledAt?: string;
  source: OrderSource;
  /**
   * The sender's message identity for duplicate detection: HL7 MSH-10 control ID, the FHIR
   * resource id and version, or the form submission id.
   */
  messageId: string;
  /**
   * When the sender created the message (HL7 MSH-7; FHIR meta.lastUpdated), ISO 8601.
   * It orders the messages of one order: a message older than the order's latest applied
   * message never overwrites it. Without it, arrival order counts.
   */
  messageTime?: string;
}

/**
 * Why an order message had an effect other than the plain one its kind says:
 * - `created-from-change`: a change for an order never seen created it (the facility's latest truth);
 * - `cancel-placeholder`: a cancel for an order never seen was kept as a cancelled order, so a late new does not revive it;
 * - `stale`: older than the order's latest applied message: kept in the history, not applied;
 * - `already-cancelled`: the order is cancelled: kept in the history, not applied.
 */
export type OrderNote = 'created-from-change' | 'cancel-placeholder' | 'stale' | 'already-cancelled';

/** What happened to an order message. */
export type OrderOutcome =
  | { kind: 'created'; orderId: string; note?: OrderNote }
  | { kind: 'updated'; orderId: string; note?: OrderNote }
  | { kind: 'cancelled'; orderId: string; note?: OrderNote }
  /** The same message (same messageId) was already applied: nothing changed. */
  | { kind: 'duplicate'; orderId: string; note?: OrderNote };

/** A clinical fact about a patient (W4). */
export interface ClinicalItemInput {
  facilityId: string;
  patient: PatientInput;
  kind: 'diagnosis' | 'allergy' | 'lab' | 'prescription' | 'injection';
  /** Code and its system (ICD-10, MEDIS 標準病名, JLAC10, YJ, HOT, ...). */
  code: string;
  codeSystem: string;
  /** The item in words, as sent (Japanese). */
  text: string;
  /** Lab results: numeric value and unit (e.g. creatinine 1.2 mg/dL, eGFR 45 mL/min/1.73m2). */
  value?: number;
  unit?: string;
  /** Allergies: the substance class, e.g. 'contrast-iodine', when recognisable. */
  category?: string;
  /** When observed, prescribed or diagnosed (ISO 8601 UTC or date). */
  observedAt: string;
  /** Active, resolved, discontinued ... as sent. */
  status: string;
  source: 'ssmix2' | 'hl7';
  /** Natural key for idempotent import (e.g. the SS-MIX2 file path + segment index). */
  sourceKey: string;
}

/**
 * Taking in orders. Implemented by the orders service; called by the HL7 listener, the
 * FHIR routes and the web form. `receive` commits the order (and its history entry and
 * audit entry) in one transaction before it resolves, so an interface acknowledges only
 * what is durable. It is idempotent on (facilityId, source, messageId).
 * Errors are AppErrors: `bad_request` (a required field missing or invalid; the message
 * names the field), `not_found` (change or cancel of an order the facility never sent and
 * that cannot be created from the change), `conflict` (e.g. change of a cancelled order),
 * `forbidden` (the actor may not send orders for this facility).
 */
export interface OrderIntake {
  receive(actor: import('../platform/context.ts').Actor, input: OrderInput): Promise<OrderOutcome>;
  /**
   * Group commit: takes in several messages in one transaction and resolves after it
   * committed, with one result per message, in the order given. A message's orders apply
   * in order and all or none; a message that fails (its error is what `receive` would have
   * thrown) leaves the others and changes nothing (a refused change of a cancelled order is
   * still noted in that order's history). Interfaces that batch use it when present.
   */
  receiveMany?(items: readonly OrderIntakeItem[]): Promise<OrderIntakeResult[]>;
  /** How many `receiveMany` calls are worth running at once (1 where the database has one writer). */
  readonly batchesInFlight?: number;
}

/** One message for {@link OrderIntake.receiveMany}: who sent it and the orders it carries. */
export interface OrderIntakeItem {
  actor: import('../platform/context.ts').Actor;
  orders: OrderInput[];
}

/** What became of one message of {@link OrderIntake.receiveMany}: its orders' outcomes, or why none applied. */
export type OrderIntakeResult = { ok: true; outcomes: OrderOutcome[] } | { ok: false; error: unknown };

/** Patient demographics updates (HL7 ADT^A08, SS-MIX2 ADT-00, FHIR Patient). */
export interface PatientUpdates {
  update(actor: import('../platform/context.ts').Actor, facilityId: string, patient: PatientInput): Promise<{ patientRef: string }>;
  /**
   * Several updates of one facility in one transaction, applied in order, each with its own
   * result (the error `update` would have thrown, for that patient only). Importers that
   * batch use it when present.
   */
  updateMany?(actor: import('../platform/context.ts').Actor, facilityId: string, patients: readonly PatientInput[]): Promise<PatientUpdateResult[]>;
}

/** What became of one patient of {@link PatientUpdates.updateMany}. */
export type PatientUpdateResult = { ok: true; patientRef: string } | { ok: false; error: unknown };

/** Taking in clinical context (SS-MIX2 import, live HL7). Idempotent on (facilityId, source, sourceKey). */
export interface ClinicalIntake {
  /** `updated`: items whose sourceKey was known but whose content changed (a corrected result). */
  record(actor: import('../platform/context.ts').Actor, items: ClinicalItemInput[]): Promise<{ added: number; unchanged: number; updated: number }>;
}
