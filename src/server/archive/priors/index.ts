/**
 * Prior studies from the facility's PACS (W3): the intake hook that records a
 * `priors.fetch` job for each new study, and the job that queries and retrieves them.
 */
export { PriorsService, PRIORS_FETCH, type PriorsDeps } from './service.ts';
export { cFind, cGet, cMove, describeOutcome, STUDY_ROOT, type DicomPeer, type RetrieveOutcome, type ScuOptions, type StoreSink } from './scu.ts';
export { selectPriors, studyFindIdentifier, tokyoToday, yearsBefore, type PriorCandidate, type PriorCriteria } from './select.ts';
