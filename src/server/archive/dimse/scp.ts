/**
 * DICOM upper-layer service provider (PS3.7, PS3.8) built on dcmjs-dimse: C-ECHO and
 * C-STORE for registered facilities. Each association is bound to the facility that owns
 * the calling AE title; unknown calling AEs and wrong called AEs are rejected at
 * association time. Received data sets stream straight to the blob store.
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
import { ACCEPTED_TRANSFER_SYNTAXES, NATIVE_TRANSFER_SYNTAXES, VERIFICATION_SOP_CLASS, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from '../dicom/uids.ts';
import { FAILURE_STATUS, STATUS_SUCCESS } from '../status.ts';
import { isStorageSopClass } from './sopclasses.ts';
import { PduFramedSocket } from './framing.ts';

const { Scp, Dataset, Implementation, constants, responses, log: dimseLog } = dimse;
const { CEchoResponse, CStoreResponse } = responses;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason } = constants;

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;

/** What the DIMSE listener needs from the rest of Enkaku. */
export interface DimseDeps {
  config: EnkakuConfig;
  facilities: FacilityService;
  intake: IntakeService;
  blobs: BlobStore;
  log: Logger;
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

/** Chooses the transfer syntax to accept from a proposal: the sender's first one we support. */
function chooseTransferSyntax(abstractSyntax: string, proposed: string[]): string | undefined {
  if (abstractSyntax === VERIFICATION_SOP_CLASS) return proposed.find((ts) => NATIVE_TRANSFER_SYNTAXES.includes(ts));
  return proposed.find((ts) => ACCEPTED_TRANSFER_SYNTAXES.includes(ts));
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
    private pending = new WeakMap<object, Promise<IntakeResult>>();
    private receiving = new Set<Intake>();

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
      for (const { context } of association.getPresentationContexts()) {
        const abstract = context.getAbstractSyntaxUid();
        if (abstract !== VERIFICATION_SOP_CLASS && !isStorageSopClass(abstract)) {
          context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          continue;
        }
        const ts = chooseTransferSyntax(abstract, context.getTransferSyntaxUids());
        if (ts) context.setResult(PresentationContextResult.Accept, ts);
        else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
      // dcmjs-dimse announces min(peer's, ours) as our maximum PDU; announce our own
      // receive limit (PS3.8 D.1) so senders can use large PDUs. This SCP only sends
      // small responses, so the peer's own limit is never exceeded.
      association.setMaxPduLength(Implementation.getMaxPduLength());
      log.info({ event: 'dimse.associate', callingAet: calling, facilityId: facility.id, address: this.address }, 'association accepted');
      this.sendAssociationAccept();
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
      this.pending.set(request, result);
      return writable;
    }

    override createDatasetFromStoreWritableStream(_w: Writable, context: PresentationContext, callback: (d: InstanceType<typeof Dataset>) => void): void {
      // The data set is already on disk; the request carries only an empty placeholder.
      callback(new Dataset({}, context.getAcceptedTransferSyntaxUid() ?? ""));
    }

    override cStoreRequest(request: CStoreRequest, callback: (r: InstanceType<typeof CStoreResponse>) => void): void {
      const response = CStoreResponse.fromRequest(request);
      const pending = this.pending.get(request);
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
