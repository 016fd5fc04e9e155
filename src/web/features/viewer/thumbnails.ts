/**
 * Thumbnails as object URLs of fetched JPEGs: fetched with `cache: 'no-store'`, shown
 * through `blob:` URLs that are revoked when the thumbnail leaves the screen. At most two
 * are fetched at a time, and only once the first image of the study is on screen, so they
 * never hold up the image the reader is waiting for.
 */
import { useEffect, useState } from 'react';

let gateOpen = false;
let openGate: () => void = () => undefined;
let gate = new Promise<void>((resolve) => (openGate = resolve));

/** Lets thumbnails load (called when the first image is on screen, or after a while). */
export function releaseThumbnails(): void {
  if (gateOpen) return;
  gateOpen = true;
  openGate();
}

/** Holds thumbnails back again (a new study opens). */
export function holdThumbnails(): void {
  if (!gateOpen) return;
  gateOpen = false;
  gate = new Promise<void>((resolve) => (openGate = resolve));
}

const MAX_PARALLEL = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function slot(): Promise<() => void> {
  await gate;
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/** The object URL of a fetched thumbnail (revoked on unmount), `null` while loading, `'error'` on failure. */
export function useThumbnail(url: string): string | null | 'error' {
  const [src, setSrc] = useState<string | null | 'error'>(null);
  useEffect(() => {
    const controller = new AbortController();
    let objectUrl: string | null = null;
    let cancelled = false;
    void (async () => {
      const done = await slot();
      try {
        if (cancelled) return;
        const response = await fetch(url, { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'image/jpeg' }, signal: controller.signal });
        if (!response.ok) throw new Error(String(response.status));
        const blob = await response.blob();
        if (cancelled) return;
        objectUrl = URL.createObjectURL(blob);
        setSrc(objectUrl);
      } catch {
        if (!cancelled) setSrc('error');
      } finally {
        done();
      }
    })();
    return () => {
      cancelled = true;
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);
  return src;
}
