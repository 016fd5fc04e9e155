/**
 * Findings module: critical, urgent and incidental findings with closed-loop notices
 * (C1, C2, C3, L3, W11) — raising, the contact ladder, in-app alerts (SSE), PHI-free outside
 * prompts (webhook, email, SMS), acknowledgement, escalation on durable timers, the
 * telephone log, follow-up tracking with a periodic review, the management view, and the
 * communication record a report carries. Other modules use it through this file.
 *
 * How the runtime wires it:
 * ```ts
 * const findings = new FindingsService({ db, dialect, audit, queue, contracts, log, defaults, transportConfig, publicUrl, listen });
 * findings.registerHandlers(worker);      // before worker.start(): finding.escalate, finding.notify, finding.review
 * await findings.scheduleReview();       // queues the next periodic review (idempotent)
 * registerFindingRoutes(app, findings, requireUser, { auth });
 * // the report service, when it builds a signed document:
 * const communications = await findings.communicationsOfReport(reportId);
 * ```
 */
export { FindingsService, type FindingsServiceDeps } from './service.ts';
export { registerFindingRoutes, type FindingRouteOptions } from './routes.ts';
export { findingsMigration, type FindingsDatabase } from './migration.ts';
export { FindingEvents, findingsChannelName, type AddressedAlert, type AlertSubscription } from './events.ts';
export { createTransports, outsideMessage, findingUrl, ChannelError, OUTSIDE_CHANNELS, type ChannelTransports, type OutsideChannel, type OutsideMessage, type OutsidePrompt, type TransportConfig } from './channels.ts';
export { ESCALATE_JOB, NOTIFY_JOB, REVIEW_JOB, nextReview } from './escalation.ts';
export { buildLadder, type LadderEntry } from './ladder.ts';
export type { FindingsDefaults, EffectiveSettings } from './settings.ts';
