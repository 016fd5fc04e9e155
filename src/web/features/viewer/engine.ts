/**
 * The viewer's in-memory image machinery: one frame cache, link estimator, scheduler and
 * synchronisation hub for the viewer page. It exists while a viewer page is open (and for
 * the moment between a click on a study and the page), and is emptied when the page
 * closes: nothing of the images outlives the viewer (S6).
 */
import type { QueryClient } from '@tanstack/react-query';
import { reportUnauthorized } from '../../api/client.ts';
import { frameWant } from './controller.ts';
import { fetchInstanceStack, fetchSeries, instanceStackKey, seriesKey, studyKey, fetchStudy } from './dicomweb.ts';
import { displayProfileOf, FrameCache, FrameScheduler } from './frames.ts';
import { LinkEstimator } from './link.ts';
import { SyncHub } from './sync.ts';

/** Listeners of the page: the display profile seen in answers, and blocked reading (423). */
export interface EngineEvents {
  onProfile?: (profile: string) => void;
  onBlocked?: () => void;
}

export interface Engine {
  cache: FrameCache;
  link: LinkEstimator;
  scheduler: FrameScheduler;
  sync: SyncHub;
  events: EngineEvents;
}

let engine: Engine | undefined;

/** The engine, made on first use. */
export function getEngine(): Engine {
  if (engine) return engine;
  const cache = new FrameCache();
  const link = new LinkEstimator();
  const events: EngineEvents = {};
  let lastProfile: string | null = null;
  const scheduler = new FrameScheduler(cache, link, 6, {
    onAnswer: (_url, response) => {
      const profile = displayProfileOf(response);
      if (profile && profile !== lastProfile) {
        lastProfile = profile;
        events.onProfile?.(profile);
      }
    },
    onRefused: (status) => {
      if (status === 401) reportUnauthorized();
      if (status === 423) events.onBlocked?.();
    },
  });
  engine = { cache, link, scheduler, sync: new SyncHub(), events };
  return engine;
}

/** Stops every request and frees every image (the viewer page closes). */
export function emptyEngine(): void {
  if (!engine) return;
  engine.scheduler.stop();
  engine.cache.clear();
}

/**
 * Starts loading a study before its page has rendered (from the click that opens it): the
 * study, its series, the first series' instances and the first image, which the viewport
 * then finds in the cache or in flight.
 */
export function preloadStudy(queryClient: QueryClient, studyUid: string): void {
  const e = getEngine();
  void queryClient.prefetchQuery({ queryKey: studyKey(studyUid), queryFn: ({ signal }) => fetchStudy(studyUid, signal) });
  void queryClient
    .fetchQuery({ queryKey: seriesKey(studyUid), queryFn: ({ signal }) => fetchSeries(studyUid, signal) })
    .then(async (list) => {
      const first = list[0];
      if (!first) return;
      const stack = await queryClient.fetchQuery({ queryKey: instanceStackKey(studyUid, first.seriesUid), queryFn: ({ signal }) => fetchInstanceStack(studyUid, first.seriesUid, signal), staleTime: Infinity });
      const item = stack.items[0];
      if (item) e.scheduler.setWants('preload', [frameWant(item, undefined, true, 0, e.link.current())]);
    })
    .catch(() => undefined);
}

/** The first image is on screen: the preload has done its work. */
export function preloadDone(): void {
  engine?.scheduler.setWants('preload', []);
}
