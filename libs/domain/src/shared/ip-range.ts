/** An address or CIDR as the reference matches it: a family and an inclusive [start, end] range of addresses. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * a.b.c.d: four decimal octets of 1-3 digits, no leading zero (Go refuses "01", which other parsers read as octal).
 * Read character by character: every decision of a 100k-line import is parsed several times on its way.
 */
function parseV4(text: string): bigint | null {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) {
        return null; // a leading zero
      }
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) {
        return null;
      }
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) {
    return null;
  }
  return BigInt(n * 256 + octet);
}

function parseV6(text: string): bigint | null {
  if (text.includes('%') || !/^[0-9a-fA-F:.]+$/.test(text)) {
    return null;
  }
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === null) {
      return null;
    }
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) {
    return null;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) {
    return null;
  }
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) {
      return null;
    }
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== null) {
    n = (n & ~0xffffffffn) | tailV4;
  }
  return n;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** One address: IPv4, or IPv6 where an IPv4-mapped address (::ffff:a.b.c.d) counts as IPv4, as in Go. */
export function parseIp(text: string): { family: 4 | 6; value: bigint } | null {
  const v4 = parseV4(text);
  if (v4 !== null) {
    return { family: 4, value: v4 };
  }
  const v6 = parseV6(text);
  if (v6 === null) {
    return null;
  }
  if (v6 >> 32n === 0xffffn) {
    return { family: 4, value: v6 - V4_MAPPED_PREFIX };
  }
  return { family: 6, value: v6 };
}

/** An IP (start = end) or, for any text with `/`, a CIDR: network address to last address. */
export function parseIpRange(text: string): IpRange | null {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ip = parseIp(text);
    return ip && { family: ip.family, start: ip.value, end: ip.value };
  }
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) {
    return null;
  }
  const mappedV4 = ip.family === 4 && text.slice(0, slash).includes(':');
  let prefix = Number(prefixText);
  if (mappedV4) {
    prefix -= 96; // ::ffff:1.2.3.0/120 is 1.2.3.0/24
  }
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix < 0 || prefix > bits) {
    return null;
  }
  const hostBits = BigInt(bits - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const start = ip.value & ~hostMask;
  return { family: ip.family, start, end: start | hostMask };
}

/** `d` covers all of `q` (same family). */
export const rangeContains = (d: IpRange, q: IpRange): boolean =>
  d.family === q.family && d.start <= q.start && d.end >= q.end;

/** The size of a range in addresses, for "longest prefix" style comparisons. */
export const rangeSize = (r: IpRange): bigint => r.end - r.start + 1n;
