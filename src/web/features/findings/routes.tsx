/**
 * The findings pages' routes: `/findings` (open and overdue notices), `/findings/<id>` (the
 * same page with that finding on top: alerts and outside prompts link there) and
 * `/findings/manage` (the management view). Only the finding's internal id is in the path.
 * Returns undefined for paths that are not the findings pages'.
 */
import type { ReactNode } from 'react';
import type { SessionUser } from '../../../shared/api.ts';
import { ForbiddenPage, NotFoundPage } from '../../app/StatusPages.tsx';
import { canManageFindings, canSeeFindings } from './access.ts';
import { FindingsPage } from './FindingsPage.tsx';
import { ManagePage } from './ManagePage.tsx';

export function findingsRoute(path: string, user: SessionUser): ReactNode | undefined {
  switch (path) {
    case '/findings':
      return canSeeFindings(user) ? <FindingsPage /> : <ForbiddenPage />;
    case '/findings/manage':
      return canManageFindings(user) ? <ManagePage /> : <ForbiddenPage />;
  }
  const one = /^\/findings\/([^/]+)$/.exec(path);
  if (one) {
    let id: string;
    try {
      id = decodeURIComponent(one[1]!);
    } catch {
      return <NotFoundPage />;
    }
    return canSeeFindings(user) ? <FindingsPage key={id} focusId={id} /> : <ForbiddenPage />;
  }
  return undefined;
}
