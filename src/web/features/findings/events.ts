/**
 * Live finding alerts: one EventSource on `GET /api/findings/events` (Server-Sent Events,
 * same origin, the session cookie goes along; `event: finding` with a
 * {@link FindingAlertEvent} as data). `raised` and `escalated` put an alert on screen (with
 * its sound), `acknowledged` and `cancelled` take it away; every event refreshes the cached
 * findings. A stream closed by an error is opened again after a growing pause (5 s up to a
 * minute).
 *
 * When the stream opens for the first time, and again after an error (events may have been
 * missed meanwhile), the open notices the user has been told about are fetched once, so a
 * notice raised before this screen was opened is on it too. Routine reconnections (the
 * server ends each stream after a while) fetch nothing: nothing here polls, so an unattended
 * screen does not keep its session alive. Events carry no patient data.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useReducer } from 'react';
import type { FindingAlertEvent, FindingView } from '../../../shared/findings.ts';
import { SESSION_KEY } from '../auth/session.ts';
import { fetchFindings, refreshFindings } from './api.ts';

export type LiveState = 'connecting' | 'live' | 'offline';

/** An alert on screen. */
export interface ActiveAlert {
  event: FindingAlertEvent & { type: 'raised' | 'escalated' };
  /** Bumped by every new event of the finding: the sound plays again, a hidden alert comes back. */
  seq: number;
  hidden: boolean;
}

export interface AlertsState {
  live: LiveState;
  alerts: ActiveAlert[];
  seq: number;
}

export type AlertAction =
  | { kind: 'live'; live: LiveState }
  | { kind: 'event'; event: FindingAlertEvent }
  | { kind: 'sync'; events: Array<FindingAlertEvent & { type: 'raised' | 'escalated' }> }
  | { kind: 'hide'; findingId: string }
  | { kind: 'remove'; findingId: string };

const ORDER = { critical: 0, urgent: 1, incidental: 2 } as const;

/** Most pressing first: critical before urgent before incidental, newest first within. */
function sorted(alerts: ActiveAlert[]): ActiveAlert[] {
  return [...alerts].sort((a, b) => ORDER[a.event.category] - ORDER[b.event.category] || b.seq - a.seq);
}

/** The alerts on screen after an action (exported for its tests). */
export function reduceAlerts(state: AlertsState, action: AlertAction): AlertsState {
  switch (action.kind) {
    case 'live':
      return state.live === action.live ? state : { ...state, live: action.live };
    case 'event': {
      const e = action.event;
      const others = state.alerts.filter((a) => a.event.findingId !== e.findingId);
      if (e.type === 'acknowledged' || e.type === 'cancelled') return { ...state, alerts: others };
      const seq = state.seq + 1;
      return { ...state, seq, alerts: sorted([...others, { event: { ...e, type: e.type }, seq, hidden: false }]) };
    }
    case 'sync': {
      let seq = state.seq;
      const known = new Set(state.alerts.map((a) => a.event.findingId));
      const added = action.events.filter((e) => !known.has(e.findingId)).map((event) => ({ event, seq: ++seq, hidden: false }));
      return added.length ? { ...state, seq, alerts: sorted([...state.alerts, ...added]) } : state;
    }
    case 'hide':
      return { ...state, alerts: state.alerts.map((a) => (a.event.findingId === action.findingId ? { ...a, hidden: true } : a)) };
    case 'remove':
      return { ...state, alerts: state.alerts.filter((a) => a.event.findingId !== action.findingId) };
  }
}

/** The alert a still-open notice deserves for a user who has been told about it, or null. */
export function pendingAlertFor(finding: FindingView, userId: string): (FindingAlertEvent & { type: 'raised' | 'escalated' }) | null {
  if (finding.status !== 'open') return null;
  if (!finding.recipients.some((r) => r.userId === userId && r.notifiedAt !== null)) return null;
  return { type: finding.escalations > 0 ? 'escalated' : 'raised', findingId: finding.id, category: finding.category, facilityName: finding.facilityName, deadlineAt: finding.deadlineAt };
}

function parse(data: string): FindingAlertEvent | null {
  try {
    const e = JSON.parse(data) as Partial<FindingAlertEvent>;
    if (typeof e.findingId !== 'string' || !e.type || !e.category) return null;
    return e as FindingAlertEvent;
  } catch {
    return null;
  }
}

/** Listens for finding alerts while mounted. */
export function useFindingAlerts(userId: string, enabled: boolean) {
  const queryClient = useQueryClient();
  const [state, dispatch] = useReducer(reduceAlerts, { live: 'connecting', alerts: [], seq: 0 });

  useEffect(() => {
    if (!enabled) return;
    let source: EventSource | null = null;
    let reconnectTimer: number | undefined;
    let stopped = false;
    let needsSync = true;
    let backoff = 5000;
    const sync = new AbortController();

    const catchUp = () => {
      needsSync = false;
      fetchFindings({ status: 'open', limit: 500 }, sync.signal).then(
        (findings) => {
          if (stopped) return;
          const events = findings.map((f) => pendingAlertFor(f, userId)).filter((e) => e !== null);
          dispatch({ kind: 'sync', events });
        },
        () => undefined, // the findings page says what went wrong; the stream stays open
      );
    };

    const connect = () => {
      if (stopped) return;
      const es = new EventSource('/api/findings/events');
      source = es;
      dispatch({ kind: 'live', live: 'connecting' });
      es.onopen = () => {
        backoff = 5000;
        dispatch({ kind: 'live', live: 'live' });
        if (needsSync) catchUp();
      };
      es.addEventListener('finding', (message) => {
        const event = parse((message as MessageEvent<string>).data);
        if (!event) return;
        dispatch({ kind: 'event', event });
        void refreshFindings(queryClient);
      });
      es.addEventListener('end', (message) => {
        let reason = '';
        try {
          reason = (JSON.parse((message as MessageEvent<string>).data) as { reason?: string }).reason ?? '';
        } catch {
          // an end without a reason: the EventSource reconnects as usual
        }
        if (reason === 'session') {
          // The session ended: the session query finds out and sends the user to the login page.
          es.close();
          dispatch({ kind: 'live', live: 'offline' });
          void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
        }
      });
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) {
          // Refused (e.g. the session ended) or the server is gone: try again a little later.
          dispatch({ kind: 'live', live: 'offline' });
          needsSync = true;
          void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
          window.clearTimeout(reconnectTimer);
          reconnectTimer = window.setTimeout(connect, backoff);
          backoff = Math.min(backoff * 2, 60_000);
        } else dispatch({ kind: 'live', live: 'connecting' });
      };
    };
    connect();
    return () => {
      stopped = true;
      sync.abort();
      source?.close();
      window.clearTimeout(reconnectTimer);
    };
  }, [enabled, userId, queryClient]);

  const hide = useCallback((findingId: string) => dispatch({ kind: 'hide', findingId }), []);
  const remove = useCallback((findingId: string) => dispatch({ kind: 'remove', findingId }), []);
  return { live: state.live, alerts: state.alerts, hide, remove };
}
