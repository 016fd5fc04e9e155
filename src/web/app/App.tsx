/**
 * The application: providers, the session guard and the routes.
 *
 * The guard decides which page may be shown, in this order:
 * 1. the first administrator is not set up yet → `/setup`;
 * 2. nobody is logged in → `/login`;
 * 3. the confidentiality agreement is not accepted → `/agreement` (S10, before anything else);
 * 4. the password must be changed → `/password`;
 * 5. the requested page, if the user's roles open it.
 */
import { UnconfirmedPage } from '../features/report/UnconfirmedPage.tsx';
import { MantineProvider, type MantineColorSchemeManager } from '@mantine/core';
import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, type ReactNode } from 'react';
import { I18nextProvider } from 'react-i18next';
import type { SessionInfo, SessionUser } from '../../shared/api.ts';
import { isClientError, setCsrfRefresher, setUnauthorizedHandler } from '../api/client.ts';
import { UsersPage } from '../features/admin/UsersPage.tsx';
import { AlertsPage } from '../features/alerts/AlertsPage.tsx';
import { AuditPage } from '../features/audit/AuditPage.tsx';
import { AgreementPage } from '../features/auth/AgreementPage.tsx';
import { ChangePasswordPage } from '../features/auth/ChangePasswordPage.tsx';
import { LoginPage } from '../features/auth/LoginPage.tsx';
import { fetchSession, forgetSession, SESSION_KEY, useSession, useSetupStatus } from '../features/auth/session.ts';
import { SecurityPage } from '../features/auth/SecurityPage.tsx';
import { SetupPage } from '../features/auth/SetupPage.tsx';
import { orderRoute } from '../features/orders/routes.tsx';
import { findingsRoute } from '../features/findings/routes.tsx';
import { QcPage } from '../features/qc/QcPage.tsx';
import { StudyListPage } from '../features/viewer/StudyListPage.tsx';
import { ViewerPage } from '../features/viewer/ViewerPage.tsx';
import { i18n } from '../i18n/index.ts';
import { PAGE_HEADING_ID } from '../ui/PageHeader.tsx';
import { canOpenUsersPage, canReadAudit, canReadImages, canSeeAlerts, canUseMonitorQc } from './access.ts';
import { WorklistPage } from '../features/worklist/WorklistPage.tsx';
import { canOpenWorklist } from '../features/worklist/access.ts';
import { peekFlash, setFlash } from './flash.ts';
import { HomePage } from './HomePage.tsx';
import { Layout, PublicLayout } from './Layout.tsx';
import { isAppPath, navigate, normalisePath, Redirect, rememberReturnPath, takeReturnPath, useLocation } from './router.tsx';
import { ForbiddenPage, FullPageLoader, NotFoundPage, ServerUnavailablePage } from './StatusPages.tsx';
import { theme } from './theme.ts';

/**
 * Mantine would keep the colour scheme in localStorage; the application keeps nothing
 * there but the language, so the scheme lives in memory (always light for now).
 */
const memoryColorScheme: MantineColorSchemeManager = {
  get: (defaultValue) => defaultValue,
  set: () => undefined,
  subscribe: () => undefined,
  unsubscribe: () => undefined,
  clear: () => undefined,
};

function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failures, error) => !isClientError(error) && failures < 2,
        staleTime: 30_000,
      },
      mutations: { retry: false },
    },
  });
}

export function App({ queryClient = createQueryClient() }: { queryClient?: QueryClient }) {
  return (
    <I18nextProvider i18n={i18n}>
      <MantineProvider theme={theme} colorSchemeManager={memoryColorScheme} defaultColorScheme="light">
        <QueryClientProvider client={queryClient}>
          <SessionGuard />
        </QueryClientProvider>
      </MantineProvider>
    </I18nextProvider>
  );
}

/** Wires the API client to the session: 401 ends it, a refused CSRF token is renewed once. */
function useApiWiring(): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    setUnauthorizedHandler(() => forgetSession(queryClient));
    setCsrfRefresher(async () => {
      const session = await fetchSession();
      queryClient.setQueryData(SESSION_KEY, session);
      return session?.csrfToken ?? null;
    });
    return () => {
      setUnauthorizedHandler(null);
      setCsrfRefresher(null);
    };
  }, [queryClient]);
}

/**
 * Asks the server again when the session should have ended by itself (idle or absolute
 * timeout), so the page does not stay open on a dead session: the user is sent to the
 * login page and nothing fetched stays on screen. The check runs only once the idle time
 * known from the last `GET /api/session` has passed, and nothing polls in between, so the
 * application itself never keeps an unattended session alive.
 */
function useSessionExpiryCheck(session: SessionInfo | null | undefined): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!session) return;
    const ends = Math.min(Date.parse(session.idleExpiresAt), Date.parse(session.absoluteExpiresAt));
    if (Number.isNaN(ends)) return;
    const delay = Math.min(Math.max(ends - Date.now() + 2_000, 1_000), 2_147_000_000);
    const timer = window.setTimeout(() => {
      void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
    }, delay);
    return () => window.clearTimeout(timer);
  }, [session, queryClient]);
}

/** After a page change, focus moves to the new page's heading (screen readers announce it). */
function useFocusOnNavigation(pathname: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const frame = window.requestAnimationFrame(() => document.getElementById(PAGE_HEADING_ID)?.focus());
    return () => window.cancelAnimationFrame(frame);
  }, [pathname]);
}

function SessionGuard() {
  const queryClient = useQueryClient();
  const setup = useSetupStatus();
  const session = useSession();
  const { pathname, search } = useLocation();
  useApiWiring();
  useSessionExpiryCheck(session.data);
  useFocusOnNavigation(pathname);

  // A session that ends by itself (timeout, 401) sends the user to the login page with a
  // word of explanation, and back to the page they were on after logging in again.
  const previous = useRef<SessionInfo | null | undefined>(undefined);
  const here = pathname + (search.size ? `?${search.toString()}` : '');
  useEffect(() => {
    const before = previous.current;
    previous.current = session.data;
    if (before && session.data === null) {
      forgetSession(queryClient);
      if (peekFlash() === null) {
        setFlash('sessionEnded');
        rememberReturnPath(here);
      }
    }
  }, [session.data, queryClient, here]);

  if (setup.isPending || session.isPending) return <FullPageLoader />;
  if (setup.isError || session.isError) {
    return (
      <PublicLayout>
        <ServerUnavailablePage
          error={setup.error ?? session.error}
          onRetry={() => {
            void setup.refetch();
            void session.refetch();
          }}
        />
      </PublicLayout>
    );
  }

  if (setup.data.needed) {
    if (pathname !== '/setup') return <Redirect to="/setup" />;
    return (
      <PublicLayout>
        <SetupPage />
      </PublicLayout>
    );
  }

  const current = session.data;
  if (!current) {
    if (pathname !== '/login') return <LoginRedirect from={here} />;
    return (
      <PublicLayout>
        <LoginPage />
      </PublicLayout>
    );
  }

  if (pathname === '/login' || pathname === '/setup') return <AfterLoginRedirect />;

  if (current.user.mustAcceptAgreement) {
    if (pathname !== '/agreement') return <Redirect to="/agreement" />;
    return (
      <PublicLayout wide>
        <AgreementPage />
      </PublicLayout>
    );
  }
  if (pathname === '/agreement') return <Redirect to="/" />;

  if (current.user.mustChangePassword) {
    if (pathname !== '/password') return <Redirect to="/password" />;
    return (
      <PublicLayout>
        <ChangePasswordPage />
      </PublicLayout>
    );
  }

  return <Layout>{routeFor(pathname, current.user)}</Layout>;
}

/**
 * The page of an application path, for a logged-in user who passed the first-login steps.
 * Pages the user's roles do not open say so (the server refuses their data anyway).
 */
function routeFor(pathname: string, user: SessionUser): ReactNode {
  const only = (allowed: boolean, page: ReactNode) => (allowed ? page : <ForbiddenPage />);
  const path = normalisePath(pathname);
  const orderPage = orderRoute(path, user);
  if (orderPage !== undefined) return orderPage;
  const findingsPage = findingsRoute(path, user);
  if (findingsPage !== undefined) return findingsPage;
  const study = /^\/viewer\/studies\/([^/]+)$/.exec(path);
  if (study) {
    let uid = '';
    try {
      uid = decodeURIComponent(study[1]!);
    } catch {
      return <NotFoundPage />;
    }
    return only(canReadImages(user), <ViewerPage key={uid} studyUid={uid} />);
  }
  switch (path) {
    case '/':
      return <HomePage />;
    case '/worklist':
      return only(canOpenWorklist(user), <WorklistPage />);
    case '/viewer':
      return only(canReadImages(user), <StudyListPage />);
    case '/qc':
      return only(canUseMonitorQc(user), <QcPage />);
    case '/reports':
      return <UnconfirmedPage />;
    case '/admin/users':
      return only(canOpenUsersPage(user), <UsersPage />);
    case '/audit':
      return only(canReadAudit(user), <AuditPage />);
    case '/alerts':
      return only(canSeeAlerts(user), <AlertsPage />);
    case '/password':
      return <ChangePasswordPage />;
    case '/security':
      return <SecurityPage />;
    default:
      return <NotFoundPage />;
  }
}

/**
 * To the login page; the page asked for is remembered when the browser opened it directly
 * (a bookmark) rather than after a logout.
 */
function LoginRedirect({ from }: { from: string }) {
  useEffect(() => {
    if (peekFlash() === null) rememberReturnPath(from);
    navigate('/login', { replace: true });
  }, [from]);
  return null;
}

/** Leaves the login page for the page the user first asked for (or home). */
function AfterLoginRedirect() {
  useEffect(() => {
    // Guarded: effects may run twice in development, and the second run must not override the first.
    const path = normalisePath(window.location.pathname);
    if (path !== '/login' && path !== '/setup') return;
    const target = takeReturnPath();
    navigate(isAppPath(target) ? target : '/', { replace: true });
  }, []);
  return null;
}
