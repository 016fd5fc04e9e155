/**
 * The built-in TSA over HTTP (RFC 3161 §3.4): `POST /tsa` with a DER TimeStampReq
 * (`application/timestamp-query`) answers a DER TimeStampResp
 * (`application/timestamp-reply`), so standard clients work:
 * `openssl ts -query -data f -sha256 -cert | curl --data-binary @- -H 'Content-Type: application/timestamp-query' http://127.0.0.1:8080/tsa`.
 * The route needs no session: a time-stamp reveals nothing, and it covers only a digest.
 */
import type { FastifyInstance } from 'fastify';
import type { LocalTsa } from './tsa.ts';

/** Largest request accepted: a TimeStampReq is a few hundred bytes. */
const MAX_QUERY_BYTES = 16 * 1024;

/**
 * Registers `POST /tsa` (in its own encapsulated scope, so its body parser touches no other
 * route).
 */
export async function registerTsaRoutes(app: FastifyInstance, tsa: LocalTsa): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/timestamp-query', { parseAs: 'buffer', bodyLimit: MAX_QUERY_BYTES }, (_req, body, done) => done(null, body));
    scope.post('/tsa', async (req, reply) => {
      if (!Buffer.isBuffer(req.body)) {
        return reply.code(415).header('content-type', 'text/plain; charset=utf-8').send('send a DER TimeStampReq as application/timestamp-query');
      }
      const answer = await tsa.respond(req.body);
      return reply.header('content-type', 'application/timestamp-reply').header('cache-control', 'no-store').send(answer);
    });
  });
}
