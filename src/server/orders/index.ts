/** Orders module: facilities (and later contracts, patients, orders). */
export { FacilityService, validateAet, DEFAULT_PRIOR_POLICY, type NodeInput, type PriorPolicyView } from './service.ts';
