/**
 * Live worklist updates: one EventSource on `GET /api/worklist/events` (Server-Sent Events,
 * same origin, the session cookie goes along). A `changed` event patches the row it names at
 * once; new items, and changes that may move rows in or out of the current view, refetch the
 * list shortly after (several events in a row refetch once). After a reconnection the list is
 * fetched again, since events may have been missed meanwhile. Events carry no patient data.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { WorklistEvent } from '../../../shared/worklist.ts';
import { SESSION_KEY } from '../auth/session.ts';
import { LIST_KEY, applyEvent } from './api.ts';

export type LiveState = 'connecting' | 'live' | 'offline';

/** Keeps the cached worklist up to date while mounted; returns the connection's state. */
export function useWorklistLive(): LiveState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    let source: EventSource | null = null;
    let refetchTimer: number | undefined;
    let reconnectTimer: number | undefined;
    let stopped = false;
    const refetchSoon = (ms: number) => {
      window.clearTimeout(refetchTimer);
      refetchTimer = window.setTimeout(() => void queryClient.invalidateQueries({ queryKey: LIST_KEY }), ms);
    };
    const connect = () => {
      if (stopped) return;
      const es = new EventSource('/api/worklist/events');
      source = es;
      setState('connecting');
      es.addEventListener('ready', () => {
        setState('live');
        refetchSoon(100);
      });
      es.addEventListener('worklist', (message) => {
        let event: WorklistEvent;
        try {
          event = JSON.parse((message as MessageEvent<string>).data) as WorklistEvent;
        } catch {
          return;
        }
        if (event.type === 'changed') {
          applyEvent(queryClient, event);
          refetchSoon(1500);
        } else refetchSoon(event.type === 'resync' ? 0 : 500);
      });
      es.addEventListener('end', (message) => {
        let reason = '';
        try {
          reason = (JSON.parse((message as MessageEvent<string>).data) as { reason?: string }).reason ?? '';
        } catch {
          // an end without a reason: reconnect as usual
        }
        if (reason === 'session') {
          // The session ended: the session query finds out and sends the user to the login page.
          es.close();
          setState('offline');
          void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
        }
      });
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) {
          // Refused (e.g. the session ended) or the server is gone: try again a little later.
          setState('offline');
          void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
          window.clearTimeout(reconnectTimer);
          reconnectTimer = window.setTimeout(connect, 5000);
        } else setState('connecting');
      };
    };
    connect();
    return () => {
      stopped = true;
      source?.close();
      window.clearTimeout(refetchTimer);
      window.clearTimeout(reconnectTimer);
    };
  }, [queryClient]);
  return state;
}
