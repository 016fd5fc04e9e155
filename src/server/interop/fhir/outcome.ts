/**
 * FHIR R4 errors: OperationOutcome resources (FHIR R4 §3.1.0 RESTful API, "HTTP status codes";
 * OperationOutcome issue severity, code (IssueType value set) and diagnostics / expression).
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { ErrorCode } from '../../platform/errors.ts';

/** One problem: IssueType code, a FHIRPath to where it is, and what is wrong (no PHI). */
export interface FhirIssue {
  code: OperationOutcomeIssue['code'];
  diagnostics: string;
  expression?: string;
  severity?: 'fatal' | 'error' | 'warning' | 'information';
}

/** An error answered as an OperationOutcome with this HTTP status. */
export class FhirError extends Error {
  override readonly name = 'FhirError';
  constructor(readonly status: number, readonly issues: readonly FhirIssue[]) {
    super(issues.map((i) => i.diagnostics).join('; '));
  }
}

/** The OperationOutcome for a list of issues. */
export function operationOutcome(issues: readonly FhirIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity ?? 'error',
      code: i.code,
      diagnostics: i.diagnostics,
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  };
}

/** IssueType for an AppError code (HTTP status from platform/errors.ts). */
export function issueTypeOf(code: ErrorCode): OperationOutcomeIssue['code'] {
  switch (code) {
    case 'bad_request': return 'invalid';
    case 'unprocessable': return 'business-rule';
    case 'unauthenticated': return 'login';
    case 'forbidden': return 'forbidden';
    case 'not_found': return 'not-found';
    case 'conflict': return 'conflict';
    case 'locked': return 'lock-error';
    case 'payload_too_large': return 'too-costly';
    case 'unsupported_media_type': return 'not-supported';
    case 'unavailable': return 'transient';
    default: return 'exception';
  }
}
