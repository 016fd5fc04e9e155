/**
 * Query/Retrieve SCU (PS3.4 Annex C, Study Root information model) for the facility's
 * PACS: C-FIND, C-GET and C-MOVE, over plain TCP or DICOM TLS (PS3.15 B.1).
 *
 * Built on dcmjs-dimse's Network (through its exported `Scp` class, which also answers
 * requests arriving on the association): Enkaku builds the association itself, so that
 * for C-GET it can propose the storage SOP classes with the SCP/SCU Role Selection
 * sub-item (PS3.7 D.3.3.4) and the transfer syntaxes it stores, and receives each C-STORE
 * sub-operation's data set as a byte stream straight to disk, as its C-STORE SCP does
 * (the bytes are never parsed into a data set and re-encoded).
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import { PduFramedSocket } from '../dimse/framing.ts';
import { ACCEPTED_TRANSFER_SYNTAXES, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, NATIVE_TRANSFER_SYNTAXES, TS } from '../dicom/uids.ts';

const { Scp, Dataset, constants, requests, responses, log: dimseLog } = dimse;
const { CFindRequest, CGetRequest, CMoveRequest } = requests;
const { CStoreResponse } = responses;

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CStoreRequestT = InstanceType<typeof dimse.requests.CStoreRequest>;
type RequestT = InstanceType<typeof dimse.requests.Request>;
type ResponseT = InstanceType<typeof dimse.responses.Response>;

// dcmjs-dimse logs association dumps at info level; Enkaku logs its own PHI-free events.
dimseLog.setLevel('silent');

/** The logger of the dcmjs copy that dcmjs-dimse parses data sets with. */
const dcmjsLog = (createRequire(createRequire(import.meta.url).resolve('dcmjs-dimse'))('dcmjs') as { log: { getLevel(): number; setLevel(level: number | string, persist?: boolean): void } }).log;

/** Study Root Query/Retrieve SOP classes (PS3.4 C.6.2). */
export const STUDY_ROOT = {
  find: constants.SopClass.StudyRootQueryRetrieveInformationModelFind as string,
  move: constants.SopClass.StudyRootQueryRetrieveInformationModelMove as string,
  get: constants.SopClass.StudyRootQueryRetrieveInformationModelGet as string,
};

/** Largest PDU Enkaku receives on its associations with PACSes (PS3.8 D.1), as its C-STORE SCP announces. */
const MAX_PDU = 1024 * 1024;

/** Pending statuses of C-FIND, C-GET and C-MOVE (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4). */
const PENDING = new Set([0xff00, 0xff01]);

/** The called node. */
export interface DicomPeer {
  aet: string;
  host: string;
  port: number;
  /** Connect with DICOM TLS. */
  tls: boolean;
}

/** How to associate. */
export interface ScuOptions {
  callingAet: string;
  /** Options for DICOM TLS connections (client certificate, CA, minimum version). */
  tls?: tls.ConnectionOptions | undefined;
  /** Aborts the association. */
  signal?: AbortSignal | undefined;
  /** Connection and association set-up limit (default 20 s). */
  connectTimeoutMs?: number | undefined;
  /** Longest silence on an established association (default 10 min: a PACS may send no pending responses during a long retrieve). */
  idleTimeoutMs?: number | undefined;
}

/** One C-STORE sub-operation arriving on a C-GET association. */
export interface IncomingStore {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
}

/** Where C-STORE sub-operations of a C-GET go. */
export interface StoreSink {
  /**
   * Opens the stream that receives one data set, in the accepted transfer syntax, as sent.
   * `status` settles with the C-STORE status to answer once the data set is stored.
   */
  open(store: IncomingStore): { stream: Writable; status: Promise<number> };
  /** The association ended: whatever was not finished is dropped. */
  close(): Promise<void>;
}

/** Final response of a C-GET or C-MOVE (PS3.4 C.4.2.1.4, C.4.3.1.3). */
export interface RetrieveOutcome {
  /** Final status; -1 when the association ended without one. */
  status: number;
  completed: number;
  failed: number;
  warning: number;
}

/** A proposed presentation context. */
interface ProposedContext {
  abstractSyntax: string;
  transferSyntaxes: readonly string[];
  /** Propose the SCP role for this SOP class (Enkaku stores what the PACS sends, PS3.7 D.3.3.4). */
  scpRole?: boolean;
}

/** Storage SOP classes proposed for C-GET: dcmjs-dimse's list and common ones it lacks (PS3.4 B.5). */
const STORAGE_CLASSES: readonly string[] = [
  ...new Set([
    ...Object.values(constants.StorageClass as Record<string, string>),
    '1.2.840.10008.5.1.4.1.1.88.59', // Key Object Selection Document
    '1.2.840.10008.5.1.4.1.1.11.1', // Grayscale Softcopy Presentation State
    '1.2.840.10008.5.1.4.1.1.11.2', // Color Softcopy Presentation State
    '1.2.840.10008.5.1.4.1.1.66', // Raw Data
    '1.2.840.10008.5.1.4.1.1.66.1', // Spatial Registration
    '1.2.840.10008.5.1.4.1.1.66.4', // Segmentation
    '1.2.840.10008.5.1.4.1.1.6.2', // Enhanced US Volume
    '1.2.840.10008.5.1.4.1.1.481.2', // RT Dose
    '1.2.840.10008.5.1.4.1.1.481.3', // RT Structure Set
    '1.2.840.10008.5.1.4.1.1.481.5', // RT Plan
  ]),
];

/** Image classes that PACSes often keep compressed: each gets a second context with the compressed syntaxes Enkaku stores. */
const OFTEN_COMPRESSED: readonly string[] = [
  '1.2.840.10008.5.1.4.1.1.1', // CR
  '1.2.840.10008.5.1.4.1.1.1.1', // DX for presentation
  '1.2.840.10008.5.1.4.1.1.1.1.1', // DX for processing
  '1.2.840.10008.5.1.4.1.1.1.2', // MG for presentation
  '1.2.840.10008.5.1.4.1.1.1.2.1', // MG for processing
  '1.2.840.10008.5.1.4.1.1.1.3', // intra-oral for presentation
  '1.2.840.10008.5.1.4.1.1.2', // CT
  '1.2.840.10008.5.1.4.1.1.2.1', // Enhanced CT
  '1.2.840.10008.5.1.4.1.1.3.1', // US multi-frame
  '1.2.840.10008.5.1.4.1.1.4', // MR
  '1.2.840.10008.5.1.4.1.1.4.1', // Enhanced MR
  '1.2.840.10008.5.1.4.1.1.6.1', // US
  '1.2.840.10008.5.1.4.1.1.7', // Secondary Capture
  '1.2.840.10008.5.1.4.1.1.7.2', // multi-frame grayscale byte SC
  '1.2.840.10008.5.1.4.1.1.7.3', // multi-frame grayscale word SC
  '1.2.840.10008.5.1.4.1.1.7.4', // multi-frame true colour SC
  '1.2.840.10008.5.1.4.1.1.12.1', // XA
  '1.2.840.10008.5.1.4.1.1.12.1.1', // Enhanced XA
  '1.2.840.10008.5.1.4.1.1.12.2', // RF
  '1.2.840.10008.5.1.4.1.1.13.1.3', // breast tomosynthesis
  '1.2.840.10008.5.1.4.1.1.20', // NM
  '1.2.840.10008.5.1.4.1.1.77.1.1', // VL endoscopic
  '1.2.840.10008.5.1.4.1.1.77.1.4', // VL photographic
  '1.2.840.10008.5.1.4.1.1.128', // PET
  '1.2.840.10008.5.1.4.1.1.130', // Enhanced PET
];

/** Lossless first, so that a PACS choosing by our order keeps the original pixels. */
const COMPRESSED_SYNTAXES: readonly string[] = [
  TS.JpegLosslessSV1,
  TS.JpegLsLossless,
  TS.Jpeg2000Lossless,
  TS.RleLossless,
  TS.HtJpeg2000Lossless,
  TS.HtJpeg2000LosslessRpcl,
  TS.JpegLosslessP14,
  TS.JpegBaseline,
  TS.JpegExtended,
  TS.JpegLsNearLossless,
  TS.Jpeg2000,
  TS.HtJpeg2000,
].filter((ts) => ACCEPTED_TRANSFER_SYNTAXES.includes(ts));

/**
 * Which storage contexts a C-GET association proposes:
 * - `all`: every storage class with the uncompressed syntaxes (Enkaku in the SCP role),
 *   and a second context with the compressed syntaxes for the image classes PACSes often
 *   hold compressed; a PACS that picks the context matching each file's syntax sends
 *   everything as stored;
 * - `compressed`: only those image classes, with only the compressed syntaxes: for PACSes
 *   that send each instance over the first context accepted for its class (dcmtk's
 *   dcmqrscp does) and cannot convert what they hold compressed to it.
 */
export type GetContexts = 'all' | 'compressed';

/** The presentation contexts of a C-GET association (at most 128, PS3.8 §9.3.2.2). */
export function getContexts(which: GetContexts = 'all'): ProposedContext[] {
  const out: ProposedContext[] = [{ abstractSyntax: STUDY_ROOT.get, transferSyntaxes: [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian] }];
  if (which === 'all') for (const uid of STORAGE_CLASSES) out.push({ abstractSyntax: uid, transferSyntaxes: NATIVE_TRANSFER_SYNTAXES, scpRole: true });
  for (const uid of OFTEN_COMPRESSED) out.push({ abstractSyntax: uid, transferSyntaxes: COMPRESSED_SYNTAXES, scpRole: true });
  return out.slice(0, 128);
}

function statusHex(s: number): string {
  return `0x${s.toString(16).padStart(4, '0')}`;
}

/** One association with the peer that sends `reqs` one after the other, then releases. */
function associate(peer: DicomPeer, opts: ScuOptions, contexts: ProposedContext[], reqs: RequestT[], sink?: StoreSink): Promise<void> {
  const where = `${peer.aet} at ${peer.host}:${peer.port}`;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let released = false;
    let failure: Error | undefined;
    const socket = peer.tls ? tls.connect({ host: peer.host, port: peer.port, ...opts.tls }) : net.connect({ host: peer.host, port: peer.port });
    socket.setNoDelay(true);
    const maxPdu = MAX_PDU;
    const framed = new PduFramedSocket(socket as net.Socket, maxPdu + 64 * 1024, (length) => {
      failure = new Error(`${where} sent a PDU of ${length} bytes, larger than the ${maxPdu} announced`);
    });
    // dcmjs warns on the console about every multi-valued Specific Character Set (ISO 2022
    // code extensions, i.e. most Japanese answers) while dcmjs-dimse parses a PDU; the
    // answers are read for UIDs, dates and codes only, so warnings are muted while this
    // association's PDUs are dispatched (synchronously) to the parser.
    const emit = framed.emit.bind(framed);
    framed.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'data') return emit(event, ...args);
      const level = dcmjsLog.getLevel();
      dcmjsLog.setLevel('error', false);
      try {
        return emit(event, ...args);
      } finally {
        dcmjsLog.setLevel(level, false);
      }
    };
    const pending = new WeakMap<object, Promise<number>>();

    class PriorsScu extends Scp {
      override createStoreWritableStream(context: PresentationContext, request: CStoreRequestT): Writable {
        if (!sink) {
          // No C-STORE is expected on this association: drop the bytes and refuse it.
          pending.set(request, Promise.resolve(0x0110));
          return new Writable({ write: (_c, _e, cb) => cb() });
        }
        // C-STORE sub-operation of a C-GET (PS3.4 C.4.3.3): the data set streams to the sink as received.
        const { stream, status } = sink.open({
          sopClassUid: request.getAffectedSopClassUid(),
          sopInstanceUid: request.getAffectedSopInstanceUid(),
          transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '',
        });
        pending.set(request, status);
        return stream;
      }

      override createDatasetFromStoreWritableStream(_w: Writable, context: PresentationContext, callback: (d: InstanceType<typeof Dataset>) => void): void {
        // The data set is already on its way to disk; the request carries only a placeholder.
        callback(new Dataset({}, context.getAcceptedTransferSyntaxUid() ?? ''));
      }

      override cStoreRequest(request: CStoreRequestT, callback: (r: InstanceType<typeof CStoreResponse>) => void): void {
        const response = CStoreResponse.fromRequest(request);
        const status = pending.get(request);
        if (!status) {
          response.setStatus(0x0110);
          callback(response);
          return;
        }
        void status.then((s) => {
          response.setStatus(s);
          callback(response);
        });
      }

      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }

      override abort(): void {
        failure ??= new Error(`${where} aborted the association`);
      }
    }

    const scu = new PriorsScu(framed as unknown as net.Socket, {
      connectTimeout: opts.idleTimeoutMs ?? 600_000,
      associationTimeout: opts.connectTimeoutMs ?? 20_000,
      pduTimeout: opts.idleTimeoutMs ?? 600_000,
    });
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      void (sink?.close() ?? Promise.resolve()).finally(() => (err ? reject(err) : resolve()));
    };
    const fail = (err: Error): void => {
      failure ??= err;
      socket.destroy();
    };
    const onAbort = (): void => {
      try {
        scu.sendAbort();
      } catch {
        // the association may not exist yet
      }
      fail(new Error(`retrieval from ${where} was interrupted`));
    };
    const connectTimer = setTimeout(() => fail(new Error(`${where} did not answer within ${(opts.connectTimeoutMs ?? 20_000) / 1000} s`)), opts.connectTimeoutMs ?? 20_000);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    const association: Association = new dimse.association.Association(opts.callingAet, peer.aet);
    association.setMaxPduLength(maxPdu);
    association.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
    association.setImplementationVersion(IMPLEMENTATION_VERSION);
    const roles = new Set<string>();
    for (const c of contexts) {
      const id = association.addPresentationContext(c.abstractSyntax);
      for (const ts of c.transferSyntaxes) association.addTransferSyntaxToPresentationContext(id, ts);
      // One role selection sub-item per SOP class (PS3.7 D.3.3.4), on its first context.
      if (c.scpRole && !roles.has(c.abstractSyntax)) {
        roles.add(c.abstractSyntax);
        const pc = association.getPresentationContext(id);
        pc.setUserRole(false);
        pc.setProviderRole(true);
      }
    }

    scu.on('connect', () => scu.sendAssociationRequest(association));
    scu.on('associationAccepted', (accepted: Association) => {
      clearTimeout(connectTimer);
      const needed = new Set(reqs.map((r) => r.getAffectedSopClassUid()));
      for (const uid of needed) {
        const ok = accepted.getPresentationContexts().some((p) => p.context.getAbstractSyntaxUid() === uid && p.context.getResult() === constants.PresentationContextResult.Accept);
        if (!ok) return fail(new Error(`${where} does not accept SOP class ${uid} (Study Root Query/Retrieve)`));
      }
      scu.sendRequests(reqs);
    });
    scu.on('associationRejected', (r: { result: number; source: number; reason: number }) =>
      fail(new Error(`${where} rejected the association (result ${r.result}, source ${r.source}, reason ${r.reason}): check that it knows AE title ${opts.callingAet}`)),
    );
    scu.on('done', () => scu.sendAssociationReleaseRequest());
    scu.on('associationReleaseResponse', () => {
      released = true;
      framed.end();
    });
    // dcmjs-dimse prefixes its messages with a log id ("PACS -> "): name the node instead.
    scu.on('networkError', (err: Error) => fail(new Error(`${where}: ${err.message.replace(/^[^>]*-> /, '')}`)));
    socket.on('error', (err: Error) => (failure ??= new Error(`${where}: ${err.message}`)));
    socket.on('close', () => {
      if (released && !failure) finish();
      else finish(failure ?? new Error(`${where} closed the connection before the association was released`));
    });
  });
}

/**
 * C-FIND (PS3.4 C.4.1), Study Root: one request per identifier on one association.
 * @returns the matches of each identifier (naturalized elements, as dcmjs names them)
 * @throws when the association fails or a C-FIND ends with a failure status
 */
export async function cFind(peer: DicomPeer, opts: ScuOptions, identifiers: Array<Record<string, unknown>>): Promise<Array<Array<Record<string, unknown>>>> {
  if (identifiers.length === 0) return [];
  const results: Array<Array<Record<string, unknown>>> = identifiers.map(() => []);
  const finals: number[] = identifiers.map(() => -1);
  const reqs = identifiers.map((id, i) => {
    const r = new CFindRequest();
    r.setDataset(new Dataset(id, TS.ExplicitVRLittleEndian));
    r.on('response', (res: ResponseT) => {
      const s = res.getStatus();
      if (PENDING.has(s)) {
        const ds = res.getDataset();
        if (ds) results[i]!.push(ds.getElements());
      } else finals[i] = s;
    });
    return r;
  });
  await associate(peer, opts, [{ abstractSyntax: STUDY_ROOT.find, transferSyntaxes: [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian] }], reqs);
  finals.forEach((s) => {
    if (s !== 0) throw new Error(s === -1 ? `C-FIND at ${peer.aet} ended without a final response` : `C-FIND at ${peer.aet} failed with status ${statusHex(s)}`);
  });
  return results;
}

function trackRetrieve(r: RequestT, onFinal: (o: RetrieveOutcome) => void): void {
  r.on('response', (res: ResponseT) => {
    const s = res.getStatus();
    if (PENDING.has(s)) return;
    const counts = res as unknown as { getCompleted(): number; getFailures(): number; getWarnings(): number };
    onFinal({ status: s, completed: counts.getCompleted() ?? 0, failed: counts.getFailures() ?? 0, warning: counts.getWarnings() ?? 0 });
  });
}

/**
 * C-GET (PS3.4 C.4.3) of whole studies on one association: the PACS sends each instance
 * back as a C-STORE sub-operation on the same association, into `sink`.
 * @param contexts - which storage contexts to propose (see {@link GetContexts})
 * @param onStudy - called with each study's final response as it arrives
 */
export async function cGet(
  peer: DicomPeer,
  opts: ScuOptions,
  studyUids: string[],
  sink: StoreSink,
  contexts: GetContexts = 'all',
  onStudy?: (studyUid: string, o: RetrieveOutcome) => Promise<void> | void,
): Promise<RetrieveOutcome[]> {
  const outcomes: RetrieveOutcome[] = studyUids.map(() => ({ status: -1, completed: 0, failed: 0, warning: 0 }));
  const done: Array<Promise<void> | void> = [];
  const reqs = studyUids.map((uid, i) => {
    const r = CGetRequest.createStudyGetRequest(uid);
    r.setAddStorageSopClassesToAssociation(false);
    trackRetrieve(r, (o) => {
      outcomes[i] = o;
      done.push(onStudy?.(uid, o));
    });
    return r;
  });
  if (reqs.length) await associate(peer, opts, getContexts(contexts), reqs, sink);
  await Promise.all(done);
  return outcomes;
}

/**
 * C-MOVE (PS3.4 C.4.2) of whole studies to `destinationAet` on one association: the PACS
 * opens its own association to the destination and stores the instances there.
 * @param onStudy - called with each study's final response as it arrives
 */
export async function cMove(peer: DicomPeer, opts: ScuOptions, destinationAet: string, studyUids: string[], onStudy?: (studyUid: string, o: RetrieveOutcome) => Promise<void> | void): Promise<RetrieveOutcome[]> {
  const outcomes: RetrieveOutcome[] = studyUids.map(() => ({ status: -1, completed: 0, failed: 0, warning: 0 }));
  const done: Array<Promise<void> | void> = [];
  const reqs = studyUids.map((uid, i) => {
    const r = CMoveRequest.createStudyMoveRequest(destinationAet, uid);
    trackRetrieve(r, (o) => {
      outcomes[i] = o;
      done.push(onStudy?.(uid, o));
    });
    return r;
  });
  if (reqs.length) await associate(peer, opts, [{ abstractSyntax: STUDY_ROOT.move, transferSyntaxes: [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian] }], reqs);
  await Promise.all(done);
  return outcomes;
}

/** A retrieve's final status as text for users: status code and sub-operation counts. */
export function describeOutcome(o: RetrieveOutcome): string {
  if (o.status === -1) return 'no final response';
  return `status ${statusHex(o.status)}: ${o.completed} completed, ${o.failed} failed, ${o.warning} with warnings`;
}
