/**
 * Editing a user's roles, each held at a requesting facility or at the reading provider
 * (読影施設, `facilityId: null`). Used by the create-user form and the grants dialog.
 */
import { Button, Fieldset, Group, NativeSelect, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ROLES, type FacilitySummary, type Role, type RoleGrant } from '../../../shared/api.ts';

/** The select value standing for the reading provider (`facilityId: null`). */
export const PROVIDER = '@provider';

/** One row being edited; `role` and `facility` are empty until chosen. */
export interface GrantDraft {
  key: number;
  role: Role | '';
  facility: string;
  /** Name of a facility that is not in the administrator's facility list. */
  knownName?: string | null;
}

let nextKey = 1;

export function emptyDraft(): GrantDraft {
  return { key: nextKey++, role: '', facility: '' };
}

export function draftsFromGrants(grants: RoleGrant[]): GrantDraft[] {
  return grants.map((grant) => ({
    key: nextKey++,
    role: grant.role,
    facility: grant.facilityId ?? PROVIDER,
    knownName: grant.facilityName,
  }));
}

export type GrantsProblem = 'empty' | 'incomplete' | 'duplicate';

/** The grants to send, or why the rows cannot be sent yet. */
export function grantsFromDrafts(
  drafts: GrantDraft[],
): { grants: Array<{ role: Role; facilityId: string | null }>; problem: null } | { grants: null; problem: GrantsProblem } {
  if (drafts.length === 0) return { grants: null, problem: 'empty' };
  const grants: Array<{ role: Role; facilityId: string | null }> = [];
  const seen = new Set<string>();
  for (const draft of drafts) {
    if (!draft.role || !draft.facility) return { grants: null, problem: 'incomplete' };
    const id = `${draft.role}\u0000${draft.facility}`;
    if (seen.has(id)) return { grants: null, problem: 'duplicate' };
    seen.add(id);
    grants.push({ role: draft.role, facilityId: draft.facility === PROVIDER ? null : draft.facility });
  }
  return { grants, problem: null };
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function GrantsEditor({
  value,
  onChange,
  facilities,
  problem,
  testIdPrefix,
}: {
  value: GrantDraft[];
  onChange: (drafts: GrantDraft[]) => void;
  facilities: FacilitySummary[];
  problem: GrantsProblem | null;
  /** `create-user` gives `create-user-role-0`, `create-user-facility-0`, `create-user-add-grant`... */
  testIdPrefix: string;
}) {
  const { t } = useTranslation();

  const roleOptions = [
    { value: '', label: t('grants.chooseRole'), disabled: true },
    ...ROLES.map((role) => ({ value: role, label: t(`roles.${role}`) })),
  ];

  const facilityOptions = (draft: GrantDraft) => {
    const options = [
      { value: '', label: t('grants.chooseFacility'), disabled: true },
      { value: PROVIDER, label: t('facilities.provider') },
      ...facilities.map((facility) => ({ value: facility.id, label: facility.name })),
    ];
    // A facility outside the administrator's list (e.g. another facility's grant) stays shown.
    if (draft.facility && draft.facility !== PROVIDER && !facilities.some((f) => f.id === draft.facility)) {
      options.push({ value: draft.facility, label: draft.knownName ?? draft.facility });
    }
    return options;
  };

  const update = (index: number, change: Partial<GrantDraft>) =>
    onChange(value.map((draft, i) => (i === index ? { ...draft, ...change } : draft)));

  return (
    <Fieldset legend={t('grants.legend')} variant="filled">
      <Stack gap="sm">
        <Text size="xs" c="dimmed">
          {t('grants.help')}
        </Text>
        {value.length === 0 ? (
          <Text size="sm" c="dimmed">
            {t('grants.none')}
          </Text>
        ) : null}
        {value.map((draft, index) => (
          <Group
            key={draft.key}
            role="group"
            aria-label={t('grants.row', { number: index + 1 })}
            align="flex-end"
            gap="sm"
            wrap="wrap"
          >
            <NativeSelect
              label={t('grants.role')}
              data={roleOptions}
              value={draft.role}
              onChange={(e) => {
                const role = e.currentTarget.value;
                update(index, { role: isRole(role) ? role : '' });
              }}
              required
              style={{ flex: '1 1 12rem' }}
              data-testid={`${testIdPrefix}-role-${index}`}
            />
            <NativeSelect
              label={t('grants.facility')}
              data={facilityOptions(draft)}
              value={draft.facility}
              onChange={(e) => update(index, { facility: e.currentTarget.value })}
              required
              style={{ flex: '1 1 14rem' }}
              data-testid={`${testIdPrefix}-facility-${index}`}
            />
            <Button
              variant="subtle"
              color="red"
              onClick={() => onChange(value.filter((_, i) => i !== index))}
              aria-label={t('grants.removeRow', { number: index + 1 })}
              data-testid={`${testIdPrefix}-remove-${index}`}
            >
              {t('common.remove')}
            </Button>
          </Group>
        ))}
        {problem ? (
          <Text size="sm" c="red" role="alert" data-testid={`${testIdPrefix}-grants-problem`}>
            {t(`grants.problems.${problem}`)}
          </Text>
        ) : null}
        <Group>
          <Button variant="light" onClick={() => onChange([...value, emptyDraft()])} data-testid={`${testIdPrefix}-add-grant`}>
            {t('grants.add')}
          </Button>
        </Group>
      </Stack>
    </Fieldset>
  );
}
