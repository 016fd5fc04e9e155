/**
 * Reading module: the server side of the reader's viewer (measurements on the original
 * pixels, key images, viewing sessions) and the reading worklist (items, claims,
 * assignment, double reading, live events).
 */
export { ReadingService, type ReadingServiceDeps } from './service.ts';
export { registerReadingRoutes } from './routes.ts';
export { angleOf, lengthOf, roiStatistics, spacingOf, unitOf } from './measure.ts';
export { WorklistService, type AutoAssignResult, type WorklistServiceDeps } from './worklist-service.ts';
export { WorklistEvents, type WorklistEventListener, type WorklistSubscription } from './worklist-events.ts';
export { registerWorklistRoutes, type WorklistRouteOptions } from './worklist-routes.ts';
export { worklistMigration } from './worklist-migration.ts';
export type { ReadingItemRow } from './worklist-repository.ts';
