/**
 * The final radiology report as an HL7 v2.5 ORU^R01 (HL7 v2.5 §7.3.1 ORU_R01 structure), shaped
 * the way Japanese RIS/report systems write results (JAHIS 放射線データ交換規約 Ver.3.x for the
 * order part, JAHIS データ交換規約 conventions for the header, patient and text), and the
 * read confirmation (参照確認) that a facility system sends back. Pure functions.
 *
 * Message (docs/hl7-interface.md has the full segment table):
 * - MSH: `ORU^R01^ORU_R01`, version 2.5, original acknowledgment mode (MSH-15/16 empty: the
 *   receiver answers AA/AE/AR after its application has taken the message, HL7 v2.5 §2.9.2),
 *   MSH-17 JPN, MSH-18 `~ISO IR87` with MSH-20 `ISO 2022-1994` (ISO-2022-JP, as JAHIS
 *   messages are written) or `UNICODE UTF-8`;
 * - PID: PID-3 patient ID `^^^issuer^PI`, PID-5 names as XPN repetitions with the name
 *   representation code of HL7 table 4000 (I 漢字, P カナ, A alphabetic; name type L), PID-7,
 *   PID-8;
 * - ORC (`RE`, observations to follow; ORC-5 CM) and OBR: placer/filler order numbers,
 *   OBR-4 the exam (JJ1017-32 code when known), OBR-7 the study time, OBR-18 the accession
 *   number (as JAHIS orders carry it), OBR-20/21 (filler fields) the report version and report
 *   ids, OBR-22 the finalisation time, OBR-24 RAD, OBR-25 result status (F final, C correction
 *   or addendum; HL7 table 0123 has no separate addendum status), OBR-32 the signing physician
 *   (医籍登録番号 as the ID), OBR-33 the other readers, OBR-35 the transcriptionist;
 * - OBX per report section (LOINC headings of DICOM CID 7001 / JP Core): FT with `\.br\` line
 *   breaks (HL7 v2.5 §2.7.6), or TX with one OBX-5 repetition per line; OBX-11 F/C, OBX-14 the
 *   finalisation time, OBX-16 the signing physician;
 * - OBX for the reason of a correction or addendum, the communication record of critical
 *   findings (who was told, when, how; LOINC 73568-8), AI output labelled as such, the Study
 *   Instance UID (DCM 113014), key images (DCM 121180), and the signed PDF as ED (`^AP^PDF^Base64^…`,
 *   HL7 v2.5 §2.A.24), as JAHIS 生理検査データ交換規約 Ver.2.0 embeds report documents.
 *
 * Characters that ISO-2022-JP (JIS X 0208) cannot carry (①, 髙, emoji) are written as 〓
 * (U+3013 GETA MARK, the customary JIS substitute) and counted; the embedded PDF keeps the exact
 * text. Half-width katakana become full-width (JAHIS messages use JIS X 0208 only).
 */
import type { ReportDocument, ReportSections } from '../../reports/document.ts';
import { SECTION_KEYS } from '../../reports/document.ts';
import { Hl7Builder, formatHl7DateTime, repeat, type Hl7Field, type Hl7Repetition } from './builder.ts';
import { Hl7CharsetError, encodeHl7 } from './charset.ts';
import type { Hl7Message } from './message.ts';
import { hl7TimeToIso } from './orders.ts';

/** MSH-18 of ISO-2022-JP messages as JAHIS writes it (`~ISO IR87`). */
export const ISO_IR87: readonly string[] = Object.freeze(['', 'ISO IR87']);
/** MSH-18 of UTF-8 messages. */
export const UNICODE_UTF8: readonly string[] = Object.freeze(['UNICODE UTF-8']);

/** Local coding system of Enkaku's own codes (HL7 v2.5 table 0396: 99zzz is for local codes). */
export const ENKAKU_CODING_SYSTEM = '99ENK';

/** The trigger event of the read confirmation (参照確認通知), on the ORU_R01 structure. */
export const READ_CONFIRMATION_TRIGGER = 'ZR1';

/** OBX-3 of each report section: LOINC codes (JP Core radiology findings / impression, DICOM CID 7001). */
export const SECTION_CODES: Readonly<Record<keyof ReportSections, { code: string; text: string }>> = Object.freeze({
  clinicalInformation: { code: '55752-0', text: '臨床情報' },
  technique: { code: '55111-9', text: '検査方法' },
  comparison: { code: '18834-2', text: '比較' },
  findings: { code: '18782-3', text: '所見' },
  impression: { code: '19005-8', text: '診断' },
});

/** Options of {@link buildOruR01}. */
export interface OruOptions {
  /** MSH-10; keep it the same when the same delivery is sent again, so the receiver can drop the duplicate. */
  controlId: string;
  /** MSH-3 / MSH-4 (default ENKAKU). */
  sendingApplication?: string | undefined;
  sendingFacility?: string | undefined;
  /** MSH-5 / MSH-6, as the receiver expects them. */
  receivingApplication?: string | undefined;
  receivingFacility?: string | undefined;
  /** Default iso-2022-jp. */
  charset?: 'iso-2022-jp' | 'utf-8' | undefined;
  /** Default FT. */
  textType?: 'FT' | 'TX' | undefined;
  /** The signed PDF, embedded as ED when given. */
  pdf?: Uint8Array | null | undefined;
  /** MSH-7, default now. */
  dateTime?: Date | undefined;
}

/** A built message. */
export interface BuiltOru {
  /** The message text (segments ended by CR). */
  text: string;
  characterSet: string[];
}

/** An encoded message, ready for an MLLP frame. */
export interface EncodedOru extends BuiltOru {
  bytes: Buffer;
  /** Characters the character set cannot carry, written as 〓 (0 for UTF-8). */
  substituted: number;
}

/** `Family^Given^Middle^Prefix^Suffix` (a DICOM PN group) as XPN components 1-5, plus name type and representation. */
function xpn(pn: string, representation: 'I' | 'P' | 'A'): Hl7Repetition | undefined {
  if (!pn.trim()) return undefined;
  const [family = '', given, middle, prefix, suffix] = pn.split('^');
  return [family, given, middle, suffix, prefix, undefined, 'L', representation];
}

/** A display name ("鈴木 一郎", or PN "鈴木^一郎") as family and given name. */
function splitName(name: string): { family: string; given: string | undefined } {
  const t = name.trim();
  if (t.includes('^')) {
    const [family = '', given] = t.split('^');
    return { family, given: given || undefined };
  }
  const m = /^(\S+)[\s\u3000]+(.+)$/.exec(t);
  return m ? { family: m[1]!, given: m[2]! } : { family: t, given: undefined };
}

/** XCN: ID ^ family ^ given. */
function xcn(id: string | undefined, name: string): Hl7Repetition {
  const n = splitName(name);
  return [id || undefined, n.family || undefined, n.given];
}

/** CNN (as the first component of NDL, in subcomponents): ID & family & given. */
function ndl(id: string | undefined, name: string): Hl7Repetition {
  const n = splitName(name);
  return [[id || undefined, n.family || undefined, n.given]];
}

/** An ISO instant as HL7 TS in Japan time; undefined for ''/null/invalid. */
function ts(iso: string | null | undefined): string | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : formatHl7DateTime(d);
}

/** DICOM DA + TM (`HHMMSS.ffffff`) as HL7 TS. */
function studyTs(date: string, time: string): string | undefined {
  if (!/^\d{8}$/.test(date)) return undefined;
  const t = /^(\d{2})(\d{2})?(\d{2})?/.exec(time.trim());
  return t ? `${date}${t[1]}${t[2] ?? '00'}${t[3] ?? '00'}` : date;
}

/** "2026-11-20 12:15 (JST)" for texts read by people. */
function jst(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const s = formatHl7DateTime(d, { precision: 'minute' });
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)} ${s.slice(8, 10)}:${s.slice(10, 12)} (JST)`;
}

/**
 * Build the ORU^R01 text of a final report version (see the module comment for the layout).
 * Values are escaped by the builder (HL7 v2.5 §2.7); line breaks in sections become `\.br\`
 * (FT) or repetitions (TX).
 */
export function buildOruR01(doc: ReportDocument, options: OruOptions): BuiltOru {
  const charset = options.charset ?? 'iso-2022-jp';
  const characterSet = [...(charset === 'utf-8' ? UNICODE_UTF8 : ISO_IR87)];
  const textType = options.textType ?? 'FT';
  const b = new Hl7Builder();
  b.msh({
    sendingApplication: options.sendingApplication || 'ENKAKU',
    sendingFacility: options.sendingFacility || 'ENKAKU',
    receivingApplication: options.receivingApplication || undefined,
    receivingFacility: options.receivingFacility || undefined,
    dateTime: options.dateTime ?? new Date(),
    messageType: { code: 'ORU', trigger: 'R01', structure: 'ORU_R01' },
    controlId: options.controlId,
    processingId: 'P',
    version: '2.5',
    countryCode: 'JPN',
    characterSet,
    alternateCharacterSetHandling: charset === 'iso-2022-jp' ? 'ISO 2022-1994' : undefined,
  });

  const p = doc.patient;
  const names = [xpn(p.name.ideographic, 'I'), xpn(p.name.phonetic, 'P'), xpn(p.name.alphabetic, 'A')].filter((n): n is Hl7Repetition => n !== undefined);
  b.segment('PID', '1', undefined, [p.patientId, undefined, undefined, p.issuer || undefined, 'PI'], undefined,
    names.length ? repeat(...names) : undefined,
    undefined, p.birthDate || undefined, p.sex || undefined);

  const o = doc.order;
  const status = doc.kind === 'final' ? 'F' : 'C';
  const finalisedAt = ts(doc.finalisedAt);
  const requester = o?.requesterName ? xcn(undefined, o.requesterName) : undefined;
  const placer = o?.placerOrderNumber ? [o.placerOrderNumber] : undefined;
  const filler = o?.fillerOrderNumber ? [o.fillerOrderNumber] : undefined;
  b.segment('ORC', 'RE', placer, filler, undefined, 'CM', undefined, undefined, undefined, finalisedAt, undefined, undefined, requester,
    undefined, undefined, undefined, undefined, o?.requesterDepartment ? [undefined, o.requesterDepartment] : undefined);

  const service: Hl7Field = o?.jj1017
    ? [o.jj1017, o.procedureText || doc.study.description || undefined, 'JJ1017-32']
    : [undefined, o?.procedureText || doc.study.description || undefined];
  const others = doc.otherReaders.map((r) => ndl(undefined, r.displayName));
  const obr: Hl7Field[] = [
    '1', placer, filler, service, undefined, undefined, studyTs(doc.study.studyDate, doc.study.studyTime),
    undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined,
    requester, undefined, doc.study.accessionNumber || undefined, undefined, doc.versionId, doc.reportId,
    finalisedAt, undefined, 'RAD', status, undefined, undefined, undefined, undefined, undefined, undefined,
    ndl(doc.reader.licenceNumber, doc.reader.displayName),
    others.length ? repeat(...others) : undefined,
    undefined,
    doc.transcribedBy ? ndl(undefined, doc.transcribedBy.displayName) : undefined,
  ];
  b.segment('OBR', ...obr);

  const observer = xcn(doc.reader.licenceNumber, doc.reader.displayName);
  const observedAt = ts(doc.reading.finalisedAt) ?? finalisedAt;
  let setId = 0;
  const text = (code: Hl7Field, value: string, at: string | undefined = observedAt): void => {
    const lines = value.replace(/\r\n?/g, '\n').split('\n');
    const v: Hl7Field = textType === 'TX' ? repeat(...lines) : value;
    b.segment('OBX', String(++setId), textType, code, undefined, v, undefined, undefined, undefined, undefined, undefined, status,
      undefined, undefined, at, undefined, observer);
  };
  const simple = (type: string, code: Hl7Field, subId: string | undefined, value: Hl7Field): void => {
    b.segment('OBX', String(++setId), type, code, subId, value, undefined, undefined, undefined, undefined, undefined, status,
      undefined, undefined, observedAt, undefined, observer);
  };

  for (const key of SECTION_KEYS) {
    const value = doc.sections[key];
    if (!value || !value.trim()) continue;
    const c = SECTION_CODES[key];
    text([c.code, c.text, 'LN'], value);
  }
  if (doc.kind !== 'final' && doc.reason.trim()) {
    text(['REASON', doc.kind === 'addendum' ? '追記の理由' : '訂正の理由', ENKAKU_CODING_SYSTEM], doc.reason);
  }
  for (const c of doc.communications) {
    const lines = [
      `区分: ${c.category}`,
      `伝達先: ${c.recipient}`,
      `方法: ${c.channel}`,
      `日時: ${jst(c.at)}`,
      `受領確認: ${c.acknowledgedAt ? jst(c.acknowledgedAt) : '未確認'}`,
      `内容: ${c.message}`,
    ];
    text(['73568-8', '重要所見の伝達', 'LN'], lines.join('\n'), ts(c.at));
  }
  for (const a of doc.aiFindings) {
    text(['AI', 'AI解析結果(参考情報、医師の診断ではない)', ENKAKU_CODING_SYSTEM], `${a.source}: ${a.text}`);
  }
  if (doc.study.studyUid) simple('ST', ['113014', 'DICOM Study', 'DCM'], undefined, doc.study.studyUid);
  doc.keyImages.forEach((k, i) => simple('ST', ['121180', 'Key Images', 'DCM'], String(i + 1), k.sopInstanceUid));
  if (options.pdf && options.pdf.length) {
    simple('ED', ['18748-4', '画像検査報告書', 'LN'], undefined, ['ENKAKU', 'AP', 'PDF', 'Base64', Buffer.from(options.pdf).toString('base64')]);
  }
  return { text: b.toString(), characterSet };
}

const GETA = '\u3013';

/**
 * Replace the characters the character set cannot carry with 〓 (U+3013), counting them. Each
 * distinct character is tried once.
 */
export function substituteUnencodable(text: string, characterSet: readonly string[]): { text: string; substituted: number } {
  const cache = new Map<string, boolean>();
  let substituted = 0;
  let out = '';
  let plainFrom = 0;
  let i = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x80) {
      let ok = cache.get(ch);
      if (ok === undefined) {
        try {
          encodeHl7(ch, characterSet, { halfwidthKatakana: 'fullwidth' });
          ok = true;
        } catch (e) {
          if (!(e instanceof Hl7CharsetError)) throw e;
          ok = false;
        }
        cache.set(ch, ok);
      }
      if (!ok) {
        out += text.slice(plainFrom, i) + GETA;
        plainFrom = i + ch.length;
        substituted++;
      }
    }
    i += ch.length;
  }
  return { text: substituted ? out + text.slice(plainFrom) : text, substituted };
}

/**
 * Build and encode the ORU^R01 for the wire: ISO-2022-JP (unencodable characters as 〓,
 * half-width katakana as full-width) or UTF-8.
 */
export function encodeOruR01(doc: ReportDocument, options: OruOptions): EncodedOru {
  const built = buildOruR01(doc, options);
  if ((options.charset ?? 'iso-2022-jp') === 'utf-8') return { ...built, bytes: encodeHl7(built.text, built.characterSet), substituted: 0 };
  const { text, substituted } = substituteUnencodable(built.text, built.characterSet);
  return { text, characterSet: built.characterSet, bytes: encodeHl7(text, built.characterSet, { halfwidthKatakana: 'fullwidth' }), substituted };
}

/** A read confirmation (参照確認) of a report version, as received. */
export interface Hl7ReadConfirmation {
  versionId: string;
  /** The physician who read it, as the facility names them ("family given (ID)"). */
  by: string;
  /** ISO 8601 UTC. */
  at: string;
}

/** Why a read confirmation could not be taken (HL7 table 0357 code and where). */
export interface ReadConfirmationIssue {
  code: 101 | 102 | 200;
  location: string;
  message: string;
}

/** Whether MSH-9 names the read confirmation (`ORU^ZR1`). */
export function isReadConfirmation(message: Hl7Message): boolean {
  const t = message.header.messageType;
  return t.code === 'ORU' && t.trigger === READ_CONFIRMATION_TRIGGER;
}

/**
 * Read a read confirmation (参照確認通知, `ORU^ZR1^ORU_R01`): the report version from OBR-20
 * (as Enkaku sent it in the ORU^R01), and from the OBX whose OBX-3 is `READ^…^99ENK` the
 * physician (OBX-16, XCN) and the time read (OBX-14; MSH-7 when empty).
 *
 * @returns the confirmation, or the issues found (to answer with AE / AR)
 */
export function readConfirmationOf(message: Hl7Message): { ok: true; confirmation: Hl7ReadConfirmation } | { ok: false; issues: ReadConfirmationIssue[] } {
  if (!isReadConfirmation(message)) {
    return { ok: false, issues: [{ code: 200, location: 'MSH-9', message: `a read confirmation is ORU^${READ_CONFIRMATION_TRIGGER}` }] };
  }
  const issues: ReadConfirmationIssue[] = [];
  const obr = message.segments.find((s) => s.name === 'OBR');
  const versionId = obr?.get(20)?.trim() ?? '';
  if (!versionId) issues.push({ code: 101, location: 'OBR-20', message: 'OBR-20 (the report version id Enkaku sent in OBR-20 of the ORU^R01) is required' });
  const obx = message.segments.find((s) => s.name === 'OBX' && (s.get(3, 1) ?? '').trim().toUpperCase() === 'READ');
  if (!obx) {
    issues.push({ code: 101, location: 'OBX-3', message: `an OBX with OBX-3 READ^参照確認^${ENKAKU_CODING_SYSTEM} is required` });
    return { ok: false, issues };
  }
  const id = obx.get(16, 1)?.trim() ?? '';
  const family = obx.get(16, 2)?.trim() ?? '';
  const given = obx.get(16, 3)?.trim() ?? '';
  const name = [family, given].filter(Boolean).join(' ');
  const by = name && id ? `${name} (${id})` : name || id;
  if (!by) issues.push({ code: 101, location: 'OBX-16', message: 'OBX-16 (the physician who read the report: ID^family^given) is required' });
  const rawAt = obx.get(14)?.trim() || message.header.dateTime;
  const at = rawAt ? hl7TimeToIso(rawAt) : undefined;
  if (!at) issues.push({ code: 102, location: 'OBX-14', message: 'OBX-14 (when the report was read) must be an HL7 date/time' });
  if (issues.length) return { ok: false, issues };
  return { ok: true, confirmation: { versionId, by, at: at! } };
}
