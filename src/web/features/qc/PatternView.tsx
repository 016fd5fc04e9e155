/**
 * A test pattern shown pixel-exact: the PNG from the server drawn unscaled, one image pixel
 * per device pixel (CSS size = pixels / devicePixelRatio), placed on a whole device pixel,
 * with no interpolation, over a black page. A pattern larger than the window can be
 * scrolled; it is never shrunk.
 */
import { Button, Group, Loader, Text } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { reportUnauthorized } from '../../api/client.ts';
import { patternUrl } from './api.ts';
import { useQcTranslation } from './i18n.ts';

export function PatternView({ name, calibrated, onClose }: { name: string; calibrated: boolean; onClose: () => void }) {
  const { t } = useQcTranslation();
  const [src, setSrc] = useState<{ url: string; width: number; height: number } | null>(null);
  const [error, setError] = useState<number | null>(null);
  const [dpr, setDpr] = useState(window.devicePixelRatio || 1);
  const [win, setWin] = useState({ w: window.innerWidth, h: window.innerHeight });
  const closeRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    let objectUrl: string | null = null;
    void (async () => {
      try {
        const response = await fetch(patternUrl(name, calibrated), { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'image/png' }, signal: controller.signal });
        if (response.status === 401) reportUnauthorized();
        if (!response.ok) {
          setError(response.status);
          return;
        }
        const blob = await response.blob();
        const bitmap = await createImageBitmap(blob);
        const size = { width: bitmap.width, height: bitmap.height };
        bitmap.close();
        objectUrl = URL.createObjectURL(blob);
        setSrc({ url: objectUrl, ...size });
      } catch (e) {
        if (!(e instanceof DOMException && e.name === 'AbortError')) setError(0);
      }
    })();
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [name, calibrated]);

  useEffect(() => {
    const onResize = () => {
      setDpr(window.devicePixelRatio || 1);
      setWin({ w: window.innerWidth, h: window.innerHeight });
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('resize', onResize);
    window.addEventListener('keydown', onKey);
    closeRef.current?.focus();
    return () => {
      window.removeEventListener('resize', onResize);
      window.removeEventListener('keydown', onKey);
    };
  }, [onClose]);

  // Centred on whole device pixels; at the top left when larger than the window.
  const place = (imagePx: number, windowCss: number): number => Math.max(0, Math.floor((windowCss * dpr - imagePx) / 2)) / dpr;
  const fits = src ? src.width <= win.w * dpr && src.height <= win.h * dpr : true;

  return (
    <div className="enkaku-qc-view" role="dialog" aria-modal="true" aria-label={t('qc.view.label', { name })} data-testid="qc-pattern-view" data-pattern={name}>
      {src ? (
        <img
          className="enkaku-qc-image"
          src={src.url}
          alt={name}
          width={src.width}
          height={src.height}
          style={{ left: place(src.width, win.w), top: place(src.height, win.h), width: src.width / dpr, height: src.height / dpr }}
          data-testid="qc-pattern-image"
          data-width={src.width}
          data-height={src.height}
          draggable={false}
        />
      ) : error !== null ? (
        <Text c="red" p="md" data-testid="qc-pattern-error">
          {t('qc.view.failed', { status: error || '—' })}
        </Text>
      ) : (
        <Loader m="md" color="gray" aria-label={t('common.loading')} />
      )}
      <Group className="enkaku-qc-bar" gap="sm">
        <Text size="sm" data-testid="qc-pattern-ratio">
          {t('qc.view.ratio', { name, dpr })}
        </Text>
        {!fits ? (
          <Text size="sm" c="yellow" data-testid="qc-pattern-too-large">
            {t('qc.view.tooLarge')}
          </Text>
        ) : null}
        <Button ref={closeRef} size="compact-sm" variant="white" onClick={onClose} data-testid="qc-pattern-close">
          {t('qc.view.close')}
        </Button>
      </Group>
    </div>
  );
}
