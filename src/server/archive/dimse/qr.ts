/**
 * Shared pieces of the Query/Retrieve SCP (PS3.4 Annex C): status codes, the levels of
 * the two information models, and the matching conditions built from identifier values
 * with the same rules as QIDO-RS (qido-match.ts).
 */
import { AppError } from '../../platform/errors.ts';
import { dateCondition, nameCondition, stringCondition, uidCondition, type Condition } from '../dicomweb/qido-match.ts';
import type { QrModel } from './sopclasses.ts';
import { IdentifierError, type Identifier } from './identifier.ts';

/** Status codes of C-FIND, C-GET and C-MOVE (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4; PS3.7 Annex C). */
export const QR_STATUS = {
  success: 0x0000,
  /** Matches are continuing. */
  pending: 0xff00,
  /** Matches are continuing; one or more optional keys were not supported. */
  pendingWarning: 0xff01,
  cancel: 0xfe00,
  /** C-FIND: refused, out of resources (too many matches). */
  outOfResources: 0xa700,
  /** C-GET/C-MOVE: refused, out of resources, unable to perform sub-operations. */
  outOfResourcesSubOperations: 0xa702,
  /** C-MOVE: refused, move destination unknown. */
  moveDestinationUnknown: 0xa801,
  /** Identifier does not match SOP class. */
  identifierMismatch: 0xa900,
  /** Unable to process: the identifier holds an invalid value. */
  unableToProcess: 0xc000,
  /** Unable to process: an internal error. */
  processingFailure: 0xc001,
  /** Sub-operations complete, one or more failures or warnings. */
  subOperationsWarning: 0xb000,
  /** Refused: SOP class not supported (PS3.7 C.5). */
  sopClassNotSupported: 0x0122,
} as const;

/** A request that is answered with a failure status (and an error comment). */
export class QrFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'QrFailure';
  }
}

/** Query/Retrieve levels (PS3.4 C.6). */
export type Level = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';

/** The most C-FIND matches answered; a query matching more is refused with A700. */
export const MAX_FIND_MATCHES = 5000;

/** The most instances one C-GET or C-MOVE sends; a larger request is refused with A702. */
export const MAX_RETRIEVE_INSTANCES = 10000;

export const TAG = {
  SpecificCharacterSet: 0x00080005,
  QueryRetrieveLevel: 0x00080052,
  RetrieveAETitle: 0x00080054,
  InstanceAvailability: 0x00080056,
  FailedSOPInstanceUIDList: 0x00080058,
  PatientID: 0x00100020,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  SOPInstanceUID: 0x00080018,
} as const;

/**
 * The level of a request, checked against the information model: PATIENT exists only in
 * the Patient Root model (PS3.4 C.6.1, C.6.2).
 * @throws QrFailure A900 when the level is missing, unknown or not part of the model
 */
export function levelOf(id: Identifier, model: QrModel): Level {
  const value = id.text(TAG.QueryRetrieveLevel).toUpperCase();
  const levels: readonly Level[] = model === 'patient' ? ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'] : ['STUDY', 'SERIES', 'IMAGE'];
  if (!value) throw new QrFailure(QR_STATUS.identifierMismatch, 'Query/Retrieve Level (0008,0052) is missing');
  if (!(levels as readonly string[]).includes(value)) {
    throw new QrFailure(QR_STATUS.identifierMismatch, `level ${value.slice(0, 16)} is not part of the ${model === 'patient' ? 'Patient' : 'Study'} Root model`);
  }
  return value as Level;
}

/** How a key's value is matched (PS3.4 C.2.2.2). */
export type MatchKind = 'name' | 'text' | 'uid' | 'date' | 'time' | 'int' | 'codes' | 'none';

/** Runs a qido-match builder, turning its refusals into an "unable to process" failure. */
function guarded<T>(keyword: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof AppError || err instanceof IdentifierError) throw new QrFailure(QR_STATUS.unableToProcess, `${keyword}: ${err.message}`.slice(0, 64));
    throw err;
  }
}

/**
 * A person-name key. Values without wildcards, or with only a trailing `*`, use the
 * same fuzzy matching as QIDO-RS with `fuzzymatching=true`: a component of any of the
 * three groups starts with the value after folding width, kana and case, so `山田*`,
 * `やまだ*`, `ﾔﾏﾀﾞ` and `Yamada` find Yamada^Tarou=山田^太郎=やまだ^たろう (PS3.4
 * C.2.2.2.1.1). Other wildcards (`*` inside, `?`) match whole groups literally. A value
 * with several groups (`=`) is matched by its first non-empty group.
 */
export function personNameCondition(value: string): Condition | undefined {
  const group = value.split('=').map((g) => g.trim()).find((g) => g !== '') ?? '';
  if (group === '' || /^\*+$/.test(group)) return undefined;
  const head = group.replace(/\*+$/, '');
  return /[*?]/.test(head) ? nameCondition(group, false) : nameCondition(head, true);
}

/** A TM key: a time or a range `HHMMSS-HHMMSS` with either end open (PS3.4 C.2.2.2.5). */
function timeCondition(value: string): Condition | undefined {
  const v = value.replace(/:/g, '');
  const m = /^(\d{2,6}(?:\.\d{1,6})?)?(-)?(\d{2,6}(?:\.\d{1,6})?)?$/.exec(v);
  if (!m || (!m[1] && !m[3])) throw new QrFailure(QR_STATUS.unableToProcess, 'time must be HHMMSS or a range HHMMSS-HHMMSS');
  if (!m[2]) return { kind: 'equals', value: m[1]! };
  return { kind: 'range', from: m[1], to: m[3] };
}

/** The condition for a key value, or undefined for universal matching. */
export function conditionFor(kind: MatchKind, keyword: string, value: string): Condition | undefined {
  if (value === '' || value === '*') return undefined;
  switch (kind) {
    case 'name':
      return personNameCondition(value);
    case 'text':
      return stringCondition(value);
    case 'uid':
      return guarded(keyword, () => uidCondition(value));
    case 'date':
      return guarded(keyword, () => dateCondition(value, keyword));
    case 'time':
      return timeCondition(value);
    case 'int':
      if (!/^[+-]?\d{1,10}$/.test(value)) throw new QrFailure(QR_STATUS.unableToProcess, `${keyword} must be an integer`);
      return { kind: 'equals', value: String(Number(value)) };
    case 'codes': {
      const values = value.split('\\').map((v) => v.trim()).filter(Boolean);
      return values.length ? { kind: 'in', values } : undefined;
    }
    case 'none':
      return undefined;
  }
}

function likeRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) out += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '%') out += '.*';
    else if (ch === '_') out += '.';
    else out += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

/** Tests a stored value against a condition, for keys the index does not match in SQL. */
export function conditionMatches(c: Condition, stored: string | readonly string[]): boolean {
  const values = typeof stored === 'string' ? [stored] : stored;
  return values.some((v) => {
    switch (c.kind) {
      case 'equals':
        return v === c.value;
      case 'like':
        return likeRegex(c.pattern).test(v);
      case 'in':
        return c.values.includes(v);
      case 'range': {
        const x = v.replace(/:/g, '');
        return x !== '' && (!c.from || x >= c.from) && (!c.to || x <= c.to);
      }
      case 'name':
        return false;
    }
  });
}
