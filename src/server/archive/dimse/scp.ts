/**
 * DICOM upper-layer service provider (PS3.7, PS3.8) built on dcmjs-dimse: C-ECHO, C-STORE
 * and Query/Retrieve (C-FIND, C-GET, C-MOVE; qr-scp.ts) for registered facilities. Each
 * association is bound to the facility that owns the calling AE title; unknown calling AEs
 * and wrong called AEs are rejected at association time. Received data sets stream
 * straight to the blob store.
 */
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import type { EnkakuConfig } from '../../config.ts';
import { isLoopback } from '../../config.ts';
import type { BlobStore } from '../../platform/blobs/index.ts';
import type { Logger } from '../../platform/log.ts';
import type { FacilityService } from '../../orders/index.ts';
import type { IntakeService, IntakeResult } from '../service.ts';
import { Intake } from '../intake.ts';
import { buildFileMeta } from '../dicom/filemeta.ts';
import { ACCEPTED_TRANSFER_SYNTAXES, NATIVE_TRANSFER_SYNTAXES, VERIFICATION_SOP_CLASS, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, TS } from '../dicom/uids.ts';
import { FAILURE_STATUS, STATUS_SUCCESS } from '../status.ts';
import type { AuditService } from '../../audit/index.ts';
import type { QueryRepository } from '../repository.ts';
import type { VerifiedReader } from '../read.ts';
import { isStorageSopClass, queryRetrieveClass } from './sopclasses.ts';
import { PduFramedSocket } from './framing.ts';
import { performDimse, type DimseNetwork } from './internals.ts';
import { serveFind, serveGet, serveMove, type QrDeps, type QrSession } from './qr-scp.ts';
import type { StoreContext } from './retrieve.ts';

const { Scp, Dataset, Implementation, constants, responses, log: dimseLog } = dimse;
const { CEchoResponse, CStoreResponse } = responses;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason } = constants;

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;
type CFindRequest = InstanceType<typeof dimse.requests.CFindRequest>;
type CGetRequest = InstanceType<typeof dimse.requests.CGetRequest>;
type CMoveRequest = InstanceType<typeof dimse.requests.CMoveRequest>;
type CCancelRequest = InstanceType<typeof dimse.requests.CCancelRequest>;

/** What the DIMSE listener needs from the rest of Enkaku. */
export interface DimseDeps {
  config: EnkakuConfig;
  facilities: FacilityService;
  intake: IntakeService;
  blobs: BlobStore;
  log: Logger;
  /** The index read by C-FIND, C-GET and C-MOVE. */
  queries: QueryRepository;
  /** Searches and retrievals are audited. */
  audit: AuditService<any>;
  /** Reads stored instances with their SHA-256 checked (C-GET, C-MOVE). */
  files: VerifiedReader;
}

/** A running DIMSE listener. */
export interface DimseListener {
  port: number;
  tls: boolean;
  close(): Promise<void>;
}

// dcmjs-dimse logs association dumps at info level; Enkaku logs its own PHI-free events.
dimseLog.setLevel('silent');
Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
Implementation.setImplementationVersion(IMPLEMENTATION_VERSION);
Implementation.setMaxPduLength(1024 * 1024);

/** Explicit, then implicit VR little endian: the syntaxes of Query/Retrieve identifiers (implicit is the default, PS3.5 A.1). */
const LITTLE_ENDIAN: readonly string[] = [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian];

/**
 * Chooses the transfer syntax to accept from a proposal: the sender's first one we
 * support. On a storage context where the peer takes the SCP role (it receives C-GET
 * sub-operations), a native first choice gives way to explicit, then implicit VR little
 * endian when proposed: native instances are mostly stored in those, and are then sent
 * as stored rather than re-encoded.
 */
function chooseTransferSyntax(abstractSyntax: string, proposed: string[], peerIsScp: boolean): string | undefined {
  if (abstractSyntax === VERIFICATION_SOP_CLASS) return proposed.find((ts) => NATIVE_TRANSFER_SYNTAXES.includes(ts));
  if (queryRetrieveClass(abstractSyntax)) return proposed.find((ts) => LITTLE_ENDIAN.includes(ts));
  const first = proposed.find((ts) => ACCEPTED_TRANSFER_SYNTAXES.includes(ts));
  if (peerIsScp && first && NATIVE_TRANSFER_SYNTAXES.includes(first)) return LITTLE_ENDIAN.find((ts) => proposed.includes(ts)) ?? first;
  return first;
}

/**
 * Starts the DIMSE listener on the configured host and port (TLS when a certificate is
 * configured). Refuses to listen in plain text off loopback unless the operator allowed it.
 */
export async function startDimse(deps: DimseDeps): Promise<DimseListener> {
  const { config, log } = deps;
  const c = config.dicom;
  const useTls = Boolean(c.tlsCert && c.tlsKey);
  if (!useTls && !isLoopback(c.host) && !c.allowPlainOffLoopback) {
    throw new Error(
      `refusing to accept DICOM in plain text on ${c.host}: set ENKAKU_DICOM_TLS_CERT and ENKAKU_DICOM_TLS_KEY, ` +
        'or ENKAKU_DICOM_ALLOW_PLAIN=1 when the network itself is protected (e.g. IPsec VPN)',
    );
  }
  let active = 0;

  class EnkakuScp extends Scp {
    private facilityId = '';
    private callingAet = '';
    private address: string;
    private storing = new WeakMap<object, Promise<IntakeResult>>();
    private receiving = new Set<Intake>();
    /** Presentation context of each received request (responses go back on it). */
    private requestContexts = new WeakMap<object, PresentationContext>();
    private qr: QrSession | undefined;

    constructor(socket: net.Socket, opts: Record<string, unknown>) {
      super(socket, opts);
      this.address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      this.on('networkError', (err: Error) => log.warn({ event: 'dimse.network-error', err: err.message, aet: this.callingAet }, 'DICOM network error'));
      this.on('close', () => {
        for (const i of this.receiving) void i.discard();
        this.receiving.clear();
      });
    }

    override associationRequested(association: Association): void {
      void this.negotiate(association);
    }

    private async negotiate(association: Association): Promise<void> {
      const calling = association.getCallingAeTitle().trim();
      const called = association.getCalledAeTitle().trim();
      this.callingAet = calling;
      if (called !== c.aet) {
        log.warn({ event: 'dimse.reject', reason: 'called-ae', calledAet: called, callingAet: calling, address: this.address }, 'association rejected: wrong called AE title');
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
        return;
      }
      const facility = await deps.facilities.byCallingAet(calling).catch(() => undefined);
      if (!facility) {
        log.warn({ event: 'dimse.reject', reason: 'calling-ae', callingAet: calling, address: this.address }, 'association rejected: calling AE title not registered');
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
        return;
      }
      if (active > c.maxAssociations) {
        log.warn({ event: 'dimse.reject', reason: 'limit', callingAet: calling }, 'association rejected: too many concurrent associations');
        this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
        return;
      }
      this.facilityId = facility.id;
      // SCP/SCU Role Selection is negotiated per SOP class (PS3.7 D.3.3.4); dcmjs-dimse
      // records it on the first context of the class, and echoes the proposed roles.
      const peerIsStorageScp = new Set<string>();
      for (const { context } of association.getPresentationContexts()) {
        if (context.getProviderRole()) peerIsStorageScp.add(context.getAbstractSyntaxUid());
      }
      for (const { context } of association.getPresentationContexts()) {
        const abstract = context.getAbstractSyntaxUid();
        if (abstract !== VERIFICATION_SOP_CLASS && !isStorageSopClass(abstract) && !queryRetrieveClass(abstract)) {
          context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          continue;
        }
        const ts = chooseTransferSyntax(abstract, context.getTransferSyntaxUids(), peerIsStorageScp.has(abstract));
        if (ts) context.setResult(PresentationContextResult.Accept, ts);
        else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
      const storeContexts: StoreContext[] = association
        .getPresentationContexts()
        .map(({ context }) => context)
        .filter((ctx) => ctx.getResult() === PresentationContextResult.Accept && peerIsStorageScp.has(ctx.getAbstractSyntaxUid()) && isStorageSopClass(ctx.getAbstractSyntaxUid()))
        .map((ctx) => ({ context: ctx, sopClassUid: ctx.getAbstractSyntaxUid(), transferSyntaxUid: ctx.getAcceptedTransferSyntaxUid() ?? '' }));
      this.qr = {
        network: this as unknown as DimseNetwork,
        facilityId: facility.id,
        callingAet: calling,
        address: this.address,
        peerImplementationClassUid: association.getImplementationClassUid() ?? '',
        contextOf: (request) => this.requestContexts.get(request),
        storeContexts,
        operations: new Map(),
      };
      // dcmjs-dimse announces min(peer's, ours) as our maximum PDU; announce our own
      // receive limit (PS3.8 D.1) so senders can use large PDUs, then keep the peer's
      // limit for what this SCP sends (C-FIND responses, C-GET sub-operations).
      const peerMaxPdu = association.getMaxPduLength();
      association.setMaxPduLength(Implementation.getMaxPduLength());
      log.info({ event: 'dimse.associate', callingAet: calling, facilityId: facility.id, address: this.address }, 'association accepted');
      this.sendAssociationAccept();
      association.setMaxPduLength(peerMaxPdu);
    }

    /** Notes the presentation context of each request before the library dispatches it. */
    _performDimse(context: PresentationContext, command: object): void {
      this.requestContexts.set(command, context);
      performDimse.call(this, context, command);
    }

    private get qrDeps(): QrDeps {
      return { config, facilities: deps.facilities, queries: deps.queries, audit: deps.audit, files: deps.files, log };
    }

    /** Runs a Query/Retrieve service; its final response goes through the library's callback, once. */
    private serve<Rq, Rs>(service: (d: QrDeps, s: QrSession, rq: Rq, finish: (r: Rs) => void) => Promise<void>, request: Rq, callback: (responses: Rs[]) => void): void {
      if (!this.qr) return;
      let answered = false;
      const finish = (r: Rs): void => {
        if (answered) return;
        answered = true;
        callback([r]);
      };
      service(this.qrDeps, this.qr, request, finish).catch((err: Error) => log.error({ event: 'dimse.qr-error', err: err.message }, 'query/retrieve service failed'));
    }

    override cFindRequest(request: CFindRequest, callback: (responses: Array<InstanceType<typeof dimse.responses.CFindResponse>>) => void): void {
      this.serve(serveFind, request, callback);
    }

    override cGetRequest(request: CGetRequest, callback: (responses: Array<InstanceType<typeof dimse.responses.CGetResponse>>) => void): void {
      this.serve(serveGet, request, callback);
    }

    override cMoveRequest(request: CMoveRequest, callback: (responses: Array<InstanceType<typeof dimse.responses.CMoveResponse>>) => void): void {
      this.serve(serveMove, request, callback);
    }

    /** C-CANCEL (PS3.7 §9.1.5): stops the operation it names at the next response. */
    override cCancelRequest(request: CCancelRequest): void {
      const op = this.qr?.operations.get(request.getMessageIdBeingRespondedTo());
      if (op) op.cancelled = true;
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }

    override cEchoRequest(request: CEchoRequest, callback: (r: InstanceType<typeof CEchoResponse>) => void): void {
      const response = CEchoResponse.fromRequest(request);
      response.setStatus(STATUS_SUCCESS);
      callback(response);
    }

    override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
      const ts = context.getAcceptedTransferSyntaxUid() ?? "";
      const sopClassUid = request.getAffectedSopClassUid();
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      const prefix = buildFileMeta(sopClassUid, sopInstanceUid, ts);
      const startedAt = performance.now();
      const started = Intake.start(deps.blobs, c.maxInstanceBytes + prefix.length, prefix);
      let intake: Intake | undefined;
      let failure: Error | undefined;
      const receiving = this.receiving;
      const writable = new Writable({
        highWaterMark: 4 * 1024 * 1024,
        write(chunk: Buffer, _enc, cb) {
          if (failure) return cb();
          (intake ? Promise.resolve(intake) : started.then((i) => (receiving.add(i), (intake = i))))
            .then((i) => i.write(chunk))
            .then(
              () => cb(),
              (err: Error) => {
                failure = err;
                cb();
              },
            );
        },
      });
      const result = new Promise<IntakeResult>((resolve) => {
        writable.on('finish', () => {
          void (async (): Promise<IntakeResult> => {
            const i = intake ?? (await started);
            receiving.delete(i);
            if (failure) {
              await i.discard();
              throw failure;
            }
            if (i.exceeded) {
              return { ok: false, failure: 'too-large', message: `instance exceeds the limit of ${c.maxInstanceBytes} bytes`, sopClassUid, sopInstanceUid };
            }
            const receivedAt = performance.now();
            const obj = await i.finish();
            const result = await deps.intake.ingestDimse(
              obj,
              { actor: { kind: 'device', facilityId: this.facilityId, aet: this.callingAet, address: this.address }, facilityId: this.facilityId, callingAet: this.callingAet, source: 'dimse' },
              { sopClassUid, sopInstanceUid, transferSyntaxUid: ts, datasetOffset: prefix.length },
            );
            if (log.isLevelEnabled('debug')) log.debug({ event: 'dimse.store-timing', receiveMs: +(receivedAt - startedAt).toFixed(2), storeMs: +(performance.now() - receivedAt).toFixed(2) }, 'C-STORE timing');
            return result;
          })().then(resolve, (err: Error) => {
            log.error({ event: 'dimse.store-error', err: err.message, sopInstanceUid }, 'C-STORE failed');
            resolve({ ok: false, failure: 'processing', message: 'internal error while storing', sopClassUid, sopInstanceUid });
          });
        });
      });
      this.storing.set(request, result);
      return writable;
    }

    override createDatasetFromStoreWritableStream(_w: Writable, context: PresentationContext, callback: (d: InstanceType<typeof Dataset>) => void): void {
      // The data set is already on disk; the request carries only an empty placeholder.
      callback(new Dataset({}, context.getAcceptedTransferSyntaxUid() ?? ""));
    }

    override cStoreRequest(request: CStoreRequest, callback: (r: InstanceType<typeof CStoreResponse>) => void): void {
      const response = CStoreResponse.fromRequest(request);
      const pending = this.storing.get(request);
      if (!pending) {
        response.setStatus(FAILURE_STATUS.processing);
        callback(response);
        return;
      }
      void pending.then((result) => {
        if (result.ok) {
          response.setStatus(STATUS_SUCCESS);
        } else {
          response.setStatus(FAILURE_STATUS[result.failure]);
          response.setErrorComment(result.message.slice(0, 64));
        }
        callback(response);
      });
    }

    override abort(): void {
      for (const i of this.receiving) void i.discard();
      this.receiving.clear();
    }
  }

  const opts: Record<string, unknown> = { associationTimeout: 60_000, pduTimeout: 120_000, connectTimeout: 180_000 };
  const onSocket = (socket: net.Socket): void => {
    active++;
    // Responses are small and awaited by the sender: never hold them back (Nagle).
    socket.setNoDelay(true);
    socket.on('close', () => active--);
    socket.on('error', () => undefined);
    // Association PDUs are small; P-DATA PDUs never exceed the maximum we announce.
    const framed = new PduFramedSocket(socket, Implementation.getMaxPduLength() + 64 * 1024, (length) =>
      log.warn({ event: 'dimse.pdu-too-large', length, address: socket.remoteAddress }, 'connection closed: PDU larger than announced maximum'),
    );
    const scp = new EnkakuScp(framed as unknown as net.Socket, opts);
    void scp;
  };
  const server = useTls
    ? tls.createServer(
        {
          key: fs.readFileSync(c.tlsKey!),
          cert: fs.readFileSync(c.tlsCert!),
          ...(c.tlsCa ? { ca: fs.readFileSync(c.tlsCa), requestCert: true, rejectUnauthorized: true } : {}),
          minVersion: config.tlsMinVersion,
        },
        onSocket,
      )
    : net.createServer(onSocket);
  server.on('tlsClientError', (err) => log.warn({ event: 'dimse.tls-error', err: err.message }, 'DICOM TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(c.port, c.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : c.port;
  log.info({ event: 'dimse.listen', host: c.host, port, aet: c.aet, tls: useTls }, 'DICOM listener ready');
  const sockets = new Set<net.Socket>();
  server.on(useTls ? 'secureConnection' : 'connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port,
    tls: useTls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
