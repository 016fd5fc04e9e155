/**
 * `enkaku import <folder>`: loads DICOM files from a folder tree or a CD/DVD with a
 * DICOMDIR, through the same intake as the network paths, with progress and a summary.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from '../platform/blobs/index.ts';
import type { Actor } from '../platform/context.ts';
import { Intake } from './intake.ts';
import type { IntakeService } from './service.ts';
import type { IntakeFailure } from './status.ts';

/** Counts reported at the end of an import. */
export interface ImportSummary {
  files: number;
  stored: number;
  duplicates: number;
  skipped: number;
  refused: Partial<Record<IntakeFailure, number>>;
  bytes: number;
  /** Relative paths and reasons of refused files (at most 50). */
  problems: Array<{ file: string; reason: string }>;
}

function note(s: ImportSummary, problem: { file: string; reason: string }): void {
  if (s.problems.length < 50) s.problems.push(problem);
}

/** Media Storage Directory SOP Class: the DICOMDIR index itself, not an image. */
const DICOMDIR_CLASS = '1.2.840.10008.1.3.10';

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

async function isPart10(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 128);
    return bytesRead === 4 && b.toString('latin1') === 'DICM';
  } finally {
    await fh.close();
  }
}

/**
 * Imports every DICOM Part 10 file under `root` for a facility.
 * @param onProgress - called after each file with the running summary
 */
export async function importFolder(
  deps: { intake: IntakeService; blobs: BlobStore; maxInstanceBytes: number },
  root: string,
  facilityId: string,
  actor: Extract<Actor, { kind: 'system' }>,
  onProgress?: (done: number, total: number, s: ImportSummary) => void,
): Promise<ImportSummary> {
  const stat = await fsp.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new Error(`${root} is not a folder`);
  const files: string[] = [];
  for await (const f of walk(root)) files.push(f);
  const summary: ImportSummary = { files: files.length, stored: 0, duplicates: 0, skipped: 0, refused: {}, bytes: 0, problems: [] };
  let done = 0;
  for (const file of files) {
    done++;
    const rel = path.relative(root, file);
    if (path.basename(file).toUpperCase() === 'DICOMDIR' || !(await isPart10(file).catch(() => false))) {
      summary.skipped++;
      onProgress?.(done, files.length, summary);
      continue;
    }
    const intake = await Intake.start(deps.blobs, deps.maxInstanceBytes);
    try {
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) await intake.write(chunk as Buffer);
    } catch (err) {
      await intake.discard();
      note(summary, { file: rel, reason: `cannot read: ${(err as Error).message}` });
      summary.skipped++;
      continue;
    }
    if (intake.exceeded) {
      summary.refused['too-large'] = (summary.refused['too-large'] ?? 0) + 1;
      note(summary, { file: rel, reason: 'larger than the instance size limit' });
      onProgress?.(done, files.length, summary);
      continue;
    }
    const obj = await intake.finish();
    const size = obj.size;
    const r = await deps.intake.ingestPart10(obj, { actor, facilityId, callingAet: 'IMPORT', source: 'import' });
    if (r.ok) {
      if (r.kind === 'stored') summary.stored++;
      else summary.duplicates++;
      summary.bytes += size;
    } else if (r.sopClassUid === DICOMDIR_CLASS) {
      summary.skipped++;
    } else {
      summary.refused[r.failure] = (summary.refused[r.failure] ?? 0) + 1;
      note(summary, { file: rel, reason: r.message });
    }
    onProgress?.(done, files.length, summary);
  }
  return summary;
}
