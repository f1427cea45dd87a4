import type { ZodError, ZodIssue } from 'zod';

/**
 * Renders zod issues the way go-swagger's validator does, which clients print verbatim:
 * `validation failure list:\npassword in body is required`.
 */
export function swaggerValidationMessage(error: ZodError, location: 'body' | 'query' = 'body'): string {
  return `validation failure list:\n${error.issues.map((i) => issueText(i, location)).join('\n')}`;
}

const issueText = (issue: ZodIssue, location: string): string => {
  const path = issue.path.length > 0 ? issue.path.join('.') : location;
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined'
        ? `${path} in ${location} is required`
        : `${path} in ${location} must be of type ${goType(issue.expected)}: "${goType(issue.received)}"`;
    case 'too_small':
      if (issue.message === 'required') {
        return `${path} in ${location} is required`;
      }
      return issue.type === 'string'
        ? `${path} in ${location} should be at least ${String(issue.minimum)} chars long`
        : `${path} in ${location} should be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.type === 'array') {
        return `${path} in ${location} should have at most ${String(issue.maximum)} items`;
      }
      return issue.type === 'string'
        ? `${path} in ${location} should be at most ${String(issue.maximum)} chars long`
        : `${path} in ${location} should be at most ${String(issue.maximum)}`;
    default:
      return `${path} in ${location}: ${issue.message}`;
  }
};

const goType = (t: string): string => (t === 'nan' || t === 'integer' || t === 'bigint' ? 'number' : t);
