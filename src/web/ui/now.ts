/**
 * This terminal's time, ticking every second: one shared interval for every countdown on
 * the page (only the components that read it re-render), stopped when none is shown.
 */
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
let timer: number | undefined;
let now = Date.now();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === undefined) {
    now = Date.now();
    timer = window.setInterval(() => {
      now = Date.now();
      for (const l of listeners) l();
    }, 1000);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== undefined) {
      window.clearInterval(timer);
      timer = undefined;
    }
  };
}

/** This terminal's time (ms since the epoch), updated every second. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now, () => now);
}
