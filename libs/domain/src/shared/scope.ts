// The reference's canonical scopes (pkg/types); other scopes are kept verbatim and compared case-sensitively.
const CANONICAL: Record<string, string> = { ip: 'Ip', range: 'Range', as: 'AS', country: 'Country' };

/** `ip`→`Ip`, `RANGE`→`Range`, `as`→`AS`, `country`→`Country`; anything else unchanged. */
export const normalizeScope = (scope: string): string => CANONICAL[scope.toLowerCase()] ?? scope;

/** Scopes whose values are IPs or ranges and take part in containment queries. */
export const isIpScope = (scope: string): boolean => {
  const s = scope.toLowerCase();
  return s === 'ip' || s === 'range';
};
