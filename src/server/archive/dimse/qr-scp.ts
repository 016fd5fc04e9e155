/**
 * The Query/Retrieve SCP services on an association (PS3.4 Annex C): C-FIND answers one
 * pending response per match and a final status; C-GET sends the matches back as C-STORE
 * sub-operations on the same association; C-MOVE sends them over a new association to a
 * registered move destination. Each answers pending responses with sub-operation counts
 * and honours C-CANCEL (PS3.7 §9.1.5). Every search and every retrieval is audited with
 * the calling device as actor (keys and counts, never values).
 */
import dimse from 'dcmjs-dimse';
import type { EnkakuConfig } from '../../config.ts';
import type { AuditService } from '../../audit/index.ts';
import type { FacilityService } from '../../orders/index.ts';
import type { Logger } from '../../platform/log.ts';
import type { QueryRepository } from '../repository.ts';
import type { VerifiedReader } from '../read.ts';
import { queryRetrieveClass, type QrModel } from './sopclasses.ts';
import { IdentifierError, readIdentifier, writeIdentifier, type Identifier } from './identifier.ts';
import { EncodedDataset, receivedBytes, sendOnContext, sendRequest, type DimseNetwork } from './internals.ts';
import { knownVr, runFind } from './find.ts';
import { finalStatus, resolveRetrieve, runSubOperations, type RetrieveTarget, type StoreContext, type SubOperationCounts, type SubOperationResult } from './retrieve.ts';
import { openStoreAssociation } from './move.ts';
import { QR_STATUS, QrFailure, TAG, levelOf, type Level } from './qr.ts';

const { CFindResponse, CGetResponse, CMoveResponse } = dimse.responses;

type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CFindRequest = InstanceType<typeof dimse.requests.CFindRequest>;
type CGetRequest = InstanceType<typeof dimse.requests.CGetRequest>;
type CMoveRequest = InstanceType<typeof dimse.requests.CMoveRequest>;
type CFindResponseT = InstanceType<typeof CFindResponse>;
type CGetResponseT = InstanceType<typeof CGetResponse>;
type CMoveResponseT = InstanceType<typeof CMoveResponse>;
type RetrieveResponse = CGetResponseT | CMoveResponseT;

/** What the Query/Retrieve services need from the rest of Enkaku. */
export interface QrDeps {
  config: EnkakuConfig;
  facilities: FacilityService;
  queries: QueryRepository;
  audit: AuditService<any>;
  files: VerifiedReader;
  log: Logger;
}

/** The association a request arrived on, as the services see it. */
export interface QrSession {
  network: DimseNetwork;
  facilityId: string;
  callingAet: string;
  address: string;
  /** The requester's Implementation Class UID (PS3.7 D.3.3.2). */
  peerImplementationClassUid: string;
  /** The presentation context a request arrived on. */
  contextOf(request: object): PresentationContext | undefined;
  /** Storage contexts on which the peer accepted the SCP role (for C-GET, PS3.4 C.4.3.3). */
  storeContexts: StoreContext[];
  /** Operations in progress by message ID, with their cancel flag. */
  operations: Map<number, { cancelled: boolean }>;
}

const LEVEL_OBJECT: Record<Level, string> = { PATIENT: 'patient', STUDY: 'study', SERIES: 'series', IMAGE: 'instance' };

const actorOf = (s: QrSession) => ({ kind: 'device' as const, facilityId: s.facilityId, aet: s.callingAet, address: s.address });

/** Lets the event loop read a C-CANCEL between responses. */
const yieldToNetwork = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Reads the identifier of a request from its received bytes. */
function identifierOf(request: { getDataset(): unknown }, context: PresentationContext): Identifier {
  const bytes = receivedBytes(request.getDataset());
  if (!bytes) throw new QrFailure(QR_STATUS.identifierMismatch, 'the request carries no identifier');
  try {
    return readIdentifier(bytes, context.getAcceptedTransferSyntaxUid() ?? '', knownVr);
  } catch (err) {
    if (err instanceof IdentifierError) throw new QrFailure(QR_STATUS.unableToProcess, err.message.slice(0, 64));
    throw err;
  }
}

function modelOf(request: { getAffectedSopClassUid(): string }, service: 'find' | 'get' | 'move'): QrModel {
  const c = queryRetrieveClass(request.getAffectedSopClassUid());
  if (!c || c.service !== service) throw new QrFailure(QR_STATUS.sopClassNotSupported, 'SOP class not supported for this service');
  return c.model;
}

function failureOf(err: unknown, log: Logger, event: string): QrFailure {
  if (err instanceof QrFailure) return err;
  log.error({ event, err: (err as Error).message }, 'query/retrieve request failed');
  return new QrFailure(QR_STATUS.processingFailure, 'internal error');
}

/**
 * C-FIND SCP (PS3.4 C.4.1.3): matches are computed and audited first, then sent as
 * pending responses (FF00, or FF01 when some keys are not supported), then the final
 * status (0000, or FE00 after a C-CANCEL).
 */
export async function serveFind(deps: QrDeps, s: QrSession, request: CFindRequest, finish: (r: CFindResponseT) => void): Promise<void> {
  const respond = (status: number, comment?: string): CFindResponseT => {
    const r = CFindResponse.fromRequest(request);
    r.setAffectedSopClassUid(request.getAffectedSopClassUid());
    r.setStatus(status);
    if (comment) r.setErrorComment(comment.slice(0, 64));
    return r;
  };
  const context = s.contextOf(request);
  if (!context) return finish(respond(QR_STATUS.processingFailure, 'no presentation context'));
  const messageId = request.getMessageId();
  const op = { cancelled: false };
  s.operations.set(messageId, op);
  const started = performance.now();
  try {
    const model = modelOf(request, 'find');
    const id = identifierOf(request, context);
    const ts = context.getAcceptedTransferSyntaxUid() ?? '';
    const object = LEVEL_OBJECT[levelOf(id, model)];
    let result;
    try {
      result = await runFind({ queries: deps.queries, facilityId: s.facilityId, aet: deps.config.dicom.aet }, model, id, ts);
    } catch (err) {
      if (err instanceof QrFailure && err.status === QR_STATUS.outOfResources) {
        await deps.audit.record({ actor: actorOf(s), action: `${object}.search`, object: { type: object, id: 'query' }, facilityId: s.facilityId, outcome: 'failure', details: { service: 'C-FIND', model, reason: 'too many matches' } });
      }
      throw err;
    }
    await deps.audit.record({
      actor: actorOf(s),
      action: `${object}.search`,
      object: { type: object, id: 'query' },
      facilityId: s.facilityId,
      details: { keys: result.matchingKeys, results: result.identifiers.length, service: 'C-FIND', model },
    });
    const pending = result.unsupportedKeys ? QR_STATUS.pendingWarning : QR_STATUS.pending;
    let sent = 0;
    for (const bytes of result.identifiers) {
      if (op.cancelled) break;
      const r = respond(pending);
      r.setDataset(new EncodedDataset(bytes, ts));
      sendOnContext(s.network, context, r);
      if (++sent % 64 === 0) await yieldToNetwork();
    }
    deps.log.info({ event: 'dimse.find', callingAet: s.callingAet, level: result.level, results: sent, cancelled: op.cancelled, ms: Math.round(performance.now() - started) }, 'C-FIND');
    finish(respond(op.cancelled ? QR_STATUS.cancel : QR_STATUS.success));
  } catch (err) {
    const f = failureOf(err, deps.log, 'dimse.find-error');
    finish(respond(f.status, f.message));
  } finally {
    s.operations.delete(messageId);
  }
}

/**
 * DCMTK's DcmSCU (getscu and tools built on it, implementation class UIDs under the OFFIS
 * root 1.2.276.0.7230010.3) reads no identifier in a C-GET response: one carrying the
 * Failed SOP Instance UID List (PS3.4 C.4.3.1.3.2) is left unread and breaks the
 * association's release. Those requesters get the failure counts only.
 */
function isDcmtkScu(implementationClassUid: string): boolean {
  return implementationClassUid.startsWith('1.2.276.0.7230010.3.');
}

/** Writes the counts of a C-GET/C-MOVE response; Remaining only while sub-operations are pending or after a cancel. */
function setCounts(r: RetrieveResponse, c: SubOperationCounts, withRemaining: boolean): void {
  if (withRemaining) r.setRemaining(c.remaining);
  r.setCompleted(c.completed);
  r.setFailures(c.failed);
  r.setWarnings(c.warning);
}

/** Failed SOP Instance UID List (0008,0058) in the final identifier, as much as fits one UI value (PS3.5 §6.2). */
function failedList(uids: readonly string[], ts: string): Buffer {
  const kept: string[] = [];
  let length = 0;
  for (const u of uids) {
    if (length + u.length + 1 > 65534) break;
    kept.push(u);
    length += u.length + 1;
  }
  return writeIdentifier([{ tag: TAG.FailedSOPInstanceUIDList, vr: 'UI', value: kept }], ts);
}

async function auditRetrieve(deps: QrDeps, s: QrSession, target: RetrieveTarget, r: SubOperationResult, service: 'C-GET' | 'C-MOVE', destination?: string): Promise<void> {
  try {
    await deps.audit.record({
      actor: actorOf(s),
      action: 'instance.retrieve',
      object: target.object,
      facilityId: s.facilityId,
      patientRef: target.patientRef,
      outcome: r.completed + r.warning === 0 && target.rows.length > 0 ? 'failure' : 'success',
      details: { service, level: target.level, instances: r.completed + r.warning, failed: r.failed, warnings: r.warning, bytes: r.bytes, cancelled: r.cancelled, ...(destination ? { destination } : {}) },
    });
  } catch (err) {
    deps.log.error({ event: 'dimse.audit-error', err: (err as Error).message }, 'retrieval could not be audited');
  }
}

/** Common flow of C-GET and C-MOVE once the instances and the way to send them are known. */
async function retrieve(
  deps: QrDeps,
  s: QrSession,
  o: {
    request: CGetRequest | CMoveRequest;
    context: PresentationContext;
    target: RetrieveTarget;
    respond(status: number, comment?: string): RetrieveResponse;
    finish(r: RetrieveResponse): void;
    op: { cancelled: boolean };
    contexts: StoreContext[];
    send(ctx: PresentationContext, req: InstanceType<typeof dimse.requests.CStoreRequest>): Promise<number | undefined>;
    moveOriginator?: { aet: string; messageId: number };
    /** Whether the final response may carry the Failed SOP Instance UID List identifier. */
    failedListAllowed: boolean;
  },
): Promise<SubOperationResult> {
  const ts = o.context.getAcceptedTransferSyntaxUid() ?? '';
  const result = await runSubOperations({
    rows: o.target.rows,
    files: deps.files,
    contexts: o.contexts,
    send: o.send,
    priority: (o.request as unknown as { getPriority(): number }).getPriority() ?? 0,
    ...(o.moveOriginator ? { moveOriginator: o.moveOriginator } : {}),
    cancelled: () => o.op.cancelled,
    progress: (c) => {
      // C-MOVE traffic goes to the destination; keep the mover's association from timing out.
      s.network.lastPduTime = Date.now();
      if (c.remaining === 0) return;
      const r = o.respond(QR_STATUS.pending);
      setCounts(r, c, true);
      sendOnContext(s.network, o.context, r);
    },
    log: deps.log,
  });
  const status = finalStatus(result);
  const final = o.respond(status, status === QR_STATUS.outOfResourcesSubOperations ? 'no sub-operation succeeded' : undefined);
  setCounts(final, result, result.cancelled);
  if (result.failedUids.length && o.failedListAllowed) final.setDataset(new EncodedDataset(failedList(result.failedUids, ts), ts));
  o.finish(final);
  return result;
}

function responder<T extends RetrieveResponse>(make: () => T, request: CGetRequest | CMoveRequest): (status: number, comment?: string) => T {
  return (status, comment) => {
    const r = make();
    r.setAffectedSopClassUid(request.getAffectedSopClassUid());
    r.setStatus(status);
    if (comment) r.setErrorComment(comment.slice(0, 64));
    return r;
  };
}

/**
 * C-GET SCP (PS3.4 C.4.3.3): the matching instances are sent back as C-STORE
 * sub-operations on the same association, on storage contexts for which the requester
 * took the SCP role (SCP/SCU Role Selection, PS3.7 D.3.3.4).
 */
export async function serveGet(deps: QrDeps, s: QrSession, request: CGetRequest, finish: (r: CGetResponseT) => void): Promise<void> {
  const respond = responder(() => CGetResponse.fromRequest(request), request);
  const context = s.contextOf(request);
  if (!context) return finish(respond(QR_STATUS.processingFailure, 'no presentation context'));
  const messageId = request.getMessageId();
  const op = { cancelled: false };
  s.operations.set(messageId, op);
  const started = performance.now();
  try {
    const model = modelOf(request, 'get');
    const target = await resolveRetrieve(deps.queries, s.facilityId, model, identifierOf(request, context));
    const result = await retrieve(deps, s, {
      request,
      context,
      target,
      respond,
      finish: finish as (r: RetrieveResponse) => void,
      op,
      contexts: s.storeContexts,
      send: (ctx, req) => sendRequest(s.network, ctx, req),
      failedListAllowed: !isDcmtkScu(s.peerImplementationClassUid),
    });
    deps.log.info({ event: 'dimse.get', callingAet: s.callingAet, level: target.level, completed: result.completed, failed: result.failed, ms: Math.round(performance.now() - started) }, 'C-GET');
    await auditRetrieve(deps, s, target, result, 'C-GET');
  } catch (err) {
    const f = failureOf(err, deps.log, 'dimse.get-error');
    finish(respond(f.status, f.message));
  } finally {
    s.operations.delete(messageId);
  }
}

/**
 * C-MOVE SCP (PS3.4 C.4.2.3): the Move Destination must be a node registered for the
 * calling facility as destination, else A801. The instances travel over a new
 * association to that node; the mover receives pending counts and the final status.
 */
export async function serveMove(deps: QrDeps, s: QrSession, request: CMoveRequest, finish: (r: CMoveResponseT) => void): Promise<void> {
  const respond = responder(() => CMoveResponse.fromRequest(request), request);
  const context = s.contextOf(request);
  if (!context) return finish(respond(QR_STATUS.processingFailure, 'no presentation context'));
  const messageId = request.getMessageId();
  const op = { cancelled: false };
  s.operations.set(messageId, op);
  const started = performance.now();
  const destination = String(request.getCommandDataset().getElement('MoveDestination') ?? '').trim();
  try {
    const model = modelOf(request, 'move');
    const id = identifierOf(request, context);
    const node = destination ? await deps.facilities.moveDestination(s.facilityId, destination) : undefined;
    if (!node) {
      await deps.audit.record({
        actor: actorOf(s),
        action: 'instance.retrieve',
        object: { type: 'move-destination', id: destination.slice(0, 16) || 'none' },
        facilityId: s.facilityId,
        outcome: 'failure',
        details: { service: 'C-MOVE', reason: 'move destination unknown', destination: destination.slice(0, 16) },
      });
      deps.log.warn({ event: 'dimse.move-refused', callingAet: s.callingAet, destination: destination.slice(0, 16) }, 'C-MOVE to an unregistered destination refused');
      throw new QrFailure(QR_STATUS.moveDestinationUnknown, 'move destination unknown');
    }
    const target = await resolveRetrieve(deps.queries, s.facilityId, model, id);
    let association: Awaited<ReturnType<typeof openStoreAssociation>> | undefined;
    if (target.rows.length) {
      try {
        association = await openStoreAssociation({ node, config: deps.config, rows: target.rows, log: deps.log });
      } catch (err) {
        deps.log.warn({ event: 'dimse.move-association-failed', destination: node.aet, err: (err as Error).message }, 'could not open an association to the move destination');
        const failed: SubOperationResult = { remaining: 0, completed: 0, failed: target.rows.length, warning: 0, failedUids: target.rows.map((r) => r.sop_instance_uid), bytes: 0, cancelled: false, interrupted: true };
        await auditRetrieve(deps, s, target, failed, 'C-MOVE', node.aet);
        const final = respond(QR_STATUS.outOfResourcesSubOperations, 'could not associate with the move destination');
        setCounts(final, failed, false);
        const ts = context.getAcceptedTransferSyntaxUid() ?? '';
        final.setDataset(new EncodedDataset(failedList(failed.failedUids, ts), ts));
        finish(final);
        return;
      }
    }
    let result: SubOperationResult;
    try {
      result = await retrieve(deps, s, {
        request,
        context,
        target,
        respond,
        finish: finish as (r: RetrieveResponse) => void,
        op,
        contexts: association?.contexts ?? [],
        send: (ctx, req) => association!.send(ctx, req),
        moveOriginator: { aet: s.callingAet, messageId },
        failedListAllowed: true,
      });
    } finally {
      await association?.release();
    }
    deps.log.info({ event: 'dimse.move', callingAet: s.callingAet, destination: node.aet, level: target.level, completed: result.completed, failed: result.failed, ms: Math.round(performance.now() - started) }, 'C-MOVE');
    await auditRetrieve(deps, s, target, result, 'C-MOVE', node.aet);
  } catch (err) {
    const f = failureOf(err, deps.log, 'dimse.move-error');
    finish(respond(f.status, f.message));
  } finally {
    s.operations.delete(messageId);
  }
}
