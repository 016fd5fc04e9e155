/**
 * Quality module: monitor quality control of reading terminals (JESRA X-0093, AAPM TG18)
 * and the DICOM PS3.14 GSDF calibration used by server rendering: terminal registration,
 * daily visual checks, constancy tests, the session's terminal and its output LUT.
 */
export * from './gsdf.ts';
export * from './jesra.ts';
export * from './patterns.ts';
export { TerminalService, type TerminalServiceDeps, type SessionDisplay } from './service.ts';
export { registerQualityRoutes } from './routes.ts';
export { displayProfileOf, lutProfileOf, outputLutOf, CONSUMER_GAMMA } from './display.ts';
export { addMonths, dailyState, DEFAULT_CONSTANCY_INTERVAL_MONTHS } from './schedule.ts';
