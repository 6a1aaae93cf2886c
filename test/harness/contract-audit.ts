import type { ResponseAudit } from '../../src/http/mount-routes.js';

export const contractViolations: Array<Parameters<ResponseAudit>[0]> = [];

/** Passed to every app the tests build: records responses that break the documented contract. */
export const recordViolation: ResponseAudit = (violation) => {
  contractViolations.push(violation);
};
