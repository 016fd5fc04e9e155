/**
 * How the values of a report document read in Japanese on paper: person names from DICOM PN
 * groups, dates and times in Japan time (ARCHITECTURE rule 7: stored in UTC, shown in
 * Asia/Tokyo), DICOM dates, and the labels of coded values.
 */
import type { ReaderLocation, ReportVersionKind } from '../document.ts';

/** A DICOM person name group (`Family^Given^Middle^Prefix^Suffix`, PS3.5 §6.2) as one line. */
export function personName(pn: string): string {
  return pn
    .split('^')
    .map((part) => part.trim())
    .filter(Boolean)
    .join(' ');
}

const TOKYO = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** An ISO time (UTC) as Japan time, e.g. `2026/11/20 12:15 (JST)`; '' when empty or invalid. */
export function tokyoDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${TOKYO.format(d)} (JST)`;
}

/** A DICOM DA value (YYYYMMDD) as `2026年11月20日`; other text is returned as it is. */
export function dicomDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  if (!m) return da.trim();
  return `${m[1]}年${Number(m[2])}月${Number(m[3])}日`;
}

/** A DICOM TM value (HHMMSS[.ffffff]) as `10:15`; other text is returned as it is. */
export function dicomTime(tm: string): string {
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(tm.trim());
  if (!m) return tm.trim();
  return `${m[1]}:${m[2] ?? '00'}`;
}

/** Age in whole years on a date (both YYYYMMDD), or undefined when either is not a date. */
export function ageOn(birthDate: string, on: string): number | undefined {
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec(birthDate);
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(on);
  if (!b || !d) return undefined;
  let age = Number(d[1]) - Number(b[1]);
  if (Number(d[2]) * 100 + Number(d[3]) < Number(b[2]) * 100 + Number(b[3])) age -= 1;
  return age >= 0 ? age : undefined;
}

/** Patient's Sex (0010,0040) in Japanese. */
export function sexLabel(sex: string): string {
  switch (sex.trim().toUpperCase()) {
    case 'M':
      return '男性';
    case 'F':
      return '女性';
    case 'O':
      return 'その他';
    default:
      return '不明';
  }
}

/** The kind of a report version, with its number: 確定報告 (第1版), 訂正報告 (第2版), 追記 (第3版). */
export function versionLabel(kind: ReportVersionKind, version: number): string {
  const name = kind === 'final' ? '確定報告' : kind === 'correction' ? '訂正報告' : '追記';
  return `${name} (第${version}版)`;
}

/** Heading of the reason line of a correction or addendum. */
export function reasonLabel(kind: ReportVersionKind): string {
  return kind === 'addendum' ? '追記の理由' : '訂正の理由';
}

/** Order priority in Japanese. */
export function priorityLabel(priority: string): string {
  switch (priority) {
    case 'stat':
      return '至急 (STAT)';
    case 'urgent':
      return '緊急';
    case 'routine':
      return '通常';
    default:
      return priority;
  }
}

/** Where the reader read (B2). */
export function locationLabel(location: ReaderLocation): string {
  switch (location) {
    case 'on-site':
      return '読影施設内';
    case 'home':
      return '自宅 (遠隔読影)';
    default:
      return 'その他';
  }
}

/** Category of a finding communication. */
export function communicationLabel(category: string): string {
  switch (category) {
    case 'critical':
      return '緊急連絡 (重大所見)';
    case 'urgent':
      return '至急連絡';
    case 'incidental':
      return '偶発所見の連絡';
    default:
      return category;
  }
}

/** Role of another reader in double reading (W9). */
export function otherReaderLabel(role: 'first-reader' | 'second-reader' | 'arbiter'): string {
  return role === 'first-reader' ? '一次読影医' : role === 'second-reader' ? '二次読影医' : '裁定医';
}
