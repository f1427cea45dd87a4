import { parseIp, parseIpRange, rangeContains } from './ip-range';

const v4 = (text: string) => parseIp(text)!.value;

describe('parseIpRange', () => {
  it('reads an IPv4 address as a one-address range', () => {
    expect(parseIpRange('192.0.2.7')).toEqual({ family: 4, start: v4('192.0.2.7'), end: v4('192.0.2.7') });
  });

  it('reads every IPv4 octet, 0 to 255', () => {
    expect(parseIp('255.255.255.255')).toEqual({ family: 4, value: 0xffffffffn });
    expect(parseIp('0.0.0.0')).toEqual({ family: 4, value: 0n });
    expect(parseIp('10.200.3.40')).toEqual({ family: 4, value: (10n << 24n) | (200n << 16n) | (3n << 8n) | 40n });
  });

  it('reads a CIDR from its network address to its last address, whatever host bits were given', () => {
    expect(parseIpRange('10.0.0.1/24')).toEqual({ family: 4, start: v4('10.0.0.0'), end: v4('10.0.0.255') });
    expect(parseIpRange('0.0.0.0/0')).toEqual({ family: 4, start: 0n, end: 0xffffffffn });
    expect(parseIpRange('1.2.3.4/32')).toEqual({ family: 4, start: v4('1.2.3.4'), end: v4('1.2.3.4') });
  });

  it('reads IPv6, compressed or not, and its CIDRs', () => {
    const a = parseIpRange('2001:db8::1')!;
    expect(a.family).toBe(6);
    expect(a.start).toBe(0x20010db8000000000000000000000001n);
    expect(parseIpRange('2001:0db8:0:0:0:0:0:1')).toEqual(a);
    expect(parseIpRange('2001:db8::/32')).toEqual({
      family: 6,
      start: 0x20010db8n << 96n,
      end: (0x20010db8n << 96n) | ((1n << 96n) - 1n),
    });
    expect(parseIpRange('::')).toEqual({ family: 6, start: 0n, end: 0n });
  });

  it('counts IPv4-mapped IPv6 addresses as IPv4, as Go does', () => {
    expect(parseIpRange('::ffff:192.0.2.7')).toEqual(parseIpRange('192.0.2.7'));
    expect(parseIpRange('::ffff:192.0.2.0/120')).toEqual(parseIpRange('192.0.2.0/24'));
  });

  it.each([
    '1.2.3',
    '1.2.3.256',
    '01.2.3.4',
    '1.2.3.00',
    '1.2.3.0012',
    '1..2.3',
    '.1.2.3',
    '1.2.3.4.',
    '1.2.3.4.5',
    ' 1.2.3.4',
    '1.2.3.-4',
    '1.2.3.4/33',
    '1.2.3.4/',
    '1.2.3.4/a',
    'notanip',
    '',
    '2001:db8:::1',
    '1:2:3:4:5:6:7:8:9',
    'fe80::1%eth0',
    '::/129',
  ])('refuses %p', (text) => {
    expect(parseIpRange(text)).toBeNull();
  });
});

describe('rangeContains', () => {
  const r = (t: string) => parseIpRange(t)!;
  it('follows the reference containment table', () => {
    expect(rangeContains(r('203.0.113.0/24'), r('203.0.113.5'))).toBe(true);
    expect(rangeContains(r('203.0.113.0/24'), r('203.0.113.0/25'))).toBe(true);
    expect(rangeContains(r('203.0.113.0/25'), r('203.0.113.0/24'))).toBe(false);
    expect(rangeContains(r('0.0.0.0/0'), r('2001:db8::1'))).toBe(false);
  });
});
