import type { TFunction } from 'i18next';
import type { RoleGrant } from '../../shared/api.ts';

/** `読影医（読影施設）` / `主治医（デモ総合病院）`. */
export function grantLabel(t: TFunction, grant: Pick<RoleGrant, 'role' | 'facilityId' | 'facilityName'>): string {
  const where = grant.facilityId === null ? t('facilities.provider') : (grant.facilityName ?? grant.facilityId);
  return t('grants.label', { role: t(`roles.${grant.role}`), facility: where });
}
