/**
 * The clinical context of a patient for protocol and reading (W4), built from clinical
 * items: active diagnoses and allergies, the latest creatinine and eGFR with their trend,
 * and current prescriptions and injections.
 *
 * Lab tests are recognised by JLAC10 analyte code (creatinine 3C015, eGFR 8A065; JLAC10
 * 臨床検査項目分類コード 第10回改訂) or, for local codes, by name. Creatinine in µmol/L is
 * converted to mg/dL (÷ 88.4). When a day has a creatinine but no eGFR, an eGFR is
 * calculated with the Japanese equation (日本腎臓学会 CKD診療ガイド: eGFRcreat = 194 ×
 * Cr^-1.094 × age^-0.287, × 0.739 for women; adults only) and marked `derived`.
 */
import type { ClinicalEntry, ClinicalSummaryView, LabPoint, LabTrend } from '../../../shared/api.ts';
import type { ClinicalItem } from '../../platform/db/schema.ts';
import { ageOn, tokyoDicomDate } from '../time.ts';

/** Lab values shown per test (newest first). */
export const LAB_POINTS = 6;
/** Prescriptions and injections older than this are not "current" (no end date is sent). */
export const CURRENT_MEDICATION_DAYS = 90;

/** Statuses (as sent, any language) that mean a diagnosis, allergy or medication no longer applies. */
const ENDED = /resolved|inactive|remission|refuted|entered-in-error|cancel|stopped|discontinu|complete|治癒|中止|終了|死亡|転医|取消|削除|無効/i;

/** An item with the record it came from. */
export type SourcedItem = ClinicalItem & { linked: boolean };

/** Whether a lab item is serum creatinine (not urine creatinine or creatinine clearance). */
export function isCreatinine(i: Pick<ClinicalItem, 'code' | 'text'>): boolean {
  if (/クリアランス|clearance|ccr|尿|urine/i.test(i.text)) return false;
  const code = i.code.toUpperCase();
  // JLAC10 17 digits: analyte (5) identification (4) material (3) ...; material 001 is urine.
  if (code.startsWith('3C015')) return !(code.length === 17 && code.slice(9, 12) === '001');
  return /クレアチニン|creatinine|^\s*(s-|血清)?\s*cre?\s*$/i.test(i.text);
}

/** Whether a lab item is an eGFR. */
export function isEgfr(i: Pick<ClinicalItem, 'code' | 'text'>): boolean {
  return i.code.toUpperCase().startsWith('8A065') || /egfr|推算糸球体|推定糸球体/i.test(i.text);
}

function entry(i: SourcedItem): ClinicalEntry {
  return {
    id: i.id,
    facilityId: i.facility_id,
    linked: i.linked,
    kind: i.kind as ClinicalEntry['kind'],
    code: i.code,
    codeSystem: i.code_system,
    text: i.text,
    category: i.category,
    status: i.status,
    observedAt: i.observed_at,
    value: i.value === null ? null : Number(i.value),
    unit: i.unit,
  };
}

/** Newest item per (kind, code or text): later entries of the same thing replace earlier ones. */
function newestDistinct(items: SourcedItem[]): SourcedItem[] {
  const seen = new Set<string>();
  const out: SourcedItem[] = [];
  for (const i of items) {
    const key = `${i.kind}|${i.code || i.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(i);
  }
  return out;
}

function creatinineMgDl(i: ClinicalItem): number | undefined {
  const v = i.value === null ? NaN : Number(i.value);
  if (!Number.isFinite(v) || v <= 0) return undefined;
  return /mol/i.test(i.unit) ? Math.round((v / 88.4) * 100) / 100 : v;
}

/** eGFRcreat by the Japanese equation, one decimal; undefined outside its population (adults, sex known). */
export function japaneseEgfr(creatinineMgDl: number, age: number, sex: string): number | undefined {
  if (!(creatinineMgDl > 0) || age < 18 || (sex !== 'M' && sex !== 'F')) return undefined;
  const e = 194 * creatinineMgDl ** -1.094 * age ** -0.287 * (sex === 'F' ? 0.739 : 1);
  return Math.round(e * 10) / 10;
}

function trend(points: LabPoint[]): LabTrend {
  const sorted = points.sort((a, b) => (a.observedAt < b.observedAt ? 1 : a.observedAt > b.observedAt ? -1 : 0)).slice(0, LAB_POINTS);
  const [latest, previous] = sorted;
  return { latest: latest ?? null, points: sorted, change: latest && previous ? Math.round((latest.value - previous.value) * 100) / 100 : null };
}

/**
 * Builds the summary from a patient's items (and those of linked records that share them),
 * newest first.
 * @param patient - sex and birth date of the patient, for the calculated eGFR
 * @param now - the moment "current" medication is judged from
 */
export function buildSummary(items: SourcedItem[], patient: { sex: string; birthDate: string }, now: Date): ClinicalSummaryView {
  const newestFirst = [...items].sort((a, b) => (a.observed_at < b.observed_at ? 1 : a.observed_at > b.observed_at ? -1 : a.id.localeCompare(b.id)));
  const active = (kind: string) => newestDistinct(newestFirst.filter((i) => i.kind === kind)).filter((i) => !ENDED.test(i.status));
  const since = new Date(now.getTime() - CURRENT_MEDICATION_DAYS * 86400_000).toISOString();
  const current = (kind: string) => active(kind).filter((i) => i.observed_at >= since);

  const labs = newestFirst.filter((i) => i.kind === 'lab' && i.value !== null && !ENDED.test(i.status));
  const creatinine: LabPoint[] = [];
  for (const i of labs.filter(isCreatinine)) {
    const v = creatinineMgDl(i);
    if (v !== undefined) creatinine.push({ value: v, unit: 'mg/dL', observedAt: i.observed_at, facilityId: i.facility_id, itemId: i.id, derived: false });
  }
  const egfr: LabPoint[] = labs
    .filter(isEgfr)
    .map((i) => ({ value: Number(i.value), unit: i.unit || 'mL/min/1.73m2', observedAt: i.observed_at, facilityId: i.facility_id, itemId: i.id, derived: false }))
    .filter((p) => Number.isFinite(p.value));
  const measuredDays = new Set(egfr.map((p) => tokyoDicomDate(p.observedAt)));
  for (const c of creatinine) {
    if (measuredDays.has(tokyoDicomDate(c.observedAt))) continue;
    const age = ageOn(patient.birthDate, c.observedAt);
    const e = age === undefined ? undefined : japaneseEgfr(c.value, age, patient.sex);
    if (e !== undefined) egfr.push({ value: e, unit: 'mL/min/1.73m2', observedAt: c.observedAt, facilityId: c.facilityId, itemId: c.itemId, derived: true });
  }

  return {
    diagnoses: active('diagnosis').map(entry),
    allergies: active('allergy').map(entry),
    creatinine: trend(creatinine),
    egfr: trend(egfr),
    prescriptions: current('prescription').map(entry),
    injections: current('injection').map(entry),
  };
}
