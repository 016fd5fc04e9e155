/** Orders module: facilities (and later contracts, patients, orders). */
export { FacilityService, validateAet } from './service.ts';
