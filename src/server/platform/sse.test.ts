/**
 * Live streams (SSE) as screens see them: ready with the lifetime, messages by name, and an
 * `end` with its reason when the session ends or changes, when the lifetime is over, and
 * when the server stops; the subscription is closed each time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Actor } from './context.ts';
import { AppError } from './errors.ts';
import { SseStreams, sseLifetime } from './sse.ts';
import { sseReader } from './sse-client.ts';

type UserActor = Extract<Actor, { kind: 'user' }>;
const user = (userId: string): UserActor => ({ kind: 'user', userId, username: userId, grants: [], address: '127.0.0.1', sessionId: 's' });

/** A server with one stream route whose session and messages the test controls. */
async function server() {
  const app = Fastify();
  const state = { session: user('u1') as UserActor | undefined, closed: 0, send: undefined as ((d: unknown) => void) | undefined };
  const sse = new SseStreams(app, { heartbeatSeconds: 0.05, resolveSession: async () => state.session });
  app.get<{ Querystring: { lifetime?: string } }>('/events', async (req, reply) => {
    await sse.serve(req, reply, {
      lifetime: sseLifetime(req.query.lifetime),
      event: 'thing',
      subscribe: (send) => {
        state.send = send;
        return { close: () => void state.closed++ };
      },
      ready: async () => undefined,
      recheck: (u) => u?.userId === 'u1',
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, state, port };
}

/** Opens a stream and collects its events until it ends. */
function open(port: number, path: string) {
  const events: Array<{ name: string; data: string }> = [];
  let raw = '';
  const ended = new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-store');
      const read = sseReader((name, data) => events.push({ name, data }));
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        raw += c;
        read(c);
      });
      res.on('end', () => resolve());
    }).on('error', reject);
  });
  const until = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(pred(), `got ${JSON.stringify(events)}`);
  };
  return { events, ended, until, raw: () => raw };
}

test('a stream says ready with its lifetime, carries named messages and pings, and ends with its session', async () => {
  const { app, state, port } = await server();
  try {
    const s = open(port, '/events?lifetime=60');
    await s.until(() => s.events.some((e) => e.name === 'ready'));
    assert.equal(JSON.parse(s.events.find((e) => e.name === 'ready')!.data).lifetime, 60);
    assert.match(s.raw(), /^retry: 3000\n\n/);
    state.send!({ id: 'a1' });
    await s.until(() => s.events.some((e) => e.name === 'thing'));
    assert.deepEqual(JSON.parse(s.events.find((e) => e.name === 'thing')!.data), { id: 'a1' });
    await s.until(() => s.raw().includes(': ping'));
    state.session = user('someone-else');
    await s.ended;
    assert.deepEqual(JSON.parse(s.events.at(-1)!.data), { reason: 'session' });
    assert.equal(s.events.at(-1)!.name, 'end');
    assert.equal(state.closed, 1, 'the subscription was closed');
  } finally {
    await app.close();
  }
});

test('a stream ends when its lifetime is over, and every open stream ends when the server stops', async () => {
  const { app, state, port } = await server();
  const short = open(port, '/events?lifetime=1');
  await short.ended;
  assert.deepEqual(JSON.parse(short.events.at(-1)!.data), { reason: 'lifetime' });
  const long = open(port, '/events');
  await long.until(() => long.events.some((e) => e.name === 'ready'));
  assert.equal(JSON.parse(long.events.find((e) => e.name === 'ready')!.data).lifetime, 600, 'ten minutes by default');
  await app.close();
  await long.ended;
  assert.deepEqual(JSON.parse(long.events.at(-1)!.data), { reason: 'shutdown' });
  assert.equal(state.closed, 2);
});

test('a lifetime outside 0-3600 seconds is refused', () => {
  assert.equal(sseLifetime(undefined), 600);
  assert.equal(sseLifetime('0'), 0);
  assert.equal(sseLifetime('3600'), 3600);
  for (const bad of ['3601', '-1', '1.5', 'abc']) assert.throws(() => sseLifetime(bad), (e: unknown) => e instanceof AppError && e.code === 'bad_request');
});
