/**
 * Settings of the findings module: the server-wide defaults (ENKAKU_FINDINGS_*, see
 * config.ts) and a facility's own values where it has them. The facility contract names
 * whom to call (its contact ladder) but no acknowledgement times; they live here: minutes
 * each ladder step has per category (critical 15, urgent 60, incidental 3 days by default),
 * and the days until an incidental follow-up is due (30).
 */
import type { FindingCategory, FindingSettingsView } from '../../shared/findings.ts';
import type { ChannelTransports } from './channels.ts';
import type { FindingRepository, SettingsRow } from './repository.ts';

/** The server-wide defaults (config.findings). Minutes may be fractions in tests. */
export interface FindingsDefaults {
  ackMinutes: Record<FindingCategory, number>;
  followUpDays: number;
  /** 0: the follow-up review runs monthly (the 1st, Asia/Tokyo); else every N days. */
  reviewEveryDays: number;
  webhookUrl: string | undefined;
  emailTo: string[];
}

/** The settings in force for a facility. */
export interface EffectiveSettings {
  ackMinutes: Record<FindingCategory, number>;
  followUpDays: number;
  webhookUrl: string | null;
  emails: string[];
  sms: boolean;
}

/** Combines a facility's row (null: default) with the defaults. */
export function effective(row: SettingsRow | undefined, d: FindingsDefaults): EffectiveSettings {
  return {
    ackMinutes: {
      critical: row?.critical_minutes ?? d.ackMinutes.critical,
      urgent: row?.urgent_minutes ?? d.ackMinutes.urgent,
      incidental: row?.incidental_minutes ?? d.ackMinutes.incidental,
    },
    followUpDays: row?.follow_up_days ?? d.followUpDays,
    webhookUrl: row?.webhook_url ?? d.webhookUrl ?? null,
    emails: row?.emails !== null && row?.emails !== undefined ? row.emails.split(',').filter(Boolean) : d.emailTo,
    sms: row?.sms === null || row?.sms === undefined ? true : row.sms === 1,
  };
}

/** The settings in force for a facility, read from the database. */
export async function effectiveSettings(repo: FindingRepository, d: FindingsDefaults, facilityId: string): Promise<EffectiveSettings> {
  return effective(await repo.settings(facilityId), d);
}

/** Seconds a ladder step has to acknowledge (at least one). */
export function stepSeconds(s: EffectiveSettings, category: FindingCategory): number {
  return Math.max(1, Math.round(s.ackMinutes[category] * 60));
}

/** The settings as `GET /api/findings/settings/:facilityId` shows them. */
export function settingsView(facilityId: string, row: SettingsRow | undefined, d: FindingsDefaults, transports: ChannelTransports): FindingSettingsView {
  const e = effective(row, d);
  return {
    facilityId,
    ackMinutes: { critical: row?.critical_minutes ?? null, urgent: row?.urgent_minutes ?? null, incidental: row?.incidental_minutes ?? null },
    followUpDays: row?.follow_up_days ?? null,
    webhookUrl: row?.webhook_url ?? null,
    emails: row?.emails !== null && row?.emails !== undefined ? row.emails.split(',').filter(Boolean) : null,
    sms: row?.sms === null || row?.sms === undefined ? null : row.sms === 1,
    effective: { ...e, transports: { ...transports.available, webhook: Boolean(e.webhookUrl) } },
    updatedAt: row?.updated_at ?? null,
    updatedBy: row?.updated_by ?? null,
  };
}
