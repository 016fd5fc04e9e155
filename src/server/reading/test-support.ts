/**
 * Helpers for the viewer and monitor-QC tests: signed-in users with their session cookie and
 * CSRF token, and a small synthetic CT with known regions, stored through STOW-RS.
 */
import { generate } from 'otplib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Runtime } from '../runtime.ts';
import { fixtureFile } from '../archive/render/test-fixtures.ts';

export const OP = { kind: 'system', name: 'test' } as const;
export const PASSWORD = 'Correct-Horse-9-Battery';

/** A signed-in user. */
export interface TestUser {
  id: string;
  cookie: string;
  csrf: string;
}

/** Creates a user with one grant and signs in (enrolling TOTP where the role needs it). */
export async function signedIn(rt: Runtime, username: string, role: string, facilityId: string | null): Promise<TestUser> {
  const id = await rt.accounts.create(OP, { username, displayName: username, password: PASSWORD, grants: [{ role, facilityId }], mustChangePassword: false });
  await rt.accounts.repo.updateUser(id, { agreement_accepted_at: new Date().toISOString() });
  const client = { address: '127.0.0.1', userAgent: 'test' };
  const first = await rt.auth.login(username, PASSWORD, client);
  let cookie = first.cookie;
  if (first.response.status === 'mfa-enrolment-required') {
    ({ cookie } = await rt.auth.secondFactor(cookie, await generate({ secret: first.response.enrolment.secret }), client));
  }
  const info = await rt.auth.session(cookie, client);
  if (!info) throw new Error(`${username} could not sign in`);
  return { id, cookie, csrf: info.csrfToken };
}

/** Calls the API as a user (JSON body, CSRF header on writes). */
export function call(app: FastifyInstance, user: TestUser | undefined, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (user) {
    headers.cookie = `enkaku_session=${user.cookie}`;
    if (method !== 'GET') headers['x-csrf-token'] = user.csrf;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({ method, url, headers, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}), remoteAddress: '127.0.0.1' });
}

/** Geometry of {@link phantomCt}. */
export const PHANTOM = {
  rows: 64,
  columns: 64,
  /** Pixel Spacing (0028,0030): 0.5 mm between rows, 0.8 mm between columns. */
  rowSpacing: 0.5,
  columnSpacing: 0.8,
  /** Columns 4..27, rows 4..59: a checkerboard of 40 and 60 HU. */
  checker: { x0: 4, x1: 28, y0: 4, y1: 60 },
  /** Columns 36..59, rows 4..59: uniform 100 HU. */
  uniform: { x0: 36, x1: 60, y0: 4, y1: 60, hu: 100 },
  /** Columns 0..3, rows 60..63: Pixel Padding Value (stored 0). */
  padding: { x0: 0, x1: 4, y0: 60, y1: 64 },
  /** Elsewhere: air. */
  backgroundHu: -1000,
} as const;

/** The HU the phantom holds at (x, y), or undefined for padding. */
export function phantomHu(x: number, y: number): number | undefined {
  const { checker: c, uniform: u, padding: p } = PHANTOM;
  if (x >= p.x0 && x < p.x1 && y >= p.y0 && y < p.y1) return undefined;
  if (x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1) return (x + y) % 2 === 0 ? 40 : 60;
  if (x >= u.x0 && x < u.x1 && y >= u.y0 && y < u.y1) return u.hu;
  return PHANTOM.backgroundHu;
}

/**
 * A 64 × 64 CT (stored value = HU + 1024, Rescale Intercept −1024, 12 bits) with the regions
 * of {@link PHANTOM} and anisotropic Pixel Spacing, in a study and series of its own.
 */
export function phantomCt(ids: { studyUid: string; seriesUid: string; patientId: string }): { bytes: Buffer; sopInstanceUid: string } {
  const { rows, columns } = PHANTOM;
  const pixels = new Uint16Array(rows * columns);
  for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) pixels[y * columns + x] = (phantomHu(x, y) ?? -1024) + 1024;
  const bytes = fixtureFile({
    rows,
    columns,
    photometric: 'MONOCHROME2',
    bitsAllocated: 16,
    bitsStored: 12,
    pixels,
    extra: [
      [0x00080060, 'CS', 'CT'],
      [0x00100020, 'LO', ids.patientId],
      [0x0020000d, 'UI', ids.studyUid],
      [0x0020000e, 'UI', ids.seriesUid],
      [0x00200013, 'IS', '1'],
      [0x00280030, 'DS', `${PHANTOM.rowSpacing}\\${PHANTOM.columnSpacing}`],
      [0x00280120, 'US', [0]],
      [0x00281050, 'DS', '40'],
      [0x00281051, 'DS', '400'],
      [0x00281052, 'DS', '-1024'],
      [0x00281053, 'DS', '1'],
    ],
  });
  // The SOP Instance UID fixtureFile chose sits in the file meta (0002,0003).
  const m = /2\.25\.\d+/.exec(bytes.subarray(0, 400).toString('latin1'));
  return { bytes, sopInstanceUid: m![0] };
}

/** Stores Part 10 files through STOW-RS with a facility's write token. */
export async function stow(app: FastifyInstance, token: string, files: Buffer[]): Promise<void> {
  const boundary = 'xx';
  const body = Buffer.concat([...files.flatMap((f) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
  const res = await app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, payload: body });
  if (res.statusCode !== 200) throw new Error(`STOW failed: ${res.statusCode} ${res.body}`);
}
