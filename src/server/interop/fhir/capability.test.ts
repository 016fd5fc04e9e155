/**
 * `GET /fhir/R4/metadata`: the CapabilityStatement, public, and true to the routes the
 * application registers (every interaction it names is a route, every FHIR route is named).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { CapabilityStatement, CapabilityStatementRest } from '@medplum/fhirtypes';
import { buildApp } from '../../app.ts';
import type { Runtime } from '../../runtime.ts';
import { testRuntime } from '../../../../test/helpers.ts';
import { capabilityStatement } from './capability.ts';

/** `METHOD /path` of every route under /fhir/R4, from Fastify's route tree. */
function fhirRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const parent = stack[depth - 1] ?? '';
    const seg = m[2]!;
    const full = parent === '' ? seg : parent.endsWith('/') || seg.startsWith('/') ? parent + seg : `${parent}/${seg}`;
    stack[depth] = full;
    stack.length = depth + 1;
    if (!m[3]) continue;
    for (const method of m[3].split(', ').filter((x) => x !== 'HEAD')) out.push(`${method} ${full.startsWith('/') ? full : `/${full}`}`);
  }
  return [...new Set(out.filter((r) => r.split(' ')[1]!.startsWith('/fhir/R4')))].sort();
}

/** The routes a server interaction needs (FHIR R4 §3.1.0 RESTful API). */
function routesOfInteractions(rest: CapabilityStatementRest): string[] {
  const out: string[] = ['GET /fhir/R4/metadata'];
  for (const r of rest.resource ?? []) {
    for (const i of r.interaction ?? []) {
      if (i.code === 'create') out.push(`POST /fhir/R4/${r.type}`);
      else if (i.code === 'update') out.push(`PUT /fhir/R4/${r.type}/:id`);
      else if (i.code === 'read') out.push(`GET /fhir/R4/${r.type}/:id`);
      else assert.fail(`interaction ${i.code} of ${r.type} has no route here`);
    }
  }
  for (const i of rest.interaction ?? []) {
    if (i.code === 'transaction' || i.code === 'batch') out.push('POST /fhir/R4');
    else assert.fail(`system interaction ${i.code} has no route here`);
  }
  return [...new Set(out)].sort();
}

describe('FHIR CapabilityStatement', () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  let app: FastifyInstance;
  before(async () => {
    rt = await testRuntime();
    app = await buildApp(rt);
  });
  after(async () => {
    await app?.close();
    await rt?.cleanup();
  });

  it('is public FHIR JSON: R4 4.0.1, JSON formats, JP Core, bearer tokens', async () => {
    const res = await app.inject({ method: 'GET', url: '/fhir/R4/metadata', headers: { accept: 'application/fhir+json' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    const cs = res.json() as CapabilityStatement;
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.status, 'active');
    assert.equal(cs.kind, 'instance');
    assert.equal(cs.fhirVersion, '4.0.1');
    assert.deepEqual(cs.format, ['application/fhir+json', 'json']);
    assert.match(cs.date ?? '', /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(cs.software?.name, 'Enkaku');
    assert.ok(cs.software?.version, 'the version from package.json');
    assert.deepEqual(cs.implementationGuide, ['http://jpfhir.jp/fhir/core/ImplementationGuide/jpfhir.jp.core']);
    const server = cs.rest!.find((r) => r.mode === 'server')!;
    assert.match(server.security?.service?.[0]?.text ?? '', /Bearer/);
    assert.match(server.security?.description ?? '', /orders:write.*orders:read.*ai:write/s);
    assert.equal(server.security?.cors, false);
    // The same statement for anyone: no token needed, a token changes nothing.
    const withToken = await app.inject({ method: 'GET', url: '/fhir/R4/metadata', headers: { authorization: 'Bearer enk_not-a-token' } });
    assert.equal(withToken.statusCode, 200);
    assert.deepEqual(withToken.json(), cs);
  });

  it('ServiceRequest create/update/read (JP Core) and transaction; Communication and Observation accepted; reports go out as a client', () => {
    const cs = capabilityStatement();
    const server = cs.rest!.find((r) => r.mode === 'server')!;
    const byType = Object.fromEntries((server.resource ?? []).map((r) => [r.type, r]));
    assert.deepEqual(Object.keys(byType).sort(), ['Communication', 'Observation', 'ServiceRequest']);
    assert.deepEqual(byType.ServiceRequest!.interaction!.map((i) => i.code), ['create', 'update', 'read']);
    assert.deepEqual(byType.ServiceRequest!.supportedProfile, ['http://jpfhir.jp/fhir/core/StructureDefinition/JP_ServiceRequest_Common']);
    assert.equal(byType.ServiceRequest!.updateCreate, false, 'ids are Enkaku\'s: PUT never creates');
    assert.equal(byType.ServiceRequest!.versioning, 'versioned-update', 'If-Match is honoured');
    assert.deepEqual(byType.Communication!.interaction!.map((i) => i.code), ['create']);
    assert.deepEqual(byType.Observation!.interaction!.map((i) => i.code), ['create']);
    assert.deepEqual(server.interaction!.map((i) => i.code), ['transaction', 'batch']);
    const client = cs.rest!.find((r) => r.mode === 'client')!;
    assert.deepEqual(client.resource!.map((r) => r.type), ['DiagnosticReport', 'ImagingStudy', 'Observation', 'Patient', 'Practitioner']);
    assert.deepEqual(client.resource![0]!.supportedProfile, ['http://jpfhir.jp/fhir/core/StructureDefinition/JP_DiagnosticReport_Radiology']);
    assert.equal(capabilityStatement('https://enkaku.example.jp/fhir/R4').implementation?.url, 'https://enkaku.example.jp/fhir/R4');
  });

  it('names exactly the FHIR routes the application serves', async () => {
    const cs = (await app.inject({ method: 'GET', url: '/fhir/R4/metadata' })).json() as CapabilityStatement;
    assert.deepEqual(routesOfInteractions(cs.rest!.find((r) => r.mode === 'server')!), fhirRoutes(app));
  });
});
