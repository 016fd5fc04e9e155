/** The application's pages as the navigation and the home page list them. */
import type { SessionUser } from '../../shared/api.ts';
import { canOpenUsersPage, canReadAudit, canReadImages, canSeeAlerts, canUseMonitorQc } from './access.ts';
import { canReadContracts, canReadOrders, canReconcile } from '../features/orders/access.ts';
import { worksWorklist } from '../features/worklist/access.ts';
import { canManageFindings, canSeeFindings } from '../features/findings/access.ts';

export type Section = 'reading' | 'administration' | 'account';

export interface NavItem {
  path: string;
  label: 'nav.home' | 'nav.worklist' | 'nav.viewer' | 'nav.qc' | 'nav.reports' | 'nav.adminUsers' | 'nav.audit' | 'nav.alerts' | 'nav.password' | 'nav.security' | 'orders.nav.list' | 'orders.nav.reconciliation' | 'orders.nav.contracts' | 'findings.nav.list' | 'findings.nav.manage';
  summary: 'home.summaries.worklist' | 'home.summaries.viewer' | 'home.summaries.qc' | 'home.summaries.reports' | 'home.summaries.adminUsers' | 'home.summaries.audit' | 'home.summaries.alerts' | 'home.summaries.password' | 'home.summaries.security' | 'orders.nav.listSummary' | 'orders.nav.reconciliationSummary' | 'orders.nav.contractsSummary' | 'findings.nav.listSummary' | 'findings.nav.manageSummary' | null;
  section: Section | null;
  testId: string;
  /** Announced, not built yet: the page says so and shows no content. */
  comingSoon?: boolean;
  visible: (user: SessionUser) => boolean;
}

const everyone = () => true;

export const NAV_ITEMS: NavItem[] = [
  { path: '/', label: 'nav.home', summary: null, section: null, testId: 'nav-home', visible: everyone },
  { path: '/worklist', label: 'nav.worklist', summary: 'home.summaries.worklist', section: 'reading', testId: 'nav-worklist', visible: worksWorklist },
  { path: '/viewer', label: 'nav.viewer', summary: 'home.summaries.viewer', section: 'reading', testId: 'nav-viewer', visible: canReadImages },
  { path: '/qc', label: 'nav.qc', summary: 'home.summaries.qc', section: 'reading', testId: 'nav-qc', visible: canUseMonitorQc },
  { path: '/orders', label: 'orders.nav.list', summary: 'orders.nav.listSummary', section: 'reading', testId: 'nav-orders', visible: canReadOrders },
  { path: '/reconciliation', label: 'orders.nav.reconciliation', summary: 'orders.nav.reconciliationSummary', section: 'reading', testId: 'nav-reconciliation', visible: canReconcile },
  { path: '/reports', label: 'nav.reports', summary: 'home.summaries.reports', section: 'reading', testId: 'nav-reports', visible: (u) => u.grants.some((g) => ['attending-physician', 'radiologist', 'management-physician', 'transcriptionist'].includes(g.role)) },
  { path: '/findings', label: 'findings.nav.list', summary: 'findings.nav.listSummary', section: 'reading', testId: 'nav-findings', visible: canSeeFindings },
  { path: '/admin/users', label: 'nav.adminUsers', summary: 'home.summaries.adminUsers', section: 'administration', testId: 'nav-admin-users', visible: canOpenUsersPage },
  { path: '/contracts', label: 'orders.nav.contracts', summary: 'orders.nav.contractsSummary', section: 'administration', testId: 'nav-contracts', visible: canReadContracts },
  { path: '/findings/manage', label: 'findings.nav.manage', summary: 'findings.nav.manageSummary', section: 'administration', testId: 'nav-findings-manage', visible: canManageFindings },
  { path: '/audit', label: 'nav.audit', summary: 'home.summaries.audit', section: 'administration', testId: 'nav-audit', visible: canReadAudit },
  { path: '/alerts', label: 'nav.alerts', summary: 'home.summaries.alerts', section: 'administration', testId: 'nav-alerts', visible: canSeeAlerts },
  { path: '/password', label: 'nav.password', summary: 'home.summaries.password', section: 'account', testId: 'nav-password', visible: everyone },
  { path: '/security', label: 'nav.security', summary: 'home.summaries.security', section: 'account', testId: 'nav-security', visible: everyone },
];
