/**
 * Reading a Server-Sent Events stream (text/event-stream) as Enkaku's own streams write it:
 * blocks separated by a blank line, each with an `event:` line and at most one `data:` line.
 * Used by the tests and benchmarks that watch the worklist and alert streams.
 */
import http from 'node:http';

/**
 * A chunk handler for a UTF-8 event stream: call it with each chunk as it arrives; it calls
 * `onEvent` once per complete block, in order, with the event name ('message' when the
 * block has none) and its data ('' when it has none). Partial blocks wait for the next chunk.
 */
export function sseReader(onEvent: (name: string, data: string) => void): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onEvent(/^event: (.*)$/m.exec(block)?.[1] ?? 'message', /^data: (.*)$/m.exec(block)?.[1] ?? '');
    }
  };
}

/** An open event stream and the events of one name received on it so far. */
export interface EventStreamClient<T> {
  received: T[];
  /** Resolves when an event matching `pred` has arrived (rejects after `ms`). */
  waitFor(pred: (e: T) => boolean, ms?: number): Promise<T>;
  close(): void;
}

/**
 * Opens one of Enkaku's event streams on a loopback port as a signed-in user (session
 * cookie) and keeps the JSON data of every event named `event`; resolves once the server
 * says `ready`.
 */
export function openEventStream<T>(opts: { port: number; path: string; cookie: string; event: string; waitMs: number }): Promise<EventStreamClient<T>> {
  return new Promise((resolve, reject) => {
    const received: T[] = [];
    const waiters: Array<{ pred: (e: T) => boolean; done: (e: T) => void }> = [];
    const req = http.get({ host: '127.0.0.1', port: opts.port, path: opts.path, headers: { cookie: `enkaku_session=${opts.cookie}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${opts.path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on(
        'data',
        sseReader((name, data) => {
          if (name === 'ready') resolve(stream);
          if (name === opts.event && data) {
            const e = JSON.parse(data) as T;
            received.push(e);
            for (const w of [...waiters]) if (w.pred(e)) w.done(e);
          }
        }),
      );
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    const stream: EventStreamClient<T> = {
      received,
      waitFor: (pred, ms = opts.waitMs) =>
        new Promise((res, rej) => {
          const hit = received.find(pred);
          if (hit) return res(hit);
          const timer = setTimeout(() => rej(new Error(`no such ${opts.event} event arrived; got ${JSON.stringify(received)}`)), ms);
          waiters.push({
            pred,
            done: (e) => {
              clearTimeout(timer);
              res(e);
            },
          });
        }),
      close: () => req.destroy(),
    };
  });
}
