/** Small pieces shared by the findings screens: category and status badges, colours. */
import { Badge } from '@mantine/core';
import type { FindingCategory, FollowUpState, NoticeStatus } from '../../../shared/findings.ts';
import type { FindingsT } from './i18n.ts';

/** Critical red, urgent orange, incidental blue: the same on every screen. */
export const CATEGORY_COLOUR: Record<FindingCategory, string> = { critical: 'red', urgent: 'orange', incidental: 'blue' };

const STATUS_COLOUR: Record<NoticeStatus, string> = { open: 'red', acknowledged: 'teal', cancelled: 'gray' };

const FOLLOW_UP_COLOUR: Record<FollowUpState, string> = { pending: 'orange', 'exam-ordered': 'teal', referred: 'teal', 'not-needed': 'gray' };

export function CategoryBadge({ category, t, size = 'md' }: { category: FindingCategory; t: FindingsT; size?: 'xs' | 'sm' | 'md' | 'lg' }) {
  return (
    <Badge color={CATEGORY_COLOUR[category]} variant="filled" size={size} tt="none" data-testid="finding-category" data-category={category}>
      {t(`findings.categories.${category}`)}
    </Badge>
  );
}

export function StatusBadge({ status, t }: { status: NoticeStatus; t: FindingsT }) {
  return (
    <Badge color={STATUS_COLOUR[status]} variant="light" tt="none" data-testid="finding-status" data-status={status}>
      {t(`findings.status.${status}`)}
    </Badge>
  );
}

export function FollowUpBadge({ state, t }: { state: FollowUpState; t: FindingsT }) {
  return (
    <Badge color={FOLLOW_UP_COLOUR[state]} variant="light" tt="none" data-testid="finding-follow-up-state" data-state={state}>
      {t(`findings.followUp.states.${state}`)}
    </Badge>
  );
}
