/**
 * What every FHIR R4 endpoint plugin of Enkaku shares: FHIR JSON bodies only (other types
 * answered 415 in FHIR's own words), and every error as an OperationOutcome with its HTTP
 * status (FHIR R4 §3.1.0 RESTful API). Call inside an encapsulated plugin (prefix `/fhir/R4`)
 * so that the rest of the application keeps its own parsers and error handler.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError, httpStatusOf } from '../../platform/errors.ts';
import { FhirError, issueTypeOf, operationOutcome } from './outcome.ts';

/** The FHIR JSON media type. */
export const FHIR_JSON_TYPE = 'application/fhir+json';

/** Sends a FHIR resource (or OperationOutcome) with its status. */
export function sendFhir(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', `${FHIR_JSON_TYPE}; charset=utf-8`).send(JSON.stringify(body));
}

/**
 * Sets the plugin's body parsers (FHIR JSON up to `bodyLimit` bytes) and its error handler.
 * `what` names the endpoint in the server log of an unexpected failure (no PHI).
 */
export function useFhirJson(app: FastifyInstance, options: { bodyLimit: number; what: string }): void {
  app.removeAllContentTypeParsers();
  for (const type of [FHIR_JSON_TYPE, 'application/json', 'application/json+fhir']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new FhirError(400, [{ code: 'structure', diagnostics: 'the body is not valid JSON' }]), undefined);
      }
    });
  }
  app.addContentTypeParser('*', (_req, _payload, done) => done(new FhirError(415, [{ code: 'not-supported', diagnostics: `send ${FHIR_JSON_TYPE}` }]), undefined));
  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof FhirError) return sendFhir(reply, err.status, operationOutcome(err.issues));
    if (err instanceof AppError) {
      if (err.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
      // AppError messages carry no PHI (platform/errors.ts).
      return sendFhir(reply, httpStatusOf(err.code), operationOutcome([{ code: issueTypeOf(err.code), diagnostics: err.message }]));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return sendFhir(reply, status, operationOutcome([{ code: status === 413 ? 'too-costly' : 'invalid', diagnostics: (err as Error).message }]));
    req.log.error({ err }, `${options.what} failed`);
    return sendFhir(reply, 500, operationOutcome([{ code: 'exception', severity: 'fatal', diagnostics: 'internal error' }]));
  });
}
