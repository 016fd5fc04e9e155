/**
 * The storage association a C-MOVE opens to its destination (PS3.4 C.4.2.3): Enkaku is
 * the Storage SCU, calling with its own AE title, to a node registered for the mover's
 * facility (never an address taken from the request). DICOM TLS (PS3.15 B.1) when the
 * node is registered with TLS, presenting Enkaku's DICOM certificate as client
 * certificate when one is configured and verifying the destination against the
 * configured CA bundle (or the system's roots).
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import dimse from 'dcmjs-dimse';
import type { EnkakuConfig } from '../../config.ts';
import type { DicomNode } from '../../platform/db/schema.ts';
import type { Logger } from '../../platform/log.ts';
import { TS } from '../dicom/uids.ts';
import { PduFramedSocket } from './framing.ts';
import { createNetwork, sendRequest } from './internals.ts';
import { NATIVE } from './native.ts';
import type { InstanceRow, StoreContext } from './retrieve.ts';

const { Association } = dimse.association;
const { Implementation, constants } = dimse;

type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type StoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;

/** An open storage association to a move destination. */
export interface StoreAssociation {
  /** The accepted presentation contexts. */
  contexts: StoreContext[];
  send(context: PresentationContext, request: StoreRequest): Promise<number | undefined>;
  /** Releases the association (A-RELEASE, PS3.8 §7.2) and closes the connection. */
  release(): Promise<void>;
}

/** At most 128 presentation contexts fit in an association request (odd IDs 1-255, PS3.8 §9.3.2.2). */
const MAX_CONTEXTS = 128;

/**
 * The presentation contexts to propose for a set of instances: per SOP class, one
 * context for each compressed transfer syntax stored, and one with the native stored
 * syntaxes followed by explicit and implicit VR little endian (anything native can be
 * re-encoded to what the destination picks).
 */
export function proposalsFor(rows: readonly InstanceRow[]): Array<{ sopClassUid: string; transferSyntaxes: string[] }> {
  const bySop = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = bySop.get(r.sop_class_uid) ?? new Set<string>();
    set.add(r.transfer_syntax_uid);
    bySop.set(r.sop_class_uid, set);
  }
  const out: Array<{ sopClassUid: string; transferSyntaxes: string[] }> = [];
  for (const [sopClassUid, stored] of bySop) {
    const native = [...stored].filter((ts) => NATIVE.has(ts));
    if (native.length) out.push({ sopClassUid, transferSyntaxes: [...new Set([...native, TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian])] });
    for (const ts of stored) if (!NATIVE.has(ts)) out.push({ sopClassUid, transferSyntaxes: [ts] });
  }
  return out.slice(0, MAX_CONTEXTS);
}

function waitFor(network: ReturnType<typeof createNetwork>, ok: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${ok} within ${timeoutMs} ms`)), timeoutMs);
    const listeners: Array<[string, (...a: any[]) => void]> = [
      [ok, (v: unknown) => done(undefined, v)],
      ['associationRejected', (r: { result: number; source: number; reason: number }) => done(new Error(`association rejected by the destination (result ${r.result}, source ${r.source}, reason ${r.reason})`))],
      ['networkError', (e: Error) => done(e)],
      ['close', () => done(new Error('connection closed by the destination'))],
    ];
    function done(err: Error | undefined, value?: unknown): void {
      clearTimeout(timer);
      for (const [ev, fn] of listeners) network.removeListener(ev, fn);
      if (err) reject(err);
      else resolve(value);
    }
    for (const [ev, fn] of listeners) network.on(ev, fn);
  });
}

/**
 * Opens a storage association to a move destination, proposing contexts for the
 * instances to send.
 * @throws Error when the connection, the TLS handshake or the association fails
 */
export async function openStoreAssociation(opts: {
  node: DicomNode;
  config: EnkakuConfig;
  rows: readonly InstanceRow[];
  log: Logger;
  timeoutMs?: number;
}): Promise<StoreAssociation> {
  const { node, config } = opts;
  const c = config.dicom;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const raw: net.Socket = node.tls
    ? tls.connect({
        host: node.host,
        port: node.port,
        ...(net.isIP(node.host) ? {} : { servername: node.host }),
        ...(c.tlsCert && c.tlsKey ? { cert: fs.readFileSync(c.tlsCert), key: fs.readFileSync(c.tlsKey) } : {}),
        ...(c.tlsCa ? { ca: fs.readFileSync(c.tlsCa) } : {}),
        minVersion: config.tlsMinVersion,
        rejectUnauthorized: true,
      })
    : net.connect({ host: node.host, port: node.port });
  raw.setNoDelay(true);
  raw.on('error', () => undefined);
  const framed = new PduFramedSocket(raw, Implementation.getMaxPduLength() + 64 * 1024, (length) =>
    opts.log.warn({ event: 'dimse.pdu-too-large', length, aet: node.aet }, 'move destination sent a PDU larger than announced'),
  );
  const network = createNetwork(framed, { connectTimeout: timeoutMs, associationTimeout: timeoutMs, pduTimeout: 120_000 });
  network.on('networkError', (e: Error) => opts.log.warn({ event: 'dimse.move-network-error', aet: node.aet, err: e.message }, 'move destination network error'));
  const association = new Association(c.aet, node.aet);
  for (const p of proposalsFor(opts.rows)) {
    const id = association.addPresentationContext(p.sopClassUid);
    for (const ts of p.transferSyntaxes) association.addTransferSyntaxToPresentationContext(id, ts);
  }
  const accepted = waitFor(network, 'associationAccepted', timeoutMs);
  network.on('connect', () => network.sendAssociationRequest(association));
  try {
    await accepted;
  } catch (err) {
    raw.destroy();
    throw err;
  }
  const contexts: StoreContext[] = association
    .getPresentationContexts()
    .map(({ context }) => context)
    .filter((ctx) => ctx.getResult() === constants.PresentationContextResult.Accept && ctx.getAcceptedTransferSyntaxUid())
    .map((ctx) => ({ context: ctx, sopClassUid: ctx.getAbstractSyntaxUid(), transferSyntaxUid: ctx.getAcceptedTransferSyntaxUid()! }));
  return {
    contexts,
    send: (context, request) => sendRequest(network, context, request),
    release: async () => {
      if (raw.destroyed) return;
      const released = waitFor(network, 'associationReleaseResponse', 10_000).catch(() => undefined);
      network.sendAssociationReleaseRequest();
      await released;
      raw.destroy();
    },
  };
}
