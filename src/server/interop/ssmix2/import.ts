/**
 * `enkaku import-ssmix2 <root> --facility N`: reads an SS-MIX2 standardized storage tree (see
 * layout.ts) and records its clinical context for a facility through the orders module's
 * `PatientUpdates` (ADT-00) and `ClinicalIntake` (everything else), incrementally.
 *
 * - Only the data types of {@link CLINICAL_DATA_TYPES} are read; other data types (ADT-22 入院,
 *   OMG-01 放射線オーダ, ...) and files outside the `<3>/<3>/<ID>/<date>/<type>/` layout are
 *   counted and left alone.
 * - Condition flags (SS-MIX2 構築ガイドライン Ver.1.2 ファイル命名規則, インデックスデータベース p.35):
 *   `_1` files are imported; `_2` files (superseded by an update, whose current version is another
 *   `_1` file) are skipped; `_0` files (deleted orders) are recorded again under the same keys
 *   with status `entered-in-error`, which `ClinicalIntake` applies as an update of the items.
 * - Idempotent: every item's sourceKey is the file's path without its condition flag plus MSH-10
 *   and the segment index (see clinical.ts), and `ClinicalIntake.record` is idempotent on it. On
 *   top of that a state file, `<data dir>/ssmix2/<facility id>.json`, remembers each imported
 *   file's size and modification time per storage root, so a second run does not read unchanged
 *   files at all (`useState: false` reads everything again and relies on idempotency alone).
 * - Exact decoding: files are decoded per MSH-18 (ISO-2022-JP); a byte that is not valid there
 *   fails the file instead of becoming U+FFFD.
 * - Safe: symbolic links that lead outside the root are refused, links to folders are not
 *   followed, files larger than `maxFileBytes` are refused.
 * - A failed file is reported with its path and the segment and field at fault, and the import
 *   goes on; the caller exits with status 1 when any file failed.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Actor } from '../../platform/context.ts';
import type { ClinicalIntake, ClinicalItemInput, PatientInput, PatientUpdates } from '../../orders/index.ts';
import { ClinicalMappingError, formatClinicalIssue, mapClinicalBytes, type ClinicalDataType } from '../hl7/index.ts';
import { checkSsmix2Folders, isImportedDataType, parseSsmix2FileName, ssmix2KeyPrefix, type Ssmix2FileName } from './layout.ts';

/** A file and what went wrong with it (path relative to the root). */
export interface Ssmix2Problem {
  file: string;
  message: string;
}

/** Counts reported at the end of an import (and with each progress call). */
export interface Ssmix2ImportSummary {
  /** Regular files found under the root. */
  files: number;
  /** Files read and recorded: current ones (`_1`) and deleted ones (`_0`). */
  imported: number;
  /** Of `imported`, deleted ones (`_0`): their items recorded again with status `entered-in-error`. */
  deleted: number;
  skipped: {
    /** Imported before and unchanged since (size and modification time, from the state file). */
    unchanged: number;
    /** Condition flag 2: an older version of data whose current file is also in the tree. */
    superseded: number;
    /** Data types that carry no clinical context Enkaku reads (ADT-22, OMG-01, ...). */
    otherTypes: number;
    /** Files outside the `<3>/<3>/<ID>/<date>/<type>/<file>` layout (index database, hidden files, ...). */
    notSsmix2: number;
  };
  /** ADT-00 files applied with PatientUpdates. */
  patientsUpdated: number;
  /** Items recorded: new, already recorded with the same content, and changed (corrected or deleted). */
  items: { added: number; unchanged: number; updated: number };
  /** Bytes of the files read. */
  bytes: number;
  /** Failed files (at most 1000 listed; `errorCount` counts all). */
  errors: Ssmix2Problem[];
  errorCount: number;
  /** Item-level problems in files that were imported (at most 1000 listed). */
  warnings: Ssmix2Problem[];
  warningCount: number;
  seconds: number;
}

/** The services an import uses (implemented by the orders module). */
export interface Ssmix2ImportDeps {
  clinical: ClinicalIntake;
  patients: PatientUpdates;
}

/** Options of {@link importSsmix2}. */
export interface Ssmix2ImportOptions {
  facilityId: string;
  actor: Actor;
  /** The state file (see {@link ssmix2StatePath}); `false` for none. */
  stateFile: string | false;
  /** Read every file again even when the state file says it is unchanged (default true: use it). */
  useState?: boolean;
  /** Items per `ClinicalIntake.record` call (default 500). */
  batchItems?: number;
  /**
   * `record` calls in flight at once (default 4): on PostgreSQL they run on separate pool
   * connections while the next files are read; on SQLite transactions queue for the one writer.
   */
  concurrency?: number;
  /** Largest file accepted (default 16 MiB; SS-MIX2 files are a few kilobytes). */
  maxFileBytes?: number;
  /** Called after each file with the number of files handled, the total and the running summary. */
  onProgress?: (done: number, total: number, summary: Ssmix2ImportSummary) => void;
}

/** Default largest file: far above any HL7 message, low enough to refuse a stray disk image. */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

const LISTED = 1000;

/** Items per record call even within one patient (ClinicalIntake takes at most 5000). */
const MAX_BATCH_ITEMS = 4000;

/** Where the import state of a facility is kept: `<data dir>/ssmix2/<facility id>.json`. */
export function ssmix2StatePath(dataDir: string, facilityId: string): string {
  return path.join(dataDir, 'ssmix2', `${facilityId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/** [size, mtimeMs] of each imported file, by path relative to its root, by root. */
interface StateFile {
  version: 1;
  roots: Record<string, Record<string, [number, number]>>;
}

async function loadState(file: string | false, warnings: (p: Ssmix2Problem) => void): Promise<StateFile> {
  const empty: StateFile = { version: 1, roots: {} };
  if (!file) return empty;
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as StateFile;
    if (parsed?.version === 1 && parsed.roots && typeof parsed.roots === 'object') return parsed;
  } catch {
    // fall through
  }
  warnings({ file: file, message: 'the import state file is unreadable; every file is read again (nothing is recorded twice)' });
  return empty;
}

async function saveState(file: string | false, state: StateFile): Promise<void> {
  if (!file) return;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(state));
  await fsp.rename(tmp, file);
}

/** A regular file found under the root. */
interface Found {
  /** Relative to the root, `/` separated. */
  rel: string;
  /** What to open (the link target for a symbolic link inside the root). */
  abs: string;
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** Every regular file under the root, sorted; refused links become problems. */
async function walk(root: string, problem: (p: Ssmix2Problem) => void): Promise<Found[]> {
  const out: Found[] = [];
  const stack: string[] = [''];
  while (stack.length > 0) {
    const relDir = stack.pop()!;
    let entries;
    try {
      entries = await fsp.readdir(path.join(root, relDir), { withFileTypes: true });
    } catch (err) {
      problem({ file: relDir || '.', message: `cannot read the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      continue;
    }
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const abs = path.join(root, relDir, e.name);
      if (e.isDirectory()) stack.push(rel);
      else if (e.isFile()) out.push({ rel, abs });
      else if (e.isSymbolicLink()) {
        const real = await fsp.realpath(abs).catch(() => undefined);
        if (!real) problem({ file: rel, message: 'broken symbolic link' });
        else if (!inside(root, real)) problem({ file: rel, message: 'refused: a symbolic link to a path outside the storage root' });
        else {
          const st = await fsp.stat(real).catch(() => undefined);
          // Links to folders are not followed (no loops); their files are found at their real place.
          if (st?.isFile()) out.push({ rel, abs: real });
        }
      }
    }
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** What to do with a file, from its path alone. */
type Plan =
  | { kind: 'skip'; reason: 'superseded' | 'otherTypes' | 'notSsmix2' }
  | { kind: 'error'; message: string }
  | { kind: 'read'; name: ImportedName };

/** The name of a file of a data type Enkaku imports. */
type ImportedName = Ssmix2FileName & { dataType: ClinicalDataType };

function plan(rel: string): Plan {
  const parts = rel.split('/');
  const base = parts.at(-1)!;
  if (parts.length !== 6 || base.startsWith('.')) return { kind: 'skip', reason: 'notSsmix2' };
  const name = parseSsmix2FileName(base);
  if ('error' in name) return { kind: 'error', message: name.error };
  const misplaced = checkSsmix2Folders(parts.slice(0, 5), name);
  if (misplaced) return { kind: 'error', message: misplaced };
  if (!isImportedDataType(name.dataType)) return { kind: 'skip', reason: 'otherTypes' };
  if (name.condition === '2') return { kind: 'skip', reason: 'superseded' };
  return { kind: 'read', name: name as ImportedName };
}

interface Pending {
  rel: string;
  stat: [number, number];
  /** The patient's ID: a batch ends only between patients, so no two batches in flight share one. */
  patientId: string;
  /** ADT-00 demographics to apply before the items. */
  demographics?: PatientInput;
  items: ClinicalItemInput[];
  deleted: boolean;
}

/**
 * Import the clinical context of an SS-MIX2 standardized storage tree for one facility (see the
 * module comment for what is read, skipped and remembered).
 *
 * @param root the storage root (the folder holding the `<ID 1-3>` folders)
 * @throws Error when the root is not a readable folder; problems with files are reported in the
 *   summary instead.
 */
export async function importSsmix2(deps: Ssmix2ImportDeps, root: string, options: Ssmix2ImportOptions): Promise<Ssmix2ImportSummary> {
  const t0 = process.hrtime.bigint();
  const realRoot = await fsp.realpath(root).catch(() => undefined);
  const rootStat = realRoot ? await fsp.stat(realRoot).catch(() => undefined) : undefined;
  if (!realRoot || !rootStat?.isDirectory()) throw new Error(`${root} is not a folder`);

  const summary: Ssmix2ImportSummary = {
    files: 0, imported: 0, deleted: 0,
    skipped: { unchanged: 0, superseded: 0, otherTypes: 0, notSsmix2: 0 },
    patientsUpdated: 0, items: { added: 0, unchanged: 0, updated: 0 }, bytes: 0,
    errors: [], errorCount: 0, warnings: [], warningCount: 0, seconds: 0,
  };
  const error = (p: Ssmix2Problem): void => {
    summary.errorCount++;
    if (summary.errors.length < LISTED) summary.errors.push(p);
  };
  const warn = (p: Ssmix2Problem): void => {
    summary.warningCount++;
    if (summary.warnings.length < LISTED) summary.warnings.push(p);
  };

  const state = await loadState(options.stateFile, warn);
  const previous = state.roots[realRoot] ?? {};
  const next: Record<string, [number, number]> = {};
  const useState = options.useState ?? true;
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const batchItems = options.batchItems ?? 500;

  const found = await walk(realRoot, error);
  summary.files = found.length;
  let done = 0;
  const progress = (): void => options.onProgress?.(++done, found.length, summary);

  let pending: Pending[] = [];
  let pendingItems = 0;
  let lastSave = Date.now();
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const inFlight = new Set<Promise<void>>();
  /** Hand the pending files to a `record` call; wait while `concurrency` calls are running. */
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingItems = 0;
    const task: Promise<void> = recordBatch(batch).finally(() => inFlight.delete(task));
    inFlight.add(task);
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (Date.now() - lastSave > 5000) {
      state.roots[realRoot] = { ...previous, ...next };
      await saveState(options.stateFile, state);
      lastSave = Date.now();
    }
  };
  /** Applies the ADT-00 files' demographics (in one transaction when the service takes several); returns the files that failed. */
  const updatePatients = async (files: Pending[]): Promise<Set<Pending>> => {
    const failed = new Set<Pending>();
    const fail = (p: Pending, err: unknown): void => {
      failed.add(p);
      error({ file: p.rel, message: `patient not updated: ${(err as Error).message}` });
    };
    if (files.length > 1 && deps.patients.updateMany) {
      try {
        const results = await deps.patients.updateMany(options.actor, options.facilityId, files.map((p) => p.demographics!));
        results.forEach((r, i) => (r.ok ? summary.patientsUpdated++ : fail(files[i]!, r.error)));
      } catch (err) {
        for (const p of files) fail(p, err);
      }
      return failed;
    }
    for (const p of files) {
      try {
        await deps.patients.update(options.actor, options.facilityId, p.demographics!);
        summary.patientsUpdated++;
      } catch (err) {
        fail(p, err);
      }
    }
    return failed;
  };
  const recordBatch = async (files: Pending[]): Promise<void> => {
    // Demographics first (ADT-00 sorts first among a patient's folders), then the items.
    const failed = await updatePatients(files.filter((p) => p.demographics));
    const batch = files.filter((p) => !failed.has(p));
    const all = batch.flatMap((p) => p.items);
    const count = (r: { added: number; unchanged: number; updated?: number }): void => {
      summary.items.added += r.added;
      summary.items.unchanged += r.unchanged;
      summary.items.updated += r.updated ?? 0;
    };
    const ok = (p: Pending): void => {
      summary.imported++;
      if (p.deleted) summary.deleted++;
      next[p.rel] = p.stat;
    };
    try {
      if (all.length > 0) {
        count(await deps.clinical.record(options.actor, all));
      }
      batch.forEach(ok);
    } catch {
      // Find the file(s) at fault: record file by file (idempotent, so what was committed stays once).
      for (const p of batch) {
        try {
          if (p.items.length > 0) {
            count(await deps.clinical.record(options.actor, p.items));
          }
          ok(p);
        } catch (err) {
          error({ file: p.rel, message: `not recorded: ${(err as Error).message}` });
        }
      }
    }
  };

  const CHUNK = 32;
  for (let start = 0; start < found.length; start += CHUNK) {
    const chunk = found.slice(start, start + CHUNK);
    // Stat and read a chunk concurrently; map and record in order.
    const loaded = await Promise.all(chunk.map(async (f) => {
      const p = plan(f.rel);
      if (p.kind !== 'read') return { f, p };
      try {
        const st = await fsp.stat(f.abs);
        const stat: [number, number] = [st.size, Math.round(st.mtimeMs)];
        const seen = previous[f.rel];
        if (useState && seen && seen[0] === stat[0] && seen[1] === stat[1]) return { f, p, stat, unchanged: true };
        if (st.size > maxBytes) return { f, p, stat, refused: `refused: ${st.size} bytes, larger than the limit of ${maxBytes}` };
        return { f, p, stat, bytes: await fsp.readFile(f.abs) };
      } catch (err) {
        return { f, p, failed: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
      }
    }));
    for (const l of loaded) {
      const { f, p } = l;
      if (p.kind === 'skip') summary.skipped[p.reason]++;
      else if (p.kind === 'error') error({ file: f.rel, message: p.message });
      else if ('unchanged' in l && l.unchanged) {
        summary.skipped.unchanged++;
        next[f.rel] = l.stat!;
      } else if ('refused' in l && l.refused) error({ file: f.rel, message: l.refused });
      else if ('failed' in l && l.failed) error({ file: f.rel, message: l.failed });
      else if ('bytes' in l && l.bytes) {
        summary.bytes += l.bytes.length;
        const item = readOne(options, f.rel, p.name, l.bytes, warn);
        if ('error' in item) error({ file: f.rel, message: item.error });
        else {
          const last = pending.at(-1);
          if (last && last.patientId !== p.name.patientId && pendingItems >= batchItems) await flush();
          pending.push({ rel: f.rel, stat: l.stat!, patientId: p.name.patientId, ...(item.demographics ? { demographics: item.demographics } : {}), items: item.items, deleted: p.name.condition === '0' });
          pendingItems += item.items.length;
          // A patient with a very long history still goes in calls of bounded size.
          if (pendingItems >= MAX_BATCH_ITEMS) await flush();
        }
      }
      progress();
    }
  }
  await flush();
  await Promise.all(inFlight);
  state.roots[realRoot] = next;
  await saveState(options.stateFile, state);
  summary.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return summary;
}

/** Map one file. Items of deleted files (`_0`) become `entered-in-error`; their demographics are not applied. */
function readOne(
  options: Ssmix2ImportOptions,
  rel: string,
  name: ImportedName,
  bytes: Buffer,
  warn: (p: Ssmix2Problem) => void,
): { items: ClinicalItemInput[]; demographics?: PatientInput } | { error: string } {
  let mapped;
  try {
    mapped = mapClinicalBytes(bytes, { facilityId: options.facilityId, source: 'ssmix2', keyPrefix: ssmix2KeyPrefix(name), dataType: name.dataType });
  } catch (err) {
    if (err instanceof ClinicalMappingError) return { error: err.message };
    throw err;
  }
  if (mapped.patient.patientId !== name.patientId) {
    return { error: 'segment PID, PID-3: the patient ID differs from the one in the file name and folders' };
  }
  for (const issue of mapped.issues) warn({ file: rel, message: formatClinicalIssue(issue) });
  const deleted = name.condition === '0';
  const items = deleted ? mapped.items.map((i) => ({ ...i, status: 'entered-in-error' })) : mapped.items;
  return { items, ...(mapped.demographics && !deleted ? { demographics: mapped.patient } : {}) };
}

/**
 * The summary as the command prints it: what was imported and skipped, then every failed file
 * and up to `maxWarnings` warnings, each with its path relative to the root.
 */
export function formatSsmix2Summary(s: Ssmix2ImportSummary, maxWarnings = 20): string[] {
  const rate = s.seconds > 0 ? Math.round((s.imported + s.skipped.unchanged) / s.seconds) : 0;
  const lines = [
    `imported ${s.imported} file(s)${s.deleted ? ` (${s.deleted} deleted at the source)` : ''} in ${s.seconds.toFixed(1)} s (${rate} files/s): `
      + `${s.items.added} item(s) added, ${s.items.updated} updated, ${s.items.unchanged} unchanged; ${s.patientsUpdated} patient(s) updated`,
    `skipped ${s.skipped.unchanged} unchanged since the last import, ${s.skipped.superseded} superseded (condition flag 2), `
      + `${s.skipped.otherTypes} of other data types, ${s.skipped.notSsmix2} outside the storage layout`,
  ];
  if (s.files > 0 && s.skipped.notSsmix2 === s.files) {
    lines.push('no file sits at <root>/<ID 1-3>/<ID 4-6>/<ID>/<date or ->/<data type>/: is this the storage root?');
  }
  if (s.errorCount) {
    lines.push(`${s.errorCount} file(s) failed${s.errorCount > s.errors.length ? ` (first ${s.errors.length} listed)` : ''}:`);
    for (const e of s.errors) lines.push(`  error: ${e.file}: ${e.message}`);
  }
  if (s.warningCount) {
    lines.push(`${s.warningCount} warning(s)${s.warningCount > maxWarnings ? ` (first ${maxWarnings} listed)` : ''}:`);
    for (const w of s.warnings.slice(0, maxWarnings)) lines.push(`  warning: ${w.file}: ${w.message}`);
  }
  return lines;
}
