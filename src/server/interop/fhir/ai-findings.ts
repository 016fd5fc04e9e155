/**
 * AI results in (I1): an AI system posts its finding as a FHIR R4 `Observation` about an
 * imaging study, `POST /fhir/R4/Observation`, with an API token of scope `ai:write` for the
 * study's facility. Enkaku keeps the text and the system that produced it and shows it to the
 * reader labelled as AI output; it never becomes a report without a physician.
 *
 * Mapping (FHIR R4 Observation):
 * - the study: `partOf` or `derivedFrom` referencing an ImagingStudy by identifier
 *   `urn:dicom:uid` / `urn:oid:<Study Instance UID>`, or a contained ImagingStudy with that identifier;
 * - the source: `device.display` (else `method.text`), e.g. "LungCAD 3.2";
 * - the text: `valueString`, else `code.text` plus `interpretation[].text` and `note[].text`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/context.ts';
import { FhirError } from './outcome.ts';
import { sendFhir, useFhirJson } from './plugin.ts';

const UID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** What an AI Observation says, as Enkaku keeps it. */
export interface AiObservation {
  studyUid: string;
  source: string;
  text: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

function uidOfIdentifier(id: unknown): string | undefined {
  const i = obj(id);
  if (!i) return undefined;
  const value = str(i.value).replace(/^urn:oid:/, '');
  if ((str(i.system) === 'urn:dicom:uid' || str(i.system) === 'urn:ietf:rfc:3986' || str(i.value).startsWith('urn:oid:')) && UID.test(value)) return value;
  return undefined;
}

/**
 * Reads an AI Observation. @throws FhirError 400/422 with an OperationOutcome that says what is
 * missing.
 */
export function aiObservationOf(input: unknown): AiObservation {
  const o = obj(input);
  if (!o || o.resourceType !== 'Observation') throw new FhirError(400, [{ code: 'structure', diagnostics: 'the body must be a FHIR Observation' }]);
  const contained = arr(o.contained).map(obj).filter((c): c is Json => c?.resourceType === 'ImagingStudy');
  let studyUid: string | undefined;
  for (const ref of [...arr(o.partOf), ...arr(o.derivedFrom)].map(obj)) {
    if (!ref) continue;
    studyUid ??= uidOfIdentifier(ref.identifier);
    const local = str(ref.reference);
    if (!studyUid && local.startsWith('#')) {
      const c = contained.find((x) => x.id === local.slice(1));
      for (const id of arr(c?.identifier)) studyUid ??= uidOfIdentifier(id);
    }
  }
  if (!studyUid) throw new FhirError(422, [{ code: 'required', diagnostics: 'partOf or derivedFrom must reference the ImagingStudy by its Study Instance UID (identifier system urn:dicom:uid)', expression: 'Observation.partOf' }]);
  const source = str(obj(o.device)?.display) || str(obj(o.method)?.text);
  if (!source) throw new FhirError(422, [{ code: 'required', diagnostics: 'device.display must name the AI system (product and version)', expression: 'Observation.device' }]);
  const parts = [
    str(o.valueString),
    ...(str(o.valueString) ? [] : [str(obj(o.code)?.text)]),
    ...arr(o.interpretation).map((i) => str(obj(i)?.text)),
    ...arr(o.note).map((n) => str(obj(n)?.text)),
  ].filter(Boolean);
  const text = parts.join('\n');
  if (!text) throw new FhirError(422, [{ code: 'required', diagnostics: 'the finding needs text: valueString, code.text, interpretation.text or note.text', expression: 'Observation.valueString' }]);
  if (text.length > 20_000 || source.length > 200) throw new FhirError(422, [{ code: 'too-long', diagnostics: 'the text is limited to 20,000 characters and the source to 200' }]);
  return { studyUid, source, text };
}

/** What the AI findings route needs. */
export interface AiFindingsFhirOptions {
  /** Authenticates the AI system's API token (scope `ai:write`). */
  authenticate: (req: FastifyRequest, scope: 'ai:write') => Promise<Extract<Actor, { kind: 'token' }>>;
  /** Attaches the finding to the study (reports module). */
  attach: (actor: Actor, finding: AiObservation) => Promise<{ id: string }>;
}

/** `POST /fhir/R4/Observation` (register in an encapsulated plugin with prefix `/fhir/R4`). */
export async function aiFindingsFhirPlugin(app: FastifyInstance, options: AiFindingsFhirOptions): Promise<void> {
  useFhirJson(app, { bodyLimit: 1024 * 1024, what: 'FHIR AI finding' });
  app.post('/Observation', async (req, reply) => {
    const actor = await options.authenticate(req, 'ai:write');
    const finding = aiObservationOf(req.body);
    const { id } = await options.attach(actor, finding);
    const body = { ...(req.body as Json), id, meta: { lastUpdated: new Date().toISOString() } };
    return sendFhir(reply.header('location', `/fhir/R4/Observation/${id}`), 201, body);
  });
}
