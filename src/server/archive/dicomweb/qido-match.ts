/**
 * QIDO-RS matching (PS3.18 §8.3.4, PS3.4 C.2.2.2): the query keys of a search request
 * turned into typed conditions. Single values match exactly, `*` and `?` are wildcards,
 * dates and times take ranges (`20240101-20241231`), UID keys take lists (comma or
 * backslash), and person names match any of the three component groups; with
 * `fuzzymatching=true` a name matches when any of its components starts with the
 * query, after normalising width, kana and case (so 山田, やまだ, ﾔﾏﾀﾞ and Yamada all find
 * Yamada^Tarou=山田^太郎=やまだ^たろう).
 */
import { AppError } from '../../platform/errors.ts';
import { normaliseForSearch } from '../dicom/names.ts';

/** A condition on one column. */
export type Condition =
  | { kind: 'equals'; value: string }
  | { kind: 'like'; pattern: string }
  | { kind: 'in'; values: string[] }
  | { kind: 'range'; from: string | undefined; to: string | undefined }
  | { kind: 'name'; fuzzy: boolean; value: string };

/** Turns a DICOM wildcard value into a SQL LIKE pattern (escape character `\`). */
export function likePattern(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** A string key: exact, or LIKE with wildcards. Empty means "return, do not match". */
export function stringCondition(value: string): Condition | undefined {
  if (value === '' || value === '*') return undefined;
  return /[*?]/.test(value) ? { kind: 'like', pattern: likePattern(value) } : { kind: 'equals', value };
}

/** A UID key: one UID or a list (PS3.18 allows comma-separated, PS3.4 backslash). */
export function uidCondition(value: string): Condition | undefined {
  const values = value.split(/[,\\]/).map((v) => v.trim()).filter(Boolean);
  if (values.length === 0) return undefined;
  for (const v of values) if (!/^[0-9.]{1,64}$/.test(v)) throw new AppError('bad_request', `"${v.slice(0, 70)}" is not a UID`);
  return values.length === 1 ? { kind: 'equals', value: values[0]! } : { kind: 'in', values };
}

/** A DA key: YYYYMMDD, or a range with either end open (PS3.4 C.2.2.2.5). */
export function dateCondition(value: string, name: string): Condition | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const m = /^(\d{8})?(-)?(\d{8})?$/.exec(v);
  if (!m || (!m[1] && !m[3])) throw new AppError('bad_request', `${name} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD`);
  if (!m[2]) return { kind: 'equals', value: m[1]! };
  return { kind: 'range', from: m[1], to: m[3] };
}

/** A person-name key. */
export function nameCondition(value: string, fuzzy: boolean): Condition | undefined {
  if (value === '' || value === '*') return undefined;
  return { kind: 'name', fuzzy, value: fuzzy ? normaliseForSearch(value.replace(/[*?]/g, '')) : value };
}
