/**
 * Enkaku's live streams to signed-in screens: Server-Sent Events (text/event-stream) of the
 * worklist and of finding alerts. A stream opens with `retry: 3000`, says `event: ready`
 * once its events are being heard (with the server's time and the stream's lifetime),
 * carries `event: <name>` messages with JSON data and `: ping` comments, and ends with
 * `event: end` (`reason`: closed, lifetime, session, shutdown). It lasts at most `lifetime`
 * seconds (the browser's EventSource reconnects by itself), and the session is checked again
 * at every ping without extending it: a stream ends with its session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Actor } from './context.ts';
import { AppError } from './errors.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;

/** Longest and default stream lifetime, in seconds. */
export const SSE_MAX_LIFETIME = 3600;
const DEFAULT_LIFETIME = 600;
/** How long a stream waits for its events to be heard before it says ready anyway. */
const READY_WAIT_MS = 2000;

/**
 * The `lifetime` query parameter of a stream, in seconds (default 600).
 * @throws AppError bad_request outside 0-3600
 */
export function sseLifetime(v: unknown): number {
  if (v === undefined || v === '') return DEFAULT_LIFETIME;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > SSE_MAX_LIFETIME) throw new AppError('bad_request', `lifetime must be 0-${SSE_MAX_LIFETIME} seconds`);
  return n;
}

/** What one stream sends and how it is kept honest. */
export interface SseStream<S extends { close(): void }> {
  /** Seconds the stream lasts at most (see {@link sseLifetime}). */
  lifetime: number;
  /** The SSE event name of its messages. */
  event: string;
  /** Starts the messages; `send` writes one. */
  subscribe(send: (data: unknown) => void): S;
  /** Resolves once this node hears the messages (PostgreSQL: its LISTEN is in place). */
  ready(): Promise<void>;
  /**
   * At every ping: whether the stream may go on, given the user the session now resolves to
   * (undefined when the session has ended) and the subscription (e.g. to follow new roles).
   */
  recheck?: ((user: UserActor | undefined, sub: S) => boolean) | undefined;
}

/** Options of {@link SseStreams}. */
export interface SseStreamsOptions {
  /** Resolves the session of a request again, without extending it; undefined when ended. */
  resolveSession?: ((req: FastifyRequest) => Promise<UserActor | undefined>) | undefined;
  /** Seconds between pings (and session checks). Default 25. */
  heartbeatSeconds?: number | undefined;
}

/** The open streams of an app: each is ended with `event: end` when the server closes. */
export class SseStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(app: FastifyInstance, private readonly opts: SseStreamsOptions = {}) {
    app.addHook('preClose', async () => {
      for (const res of this.open) {
        res.write('event: end\ndata: {"reason":"shutdown"}\n\n');
        res.end();
      }
    });
  }

  /** Answers `req` with a stream (the reply is hijacked); returns once it is ready or has ended. */
  async serve<S extends { close(): void }>(req: FastifyRequest, reply: FastifyReply, stream: SseStream<S>): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      // Never cached or buffered on the way (S6; proxies such as nginx buffer otherwise).
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    this.open.add(res);
    let ended = false;
    const timers: NodeJS.Timeout[] = [];
    const sub = stream.subscribe((data) => {
      if (!ended) res.write(`event: ${stream.event}\ndata: ${JSON.stringify(data)}\n\n`);
    });
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      sub.close();
      for (const t of timers) clearTimeout(t);
      this.open.delete(res);
      if (!res.writableEnded) {
        res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        res.end();
      }
    };
    req.raw.on('close', () => end('closed'));
    res.on('close', () => end('closed'));
    await Promise.race([stream.ready(), new Promise((r) => setTimeout(r, READY_WAIT_MS).unref())]);
    if (ended) return;
    res.write(`event: ready\ndata: ${JSON.stringify({ serverTime: new Date().toISOString(), lifetime: stream.lifetime })}\n\n`);
    if (stream.lifetime === 0) return end('lifetime');
    timers.push(setTimeout(() => end('lifetime'), stream.lifetime * 1000));
    const every = (this.opts.heartbeatSeconds ?? 25) * 1000;
    const beat = async (): Promise<void> => {
      if (ended) return;
      if (this.opts.resolveSession && stream.recheck) {
        const user = await this.opts.resolveSession(req).catch(() => undefined);
        if (ended) return;
        if (!stream.recheck(user, sub)) return end('session');
      }
      res.write(': ping\n\n');
      timers.push(setTimeout(() => void beat(), every));
    };
    timers.push(setTimeout(() => void beat(), every));
  }
}
