/**
 * Reports module: drafts, templates, finalising with signature and timestamp, versions,
 * delivery and read confirmation (issue 7). Other modules use it through this file.
 */
export { ReportService, type ReportServiceDeps, type ReportSigner, type SignedReport, type ReportDeliveryQueue, type ReadingWorkflow, type SecondFactorCheck } from './service.ts';
export { registerReportRoutes } from './routes.ts';
export { canonicalReport, canonicalJson, SECTION_KEYS, type ReportDocument, type ReportSections } from './document.ts';
export { reportsMigration, type ReportsDatabase } from './migration.ts';
export { studyReported } from './repository.ts';
