/**
 * The alert sound: a short tone generated with the Web Audio API (no audio files).
 *
 * Browsers start an AudioContext only after the user has interacted with the page (autoplay
 * policy). The context is therefore created lazily: at once when the page already has a
 * user activation (`navigator.userActivation.hasBeenActive`, e.g. after logging in within
 * the application), otherwise at the first key press or click anywhere, or when the user
 * presses the "enable sound" control. {@link useAudioState} tells the alert whether to offer
 * that control.
 */
import { useEffect, useSyncExternalStore } from 'react';
import type { FindingCategory } from '../../../shared/findings.ts';

export type AudioState = 'ready' | 'blocked' | 'unsupported';

type AudioContextClass = typeof AudioContext;

let context: AudioContext | null = null;
const listeners = new Set<() => void>();

function audioClass(): AudioContextClass | null {
  const w = window as unknown as { AudioContext?: AudioContextClass; webkitAudioContext?: AudioContextClass };
  return w.AudioContext ?? w.webkitAudioContext ?? null;
}

function notify(): void {
  for (const l of listeners) l();
}

function currentState(): AudioState {
  if (!audioClass()) return 'unsupported';
  return context?.state === 'running' ? 'ready' : 'blocked';
}

function hasUserActivation(): boolean {
  const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } }).userActivation;
  return activation?.hasBeenActive ?? false;
}

/**
 * Creates (or resumes) the audio context. Call from a user gesture, or when the page
 * already had one; resolves with the resulting state.
 */
export async function enableAudio(): Promise<AudioState> {
  const Ctor = audioClass();
  if (!Ctor) return 'unsupported';
  try {
    if (!context) {
      context = new Ctor();
      context.addEventListener('statechange', notify);
    }
    if (context.state !== 'running') await context.resume();
  } catch {
    // Refused by the browser: the control stays on screen.
  }
  notify();
  return currentState();
}

/** The audio state, re-rendering when it changes. */
export function useAudioState(): AudioState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    currentState,
    currentState,
  );
}

/** Marks an area whose own controls enable audio when they are used (see {@link useAudioUnlock}). */
export const MANUAL_UNLOCK_ATTR = 'data-audio-unlock';

/**
 * While mounted: enables audio at once when the page already has a user activation, and
 * otherwise at the first key press or click (both are user gestures the browser accepts).
 * Presses inside an area marked {@link MANUAL_UNLOCK_ATTR} are left to its controls: the
 * alert's "enable sound" row disappears once audio runs, and it must not vanish between the
 * press and the release of a click, which would move the buttons under the pointer.
 */
export function useAudioUnlock(): void {
  useEffect(() => {
    if (hasUserActivation()) void enableAudio();
    const unlock = (event: Event) => {
      if (currentState() !== 'blocked') return;
      const target = event.target as Element | null;
      if (target && typeof target.closest === 'function' && target.closest(`[${MANUAL_UNLOCK_ATTR}]`)) return;
      void enableAudio();
    };
    window.addEventListener('pointerdown', unlock, true);
    window.addEventListener('keydown', unlock, true);
    return () => {
      window.removeEventListener('pointerdown', unlock, true);
      window.removeEventListener('keydown', unlock, true);
    };
  }, []);
}

/** Beeps per category: critical three high, urgent two middle, incidental one low and soft. */
const PATTERNS: Record<FindingCategory, { frequency: number; beeps: number; gain: number }> = {
  critical: { frequency: 880, beeps: 3, gain: 0.35 },
  urgent: { frequency: 660, beeps: 2, gain: 0.3 },
  incidental: { frequency: 520, beeps: 1, gain: 0.2 },
};

const BEEP_S = 0.18;
const GAP_S = 0.12;

/**
 * Plays the category's tone. Returns false when the browser does not let the page play
 * sound yet (no user gesture so far): the alert then offers the "enable sound" control.
 */
export function playAlertTone(category: FindingCategory): boolean {
  if (!context || context.state !== 'running') return false;
  const { frequency, beeps, gain } = PATTERNS[category];
  const start = context.currentTime + 0.02;
  for (let i = 0; i < beeps; i++) {
    const t0 = start + i * (BEEP_S + GAP_S);
    const osc = context.createOscillator();
    const amp = context.createGain();
    osc.type = 'triangle';
    osc.frequency.setValueAtTime(frequency, t0);
    // A short attack and release: no clicks at the edges of the beep.
    amp.gain.setValueAtTime(0, t0);
    amp.gain.linearRampToValueAtTime(gain, t0 + 0.015);
    amp.gain.setValueAtTime(gain, t0 + BEEP_S - 0.03);
    amp.gain.linearRampToValueAtTime(0, t0 + BEEP_S);
    osc.connect(amp).connect(context.destination);
    osc.start(t0);
    osc.stop(t0 + BEEP_S + 0.01);
  }
  return true;
}
