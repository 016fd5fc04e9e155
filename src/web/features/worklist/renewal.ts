/**
 * Claims are renewed by activity: while the reader uses the page (keys, pointer), claims of
 * theirs that have used up half their time are renewed; an idle terminal lets them expire
 * (ENKAKU_CLAIM_MINUTES), so a study never stays locked by someone who walked away.
 */
import { useEffect, useRef } from 'react';
import type { WorklistItem } from '../../../shared/worklist.ts';
import { useRenew } from './api.ts';

const CHECK_MS = 60_000;

/** Renews the user's claims among `items` while the user is active. */
export function useClaimRenewal(items: readonly WorklistItem[], userId: string, claimMinutes: number, clockOffsetMs: number): void {
  const renew = useRenew();
  const lastActivity = useRef(Date.now());
  const latest = useRef({ items, userId, claimMinutes, clockOffsetMs });
  latest.current = { items, userId, claimMinutes, clockOffsetMs };
  const { mutate } = renew;
  useEffect(() => {
    const active = () => {
      lastActivity.current = Date.now();
    };
    window.addEventListener('keydown', active);
    window.addEventListener('pointerdown', active);
    window.addEventListener('pointermove', active, { passive: true });
    const timer = window.setInterval(() => {
      if (Date.now() - lastActivity.current > CHECK_MS * 2) return;
      const { items: list, userId: me, claimMinutes: minutes, clockOffsetMs: offset } = latest.current;
      const now = Date.now() + offset;
      for (const item of list) {
        if (item.claimedBy?.id !== me || !item.claimExpiresAt) continue;
        if (Date.parse(item.claimExpiresAt) - now < (minutes * 60_000) / 2) mutate(item.id);
      }
    }, CHECK_MS);
    return () => {
      window.removeEventListener('keydown', active);
      window.removeEventListener('pointerdown', active);
      window.removeEventListener('pointermove', active);
      window.clearInterval(timer);
    };
  }, [mutate]);
}
