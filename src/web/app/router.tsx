/**
 * A small router over `history.pushState`: the application has a handful of flat routes,
 * so a library would add more than it saves. Paths carry no patient data (ARCHITECTURE
 * rule 8: no PHI in URLs).
 */
import { useEffect, useMemo, useSyncExternalStore, type MouseEvent } from 'react';

const NAVIGATE_EVENT = 'enkaku:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

/** The current location; re-renders when it changes. */
export function useLocation(): Location {
  const current = useSyncExternalStore(subscribe, snapshot);
  return useMemo(() => {
    const url = new URL(current, window.location.origin);
    return { pathname: normalisePath(url.pathname), search: url.searchParams };
  }, [current]);
}

/** `/admin/users/` and `/admin/users` are the same page. */
export function normalisePath(pathname: string): string {
  return pathname.length > 1 ? pathname.replace(/\/+$/, '') || '/' : pathname;
}

/** Goes to an application path (`/...`); `replace` leaves no history entry behind. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (!isAppPath(to)) throw new Error(`Not an application path: ${to}`);
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo(0, 0);
}

/** A path inside this application (and not `//host/...`, which leaves it). */
export function isAppPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\');
}

/**
 * `href` and `onClick` for an element that navigates: a plain click stays in the
 * application, while Ctrl/Cmd/Shift/middle click keep the browser's behaviour (new tab).
 */
export function linkProps(to: string): { href: string; onClick: (event: MouseEvent<HTMLElement>) => void } {
  return {
    href: to,
    onClick: (event) => {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(to);
    },
  };
}

/** Replaces the current location with `to` once rendered. */
export function Redirect({ to }: { to: string }): null {
  useEffect(() => {
    navigate(to, { replace: true });
  }, [to]);
  return null;
}

let returnPath: string | null = null;

/** Remembers where the user wanted to go before being sent to the login page. */
export function rememberReturnPath(path: string): void {
  if (isAppPath(path) && path !== '/' && !path.startsWith('/login') && !path.startsWith('/setup')) returnPath = path;
}

/** Where to go after logging in (once). */
export function takeReturnPath(): string {
  const path = returnPath ?? '/';
  returnPath = null;
  return path;
}
