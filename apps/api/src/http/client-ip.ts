import { parseIp, parseIpRange, rangeContains, rangeSize, type IpRange } from '@lapi/domain';
import { Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's address, resolved once per request by the onRequest hook of createFastifyAdapter. */
    lapiClientIp?: string;
  }
}

/** The proxies whose forwarded headers are believed; null: the headers are ignored (the reference's default). */
export type TrustedProxies = readonly IpRange[] | null;

/** Parses LAPI_TRUSTED_PROXIES (already validated by the config); undefined: forwarded headers off. */
export function trustedProxies(list: readonly string[] | undefined): TrustedProxies {
  if (!list) {
    return null;
  }
  const ranges = list.map((entry) => {
    const range = parseIpRange(entry);
    if (!range) {
      throw new Error(`LAPI_TRUSTED_PROXIES: not an IP or CIDR range: ${entry}`);
    }
    return range;
  });
  // Legal when written out (the flag alone is refused by the config), but then any client picks its address.
  const everyone = list.filter((_, i) => rangeSize(ranges[i]) === 1n << (ranges[i].family === 4 ? 32n : 128n));
  if (everyone.length > 0) {
    new Logger('ClientIp').warn(
      `trusted proxies include ${everyone.join(', ')}: any such client can claim any address in X-Forwarded-For ` +
        '(trusted IPs, throttling): set LAPI_TRUSTED_PROXIES to your proxies',
    );
  }
  return ranges;
}

/** An address as Go prints it: IPv4-mapped IPv6 as plain IPv4, IPv6 in lower case. Null for anything else. */
export function normalizeIp(text: string): string | null {
  const ip = parseIp(text);
  if (!ip) {
    return null;
  }
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((shift) => String((v >> shift) & 0xffn)).join('.');
  }
  return text.toLowerCase();
}

const isTrusted = (proxies: readonly IpRange[], ip: string): boolean => {
  const range = parseIpRange(ip);
  return range !== null && proxies.some((p) => rangeContains(p, range));
};

/**
 * gin's ClientIP as the reference configures it (ForwardedByClientIP with SetTrustedProxies): the peer, unless the
 * peer is a trusted proxy; then X-Forwarded-For read from the right, skipping trusted proxies, gives the first
 * address no trusted proxy vouches for (the leftmost if all are trusted); a header with a non-address in that walk
 * is ignored whole, and X-Real-IP is read the same way after it. Anything a client prepends to X-Forwarded-For sits
 * left of what the trusted proxies appended, so it is never reached while an untrusted hop comes first.
 */
export function resolveClientIp(
  peer: string,
  headers: { forwardedFor?: string; realIp?: string },
  proxies: TrustedProxies,
): string {
  const peerIp = normalizeIp(peer) ?? peer;
  if (!proxies || !isTrusted(proxies, peerIp)) {
    return peerIp;
  }
  for (const header of [headers.forwardedFor, headers.realIp]) {
    const ip = header ? fromHeader(header, proxies) : null;
    if (ip) {
      return ip;
    }
  }
  return peerIp;
}

function fromHeader(header: string, proxies: readonly IpRange[]): string | null {
  const hops = header.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = normalizeIp(hops[i].trim());
    if (ip === null) {
      return null;
    }
    if (i === 0 || !isTrusted(proxies, ip)) {
      return ip;
    }
  }
  return null;
}

// Node joins repeated X-Forwarded-For lines with ", " already: a client's own line cannot hide the proxy's.
const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(',') : value;

/** What the onRequest hook computes for each request. */
export const requestClientIp = (request: FastifyRequest, proxies: TrustedProxies): string =>
  resolveClientIp(
    request.ip ?? '',
    { forwardedFor: headerText(request.headers['x-forwarded-for']), realIp: headerText(request.headers['x-real-ip']) },
    proxies,
  );

/** The client's address: the peer, or what trusted proxies forwarded (see resolveClientIp). */
export const clientIp = (request: FastifyRequest): string => request.lapiClientIp ?? requestClientIp(request, null);
