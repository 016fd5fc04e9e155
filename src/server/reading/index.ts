/**
 * Reading module: the server side of the reader's viewer (measurements on the original
 * pixels, key images, viewing sessions). Worklist, claims and assignment come here too.
 */
export { ReadingService, type ReadingServiceDeps } from './service.ts';
export { registerReadingRoutes } from './routes.ts';
export { angleOf, lengthOf, roiStatistics, spacingOf, unitOf } from './measure.ts';
