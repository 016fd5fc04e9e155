/**
 * MLLP, the Minimal Lower Layer Protocol that carries HL7 v2 over TCP (HL7 v2.5 Appendix C.4;
 * HL7 Transport Specification MLLP Release 2): each message is framed as
 * `<VT> message <FS><CR>` (0B ... 1C 0D) and the receiver answers each message with one
 * acknowledgment message, in the same framing.
 *
 * - {@link MllpDecoder}: turns arbitrary TCP chunks into whole message buffers, with a size limit
 *   and clear errors for bytes outside frames.
 * - {@link encodeMllpFrame}: frames one message.
 * - {@link MllpServer}: node:net (or node:tls) listener calling an async handler per message, one
 *   message at a time per connection so replies keep the order of the messages.
 * - {@link MllpClient}: sends a message and waits for the reply.
 * Framing never looks inside the message, so any character set can be carried (FS and VT cannot
 * occur in ISO-2022-JP, Shift_JIS or UTF-8 text).
 */
import net from 'node:net';
import tls from 'node:tls';

/** Start block (VT). */
export const MLLP_START = 0x0b;
/** End block (FS). */
export const MLLP_END = 0x1c;
/** Carriage return that follows the end block. */
export const MLLP_CR = 0x0d;

/** Default largest message accepted (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** A framing problem; never contains message bytes (they may hold PHI). */
export class MllpFramingError extends Error {
  override readonly name = 'MllpFramingError';
  constructor(
    readonly reason: 'oversized' | 'garbage' | 'missing-start' | 'unterminated',
    message: string,
    /** How many bytes were discarded. */
    readonly discardedBytes: number,
  ) {
    super(message);
  }
}

/** What {@link MllpDecoder.push} yields. */
export type MllpEvent =
  | { type: 'message'; payload: Buffer }
  | { type: 'error'; error: MllpFramingError };

/** Frame one message: `<VT> message <FS><CR>`. */
export function encodeMllpFrame(message: Uint8Array): Buffer {
  if (message.includes(MLLP_START) || message.includes(MLLP_END)) {
    throw new Error('An MLLP payload may not contain the VT (0x0B) or FS (0x1C) bytes');
  }
  const frame = Buffer.allocUnsafe(message.length + 3);
  frame[0] = MLLP_START;
  frame.set(message, 1);
  frame[message.length + 1] = MLLP_END;
  frame[message.length + 2] = MLLP_CR;
  return frame;
}

/** Bytes tolerated silently between frames (line ends, spaces, NUL padding). */
function isFiller(b: number): boolean {
  return b === 0x0d || b === 0x0a || b === 0x20 || b === 0x09 || b === 0x00;
}

/**
 * Streaming MLLP decoder. Feed it chunks in arrival order; it returns whole messages (without
 * the framing bytes) and framing errors, and never throws on bad input:
 * - bytes outside a frame other than line ends and spaces are discarded and reported once per run
 *   (`missing-start` when they end with FS CR, i.e. a frame whose VT was lost; `garbage` otherwise);
 * - a frame longer than `maxFrameBytes` is discarded up to its end block (`oversized`);
 * - a new VT before the end block reports the incomplete frame (`unterminated`) and starts over;
 * - FS not followed by CR still ends the frame (read leniently).
 */
export class MllpDecoder {
  private readonly maxFrameBytes: number;
  /** idle: between frames; frame: inside one; afterEnd: FS seen, CR expected; discard: oversized; garbage: bytes outside frames. */
  private state: 'idle' | 'frame' | 'afterEnd' | 'discard' | 'garbage' = 'idle';
  private parts: Buffer[] = [];
  private length = 0;
  private discarded = 0;
  /** In the garbage state: the last byte was FS (a frame without its start block). */
  private garbageSawEnd = false;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.length;
  }

  /** Feed one chunk; returns the messages and errors it completes. */
  push(chunk: Uint8Array): MllpEvent[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const events: MllpEvent[] = [];
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'idle': {
          const b = buf[i]!;
          if (b === MLLP_START) { this.startFrame(); i++; }
          else if (isFiller(b)) i++;
          else { this.state = 'garbage'; this.discarded = 0; this.garbageSawEnd = false; }
          break;
        }
        case 'garbage': {
          const b = buf[i]!;
          if (b === MLLP_START) {
            events.push(this.garbageError(false));
            this.startFrame();
          } else if (this.garbageSawEnd && b === MLLP_CR) {
            this.discarded++;
            events.push(this.garbageError(true));
            this.state = 'idle';
          } else {
            this.discarded++;
            this.garbageSawEnd = b === MLLP_END;
          }
          i++;
          break;
        }
        case 'frame': {
          const end = buf.indexOf(MLLP_END, i);
          const restart = buf.indexOf(MLLP_START, i);
          const stop = end < 0 ? restart : restart < 0 ? end : Math.min(end, restart);
          const upto = stop < 0 ? buf.length : stop;
          if (this.length + (upto - i) > this.maxFrameBytes) {
            this.discarded = this.length + (upto - i);
            this.parts = [];
            this.length = 0;
            this.state = 'discard';
            i = upto;
            break;
          }
          if (upto > i) {
            // A frame that continues in a later chunk keeps a copy: the caller may reuse its buffer.
            this.parts.push(stop < 0 ? Buffer.from(buf.subarray(i, upto)) : buf.subarray(i, upto));
            this.length += upto - i;
          }
          i = upto;
          if (stop < 0) break;
          if (stop === restart) {
            events.push({ type: 'error', error: new MllpFramingError('unterminated', `An MLLP frame of ${this.length} bytes was not terminated (new start block before FS CR); discarded`, this.length) });
            this.startFrame();
          } else {
            events.push({ type: 'message', payload: this.takeFrame() });
            this.state = 'afterEnd';
          }
          i++;
          break;
        }
        case 'afterEnd': {
          // The CR of the end block, possibly in the next chunk; FS alone also ends a frame.
          if (buf[i] === MLLP_CR) i++;
          this.state = 'idle';
          break;
        }
        case 'discard': {
          const end = buf.indexOf(MLLP_END, i);
          const restart = buf.indexOf(MLLP_START, i);
          const stop = end < 0 ? restart : restart < 0 ? end : Math.min(end, restart);
          if (stop < 0) { this.discarded += buf.length - i; i = buf.length; break; }
          this.discarded += stop - i;
          events.push({ type: 'error', error: new MllpFramingError('oversized', `An MLLP frame exceeded the limit of ${this.maxFrameBytes} bytes (${this.discarded} bytes); discarded`, this.discarded) });
          if (stop === restart) { this.startFrame(); i = stop + 1; }
          else { this.state = 'idle'; i = stop + 1; if (buf[i] === MLLP_CR) i++; }
          break;
        }
      }
    }
    return events;
  }

  /**
   * The connection ended: report an incomplete frame or trailing garbage, if any.
   */
  end(): MllpEvent[] {
    const events: MllpEvent[] = [];
    if (this.state === 'frame') {
      events.push({ type: 'error', error: new MllpFramingError('unterminated', `The connection ended inside an MLLP frame (${this.length} bytes); discarded`, this.length) });
    } else if (this.state === 'garbage') {
      events.push(this.garbageError(false));
    } else if (this.state === 'discard') {
      events.push({ type: 'error', error: new MllpFramingError('oversized', `An MLLP frame exceeded the limit of ${this.maxFrameBytes} bytes; discarded`, this.discarded) });
    }
    this.state = 'idle';
    this.parts = [];
    this.length = 0;
    return events;
  }

  private startFrame(): void {
    this.state = 'frame';
    this.parts = [];
    this.length = 0;
  }

  private takeFrame(): Buffer {
    const payload = this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    return payload;
  }

  private garbageError(endedWithFrameEnd: boolean): MllpEvent {
    const count = this.discarded;
    this.discarded = 0;
    this.garbageSawEnd = false;
    return {
      type: 'error',
      error: endedWithFrameEnd
        ? new MllpFramingError('missing-start', `${count} bytes ending with FS CR arrived without an MLLP start block (VT, 0x0B); discarded`, count)
        : new MllpFramingError('garbage', `${count} bytes outside an MLLP frame were discarded (a frame starts with VT, 0x0B)`, count),
    };
  }
}

/** Facts about the connection a message came from (no message content). */
export interface MllpMessageContext {
  connectionId: number;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  tls: boolean;
  /** The client certificate's subject and fingerprint when TLS with client certificates is used. */
  peerCertificate?: { subject: Record<string, unknown>; fingerprint256: string } | undefined;
  receivedAt: Date;
}

/** TLS settings of an {@link MllpServer} (HL7 over TLS, REQUIREMENTS S5). */
export interface MllpTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA certificates to verify client certificates with. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask for and verify a client certificate. */
  requestCert?: boolean;
  /** Default TLSv1.2 (the minimum S5 allows); TLSv1.3 is preferred when both sides support it. */
  minVersion?: tls.SecureVersion;
}

/** Options of an {@link MllpServer}. */
export interface MllpServerOptions {
  /**
   * Called once per message, one at a time per connection. Resolve with the reply bytes (an
   * acknowledgment, already encoded in the sender's character set), or nothing to send no reply.
   */
  handler: (message: Buffer, context: MllpMessageContext) => Promise<Uint8Array | null | undefined> | Uint8Array | null | undefined;
  /** Largest message accepted, default {@link DEFAULT_MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
  /** Close a connection silent for this long (default 10 minutes; 0 disables). */
  idleTimeoutMs?: number;
  /** Simultaneous connections; more are refused (default 32). */
  maxConnections?: number;
  /** Messages received but not yet handled before reading from the connection pauses (default 16). */
  maxQueuedMessages?: number;
  tls?: MllpTlsOptions;
  /** Framing, handler and socket errors (for logging; must not log message content). */
  onError?: (error: Error, context: Partial<MllpMessageContext>) => void;
  /** The reply to send when the handler throws (e.g. an AR acknowledgment); default none. */
  onHandlerError?: (error: unknown, message: Buffer, context: MllpMessageContext) => Uint8Array | null | undefined;
}

interface Connection {
  socket: net.Socket;
  queue: Buffer[];
  busy: boolean;
  closing: boolean;
  context: Omit<MllpMessageContext, 'receivedAt'>;
}

/** An MLLP listener on node:net, or node:tls when `tls` is given. */
export class MllpServer {
  private readonly server: net.Server;
  private readonly connectionsSet = new Set<Connection>();
  private nextId = 1;
  private closing = false;

  constructor(private readonly options: MllpServerOptions) {
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    if (options.tls) {
      this.server = tls.createServer({
        cert: options.tls.cert,
        key: options.tls.key,
        ca: options.tls.ca,
        requestCert: options.tls.requestCert ?? false,
        rejectUnauthorized: options.tls.requestCert ?? false,
        minVersion: options.tls.minVersion ?? 'TLSv1.2',
      }, onSocket);
      this.server.on('tlsClientError', (error) => this.report(error, {}));
    } else {
      this.server = net.createServer(onSocket);
    }
    this.server.maxConnections = options.maxConnections ?? 32;
    this.server.on('drop', (data) => this.report(new Error(`Connection refused: more than ${this.server.maxConnections} connections`), { remoteAddress: data?.remoteAddress, remotePort: data?.remotePort }));
    this.server.on('error', (error) => this.report(error, {}));
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.connectionsSet.size;
  }

  /** Start listening (port 0 picks a free port); resolves with the bound address. */
  listen(port = 0, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /**
   * Stop accepting connections, let each connection finish the message it is handling (its
   * reply is still sent), then close it; connections still open after `graceMs` are destroyed.
   */
  close(graceMs = 5000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connectionsSet) this.endWhenIdle(c);
    const timer = setTimeout(() => { for (const c of this.connectionsSet) c.socket.destroy(); }, graceMs);
    timer.unref();
    return closed.finally(() => clearTimeout(timer));
  }

  private accept(socket: net.Socket): void {
    const isTls = socket instanceof tls.TLSSocket;
    const peer = isTls ? (socket as tls.TLSSocket).getPeerCertificate() : undefined;
    const conn: Connection = {
      socket,
      queue: [],
      busy: false,
      closing: false,
      context: {
        connectionId: this.nextId++,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        tls: isTls,
        peerCertificate: peer && peer.fingerprint256 ? { subject: { ...peer.subject }, fingerprint256: peer.fingerprint256 } : undefined,
      },
    };
    this.connectionsSet.add(conn);
    if (this.closing) { socket.destroy(); return; }
    const decoder = new MllpDecoder({ maxFrameBytes: this.options.maxFrameBytes });
    const idle = this.options.idleTimeoutMs ?? 10 * 60_000;
    if (idle > 0) {
      socket.setTimeout(idle, () => {
        if (conn.busy || conn.queue.length > 0) return; // a slow handler is not idleness
        this.report(new Error(`MLLP connection idle for ${idle} ms; closed`), conn.context);
        conn.closing = true;
        socket.end();
        socket.destroySoon();
      });
    }
    const onEvents = (events: MllpEvent[]): void => {
      for (const e of events) {
        if (e.type === 'error') this.report(e.error, conn.context);
        else conn.queue.push(e.payload);
      }
      if (conn.queue.length > (this.options.maxQueuedMessages ?? 16)) socket.pause();
      void this.drain(conn);
    };
    socket.on('data', (chunk: Buffer) => onEvents(decoder.push(chunk)));
    socket.on('end', () => {
      onEvents(decoder.end());
      conn.closing = true;
      this.endWhenIdle(conn);
    });
    socket.on('error', (error) => this.report(error, conn.context));
    socket.on('close', () => {
      conn.queue.length = 0;
      this.connectionsSet.delete(conn);
    });
  }

  /** Handle queued messages of one connection strictly one after the other. */
  private async drain(conn: Connection): Promise<void> {
    if (conn.busy) return;
    conn.busy = true;
    try {
      while (conn.queue.length > 0 && !conn.socket.destroyed) {
        const message = conn.queue.shift()!;
        const context: MllpMessageContext = { ...conn.context, receivedAt: new Date() };
        let reply: Uint8Array | null | undefined;
        try {
          reply = await this.options.handler(message, context);
        } catch (error) {
          this.report(error instanceof Error ? error : new Error(String(error)), context);
          try {
            reply = this.options.onHandlerError?.(error, message, context);
          } catch (inner) {
            this.report(inner instanceof Error ? inner : new Error(String(inner)), context);
          }
        }
        if (reply && reply.length > 0 && !conn.socket.destroyed && conn.socket.writable) {
          try {
            conn.socket.write(encodeMllpFrame(reply));
          } catch (error) {
            this.report(error instanceof Error ? error : new Error(String(error)), context);
          }
        }
        if (conn.socket.isPaused() && conn.queue.length <= (this.options.maxQueuedMessages ?? 16) / 2) conn.socket.resume();
      }
    } finally {
      conn.busy = false;
    }
    if (conn.closing || this.closing) this.endWhenIdle(conn);
  }

  private endWhenIdle(conn: Connection): void {
    if (conn.busy || conn.queue.length > 0) { conn.closing = true; return; }
    if (!conn.socket.destroyed) conn.socket.end();
  }

  private report(error: Error, context: Partial<MllpMessageContext>): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // A failing logger must not take the listener down.
    }
  }
}

/** Options of an {@link MllpClient}. */
export interface MllpClientOptions {
  host: string;
  port: number;
  /** Connect with TLS; `true` uses the defaults (server certificate verified against the system CAs). */
  tls?: boolean | tls.ConnectionOptions;
  /** Default reply timeout of {@link MllpClient.send} (30 s). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
}

/** The peer did not answer in time; the connection was closed (a late reply cannot be matched). */
export class MllpTimeoutError extends Error {
  override readonly name = 'MllpTimeoutError';
}

/**
 * A client that sends one message at a time and resolves with the peer's reply (the next frame
 * received). On timeout or connection loss the socket is closed; the next send reconnects.
 */
export class MllpClient {
  private socket: net.Socket | undefined;
  private waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: MllpClientOptions) {}

  /** Open the connection now (send() also connects when needed). */
  async connect(): Promise<void> {
    if (this.socket && !this.socket.destroyed) return;
    const { host, port } = this.options;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const tlsOptions = this.options.tls === true ? {} : this.options.tls;
      const s = tlsOptions
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...tlsOptions }, () => done())
        : net.connect({ host, port }, () => done());
      const timer = setTimeout(() => { s.destroy(); reject(new MllpTimeoutError(`Connecting to ${host}:${port} timed out`)); }, this.options.connectTimeoutMs ?? 10_000);
      const done = (): void => { clearTimeout(timer); s.off('error', fail); resolve(s); };
      const fail = (error: Error): void => { clearTimeout(timer); reject(error); };
      s.once('error', fail);
    });
    const decoder = new MllpDecoder({ maxFrameBytes: this.options.maxFrameBytes });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return; // a connection given up after a timeout
      for (const e of decoder.push(chunk)) {
        const w = this.waiting;
        if (!w) continue; // unsolicited frame: nobody is waiting for it
        this.waiting = undefined;
        if (e.type === 'message') w.resolve(e.payload);
        else w.reject(e.error);
      }
    });
    const lost = (error: Error): void => {
      if (this.socket !== socket) return;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(error);
    };
    socket.on('error', (error) => lost(error));
    socket.on('close', () => lost(new Error('MLLP connection closed before the reply')));
    this.socket = socket;
  }

  /**
   * Send one message (already encoded in its character set) and resolve with the reply's bytes.
   * Calls are queued: each waits for the previous reply.
   *
   * @throws MllpTimeoutError when no reply arrives within `timeoutMs`.
   */
  send(message: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      await this.connect();
      const socket = this.socket!;
      const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 30_000;
      return new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting = undefined;
          socket.destroy();
          reject(new MllpTimeoutError(`No MLLP reply within ${timeoutMs} ms`));
        }, timeoutMs);
        this.waiting = {
          resolve: (b) => { clearTimeout(timer); resolve(b); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        };
        socket.write(encodeMllpFrame(message));
      });
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Close the connection. */
  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }
}
