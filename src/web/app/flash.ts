/**
 * One message carried across a page change (e.g. "you have been logged out" on the login
 * page). Kept in memory only.
 */
import { useEffect, useState } from 'react';

/** The messages that can be carried; their texts are `flash.<kind>` in the translations. */
export type FlashKind = 'sessionEnded' | 'loggedOut' | 'setupDone';

let pending: FlashKind | null = null;

/** Shows `kind` on the next page that displays flash messages. */
export function setFlash(kind: FlashKind): void {
  pending = kind;
}

/** The message waiting to be shown, if any (without taking it). */
export function peekFlash(): FlashKind | null {
  return pending;
}

/** The message that was waiting when the calling component mounted; it is shown once. */
export function useFlashOnce(): FlashKind | null {
  const [flash] = useState(() => pending);
  useEffect(() => {
    pending = null;
  }, []);
  return flash;
}
