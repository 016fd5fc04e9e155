/**
 * `enkaku demo`: a demonstration facility with a calling AE title and a synthetic CT
 * study of a Japanese patient, loaded through the normal intake path.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Runtime } from './runtime.ts';
import { importFolder } from './archive/import.ts';
import { SAMPLE_PATIENTS, writeSeries } from './archive/dicom/synthetic.ts';

const OPERATOR = { kind: 'system', name: 'demo' } as const;
export const DEMO_FACILITY = 'デモ総合病院 (Demo General Hospital)';
export const DEMO_AET = 'DEMO_CT';

/** Loads the demonstration data; safe to run more than once. */
export async function runDemo(rt: Runtime, say: (line: string) => void): Promise<void> {
  let facility = await rt.facilities.byName(DEMO_FACILITY);
  if (!facility) {
    facility = await rt.facilities.add(OPERATOR, { name: DEMO_FACILITY, aets: [DEMO_AET] });
    say(`facility registered: ${DEMO_FACILITY}, calling AE title ${DEMO_AET}`);
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'enkaku-demo-'));
  try {
    await writeSeries(dir, {
      modality: 'CT',
      count: 60,
      rows: 512,
      columns: 512,
      patient: SAMPLE_PATIENTS[0]!,
      charset: '\\ISO 2022 IR 87',
      studyInstanceUid: '2.25.311870464826381739152735426395781927363',
      seriesInstanceUid: '2.25.311870464826381739152735426395781927364',
      accessionNumber: 'DEMO0001',
      studyDescription: '胸腹部CT',
      seed: 1,
    });
    const s = await importFolder({ intake: rt.intake, blobs: rt.blobs, maxInstanceBytes: rt.config.dicom.maxInstanceBytes }, dir, facility.id, OPERATOR);
    say(`synthetic CT study: ${s.stored} instance(s) stored, ${s.duplicates} already present`);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const token = await rt.tokens.create(OPERATOR, { facilityId: facility.id, name: 'demo', scopes: ['dicomweb:write', 'dicomweb:read'] });
  say(`STOW-RS token for the demo facility (shown once): ${token.token}`);
  say(`send images with dcmtk:  storescu -aec ${rt.config.dicom.aet} -aet ${DEMO_AET} 127.0.0.1 ${rt.config.dicom.port} <files>`);
}
