/**
 * Protocol checks for an order that asks for contrast (W4), each with the evidence it rests
 * on (value and date):
 * - renal function: the latest eGFR below `ENKAKU_EGFR_CONTRAINDICATE` (default 30) or
 *   `ENKAKU_EGFR_WARN` (default 45) mL/min/1.73m², or no eGFR within 90 days
 *   (日本腎臓学会・日本医学放射線学会・日本循環器学会「腎障害患者におけるヨード造影剤使用に
 *   関するガイドライン2018」; for gadolinium, 「腎障害患者におけるガドリニウム造影剤使用に
 *   関するガイドライン」 on NSF below eGFR 30);
 * - a recorded allergy to contrast media: iodinated agents for CT and X-ray exams,
 *   gadolinium for MR; an allergy to the other class is shown as information;
 * - metformin (and combinations containing it, YJ code 3962) with iodinated contrast
 *   (lactic acidosis; the guideline's withholding rules).
 * Ultrasound and nuclear medicine agents are not checked here.
 */
import type { ClinicalEntry, ClinicalSummaryView, LabPoint, ProtocolWarning, WarningEvidence } from '../../../shared/api.ts';

/** Thresholds of the renal check, mL/min/1.73m². */
export interface EgfrThresholds {
  warn: number;
  contraindicate: number;
}

/** An eGFR older than this is not taken as the current renal function. */
export const EGFR_MAX_AGE_DAYS = 90;

/** Which contrast agent class an exam of a modality uses. */
export function agentOf(modality: string): 'iodine' | 'gadolinium' | 'other' {
  const m = modality.toUpperCase();
  if (m === 'MR') return 'gadolinium';
  if (m === 'US' || m === 'NM' || m === 'PT') return 'other';
  return 'iodine';
}

const IODINE = /ヨード|ヨウ素|iodin|イオパミドール|イオヘキソール|イオメプロール|イオベルソール|イオプロミド|イオキシラン|イオジキサノール|アミドトリゾ|オムニパーク|イオパミロン|イオメロン|オプチレイ|ウログラフィン|ビジパーク|contrast-iodine/i;
const GADOLINIUM = /ガドリニウム|gadolin|ガドテル|ガドブトロール|ガドキセト|ガドテリドール|ガドジアミド|マグネビスト|プロハンス|ガドビスト|オムニスキャン|マグネスコープ|EOB|contrast-gadolinium/i;
const CONTRAST = /造影剤|contrast/i;
const METFORMIN = /メトホルミン|metformin|メトグルコ|グリコラン|エクメット|イニシンク|メタクト|メトアナ/i;

function allergyClass(a: ClinicalEntry): 'iodine' | 'gadolinium' | 'unspecified' | undefined {
  const text = `${a.category} ${a.text} ${a.code}`;
  if (IODINE.test(text)) return 'iodine';
  if (GADOLINIUM.test(text)) return 'gadolinium';
  if (CONTRAST.test(text)) return 'unspecified';
  return undefined;
}

/** Whether a medication entry is metformin: by name, or YJ code 3962 (ビグアナイド系製剤). */
export function isMetformin(m: ClinicalEntry): boolean {
  if (METFORMIN.test(m.text)) return true;
  const code = m.code.toUpperCase();
  return code.startsWith('3962') && (/yj/i.test(m.codeSystem) || /^3962[0-9A-Z]{8}$/.test(code));
}

function fromEntry(e: ClinicalEntry): WarningEvidence {
  return { text: e.text || e.code, value: e.value, unit: e.unit, observedAt: e.observedAt, facilityId: e.facilityId, itemId: e.id };
}

function fromLab(p: LabPoint, name: string): WarningEvidence {
  return { text: p.derived ? `${name} (calculated from creatinine)` : name, value: p.value, unit: p.unit, observedAt: p.observedAt, facilityId: p.facilityId, itemId: p.itemId };
}

/**
 * The warnings for an order. None when the order does not ask for contrast.
 * @param now - the moment the age of the latest eGFR is judged from
 */
export function protocolWarnings(order: { modality: string; contrast: boolean }, clinical: ClinicalSummaryView, t: EgfrThresholds, now: Date): ProtocolWarning[] {
  if (!order.contrast) return [];
  const agent = agentOf(order.modality);
  if (agent === 'other') return [];
  const out: ProtocolWarning[] = [];
  const agentJa = agent === 'iodine' ? 'ヨード造影剤' : 'ガドリニウム造影剤';
  const agentEn = agent === 'iodine' ? 'iodinated contrast' : 'gadolinium contrast';

  const egfr = clinical.egfr.latest;
  const creatinine = clinical.creatinine.latest;
  if (egfr) {
    const evidence = [fromLab(egfr, 'eGFR'), ...(creatinine ? [fromLab(creatinine, 'creatinine')] : [])];
    if (egfr.value < t.contraindicate) {
      out.push({ code: 'egfr-contraindicated', severity: 'danger', message: { ja: `eGFR ${egfr.value} (< ${t.contraindicate}): ${agentJa}の使用は原則避ける`, en: `eGFR ${egfr.value} (< ${t.contraindicate}): avoid ${agentEn} unless essential` }, evidence });
    } else if (egfr.value < t.warn) {
      out.push({ code: 'egfr-low', severity: 'warning', message: { ja: `eGFR ${egfr.value} (< ${t.warn}): 腎機能低下。${agentJa}の適応と予防策を確認`, en: `eGFR ${egfr.value} (< ${t.warn}): reduced renal function; confirm the indication for ${agentEn} and preventive measures` }, evidence });
    }
  }
  const fresh = egfr && now.getTime() - Date.parse(egfr.observedAt) <= EGFR_MAX_AGE_DAYS * 86400_000;
  if (!fresh) {
    out.push({
      code: 'egfr-unknown',
      severity: 'info',
      message: { ja: `${EGFR_MAX_AGE_DAYS}日以内のeGFRがありません`, en: `no eGFR within ${EGFR_MAX_AGE_DAYS} days` },
      evidence: egfr ? [fromLab(egfr, 'eGFR')] : [],
    });
  }

  for (const a of clinical.allergies) {
    const cls = allergyClass(a);
    if (!cls) continue;
    const same = cls === 'unspecified' || cls === agent;
    out.push({
      code: 'contrast-allergy',
      severity: same ? 'danger' : 'info',
      message: same
        ? { ja: `造影剤アレルギーの記録: ${a.text || a.code}`, en: `recorded contrast allergy: ${a.text || a.code}` }
        : { ja: `他系統の造影剤アレルギーの記録: ${a.text || a.code}`, en: `recorded allergy to another contrast class: ${a.text || a.code}` },
      evidence: [fromEntry(a)],
    });
  }

  if (agent === 'iodine') {
    const metformin = [...clinical.prescriptions, ...clinical.injections].filter(isMetformin);
    if (metformin.length) {
      out.push({
        code: 'metformin',
        severity: 'warning',
        message: { ja: 'メトホルミン服用中: ヨード造影剤使用前後の休薬を確認', en: 'on metformin: check withholding around iodinated contrast' },
        evidence: metformin.map(fromEntry),
      });
    }
  }
  return out;
}
