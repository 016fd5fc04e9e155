/**
 * The few parts of dcmjs-dimse 0.3 that its public API does not expose and that
 * query/retrieve needs, gathered here so that an upgrade has one place to check:
 *
 * - the bytes of a received request identifier (dcmjs decodes text with the first
 *   Specific Character Set term only, which loses ISO 2022 designations such as
 *   `\ISO 2022 IR 87`; Enkaku decodes the identifier itself, PS3.5 §6.1);
 * - the presentation context a request arrived on (PS3.8 §9.3.5.1: every response goes
 *   back on it) and sending on a chosen context, since the library's callback may be
 *   called only once and C-FIND/C-GET/C-MOVE answer with many responses;
 * - sending a request and awaiting its response under Enkaku's control (a C-STORE
 *   sub-operation on the chosen context, one at a time), its data set framed straight
 *   from the stored bytes;
 * - the association layer without the SCP role, for the outbound C-MOVE association.
 */
import type net from 'node:net';
import dimse from 'dcmjs-dimse';

const { Dataset, Scp } = dimse;

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type Request = InstanceType<typeof dimse.requests.Request>;

/** A data set whose bytes are already encoded in its transfer syntax: sent as they are. */
export class EncodedDataset extends Dataset {
  constructor(
    private readonly encoded: Buffer,
    transferSyntaxUid: string,
  ) {
    super({}, transferSyntaxUid);
  }

  override getDenaturalizedDataset(): Buffer {
    return this.encoded;
  }
}

const RECEIVED = new WeakMap<object, Buffer>();
const datasetProto = Dataset.prototype as unknown as { _fromElementsBuffer(this: object, bytes: Buffer, ts: string, opts: unknown): unknown };
const parseElements = datasetProto._fromElementsBuffer;
datasetProto._fromElementsBuffer = function (this: object, bytes: Buffer, ts: string, opts: unknown): unknown {
  RECEIVED.set(this, bytes);
  return parseElements.call(this, bytes, ts, opts);
};

/** The bytes of a data set received over the network, as they arrived. */
export function receivedBytes(dataset: unknown): Buffer | undefined {
  return dataset && typeof dataset === 'object' ? RECEIVED.get(dataset) : undefined;
}

/** The association layer (dcmjs-dimse's Network), as far as Enkaku drives it. */
export interface DimseNetwork {
  association: Association | undefined;
  lastPduTime: number | undefined;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  sendAssociationRequest(association: Association): void;
  sendAssociationReleaseRequest(): void;
  sendAbort(): void;
}

interface NetworkInternals extends DimseNetwork {
  socket: { write(data: Uint8Array): boolean };
  pending: Request[];
  _getNextMessageId(): number;
  _sendDimse(d: { context: PresentationContext; command: unknown }): void;
  _performDimse(context: PresentationContext, command: unknown): void;
}

/** Creates the association layer over a connected (or connecting) socket, without any SCP behaviour. */
export function createNetwork(socket: net.Socket | object, opts: Record<string, unknown>): DimseNetwork {
  const NetworkClass = Object.getPrototypeOf(Scp) as new (s: unknown, o: Record<string, unknown>) => DimseNetwork;
  return new NetworkClass(socket, opts);
}

/** Sends a DIMSE message (response or request) on the given presentation context. */
export function sendOnContext(network: object, context: PresentationContext, command: unknown): void {
  (network as NetworkInternals)._sendDimse({ context, command });
}

/** The library's dispatcher of received messages, for subclasses that observe the context. */
export const performDimse = (Scp.prototype as unknown as NetworkInternals)._performDimse;

/** The most bytes handed to the socket in one write. */
const WRITE_CHUNK = 4 * 1024 * 1024;

/**
 * Frames a DIMSE message as P-DATA-TF PDUs (PS3.8 §9.3.5, Annex E.2): PDV items whose
 * message control header marks command or data set and the last fragment, each PDU no
 * longer than the peer's maximum (0: no limit, PS3.8 D.1). Yields buffers of up to
 * {@link WRITE_CHUNK} bytes, so that a data set is copied once and written in few calls.
 */
export function* encodePData(pcId: number, command: Buffer, dataset: Buffer | undefined, maxPduLength: number): Generator<Buffer> {
  const maxValue = Math.max(256, (maxPduLength > 0 ? Math.min(maxPduLength, WRITE_CHUNK) : WRITE_CHUNK) - 6);
  const parts: Array<{ value: Buffer; control: number }> = [];
  const fragment = (bytes: Buffer, isCommand: boolean): void => {
    let pos = 0;
    do {
      const end = Math.min(bytes.length, pos + maxValue);
      parts.push({ value: bytes.subarray(pos, end), control: (isCommand ? 0x01 : 0x00) | (end === bytes.length ? 0x02 : 0x00) });
      pos = end;
    } while (pos < bytes.length);
  };
  fragment(command, true);
  if (dataset) fragment(dataset, false);
  let i = 0;
  while (i < parts.length) {
    let size = 0;
    let j = i;
    while (j < parts.length && (j === i || size + parts[j]!.value.length + 12 <= WRITE_CHUNK)) size += parts[j++]!.value.length + 12;
    const out = Buffer.allocUnsafe(size);
    let o = 0;
    for (; i < j; i++) {
      const { value, control } = parts[i]!;
      out[o] = 0x04; // P-DATA-TF
      out[o + 1] = 0;
      out.writeUInt32BE(value.length + 6, o + 2);
      out.writeUInt32BE(value.length + 2, o + 6); // PDV item length
      out[o + 10] = pcId;
      out[o + 11] = control;
      value.copy(out, o + 12);
      o += value.length + 12;
    }
    yield out;
  }
}

/**
 * Sends a request on a presentation context and resolves with the status of its final
 * response (undefined when the library gave up on it, e.g. a transfer syntax mismatch).
 * Rejects when the connection closes first.
 */
export function sendRequest(network: object, context: PresentationContext, request: Request): Promise<number | undefined> {
  const n = network as NetworkInternals;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (status: number | undefined, err?: Error): void => {
      if (settled) return;
      settled = true;
      const i = n.pending.indexOf(request);
      if (i >= 0) n.pending.splice(i, 1);
      n.removeListener('close', onClose);
      if (err) reject(err);
      else resolve(status);
    };
    const onClose = (): void => finish(undefined, new Error('association closed'));
    request.on('response', (response: { getStatus(): number }) => {
      const status = response.getStatus();
      // Pending (FF00/FF01) is never the answer to a C-STORE; anything else is final.
      if (status !== 0xff00 && status !== 0xff01) finish(status);
    });
    request.on('done', () => finish(undefined));
    n.on('close', onClose);
    request.setMessageId(n._getNextMessageId());
    n.pending.push(request);
    const dataset = request.getDataset();
    if (dataset instanceof EncodedDataset && dataset.getTransferSyntaxUid() === context.getAcceptedTransferSyntaxUid()) {
      const command = request.getCommandDataset().getDenaturalizedCommandDataset();
      const maxPdu = n.association?.getMaxPduLength() ?? 0;
      for (const chunk of encodePData(context.getPresentationContextId(), command, dataset.getDenaturalizedDataset(), maxPdu)) n.socket.write(chunk);
    } else {
      n._sendDimse({ context, command: request });
    }
  });
}
