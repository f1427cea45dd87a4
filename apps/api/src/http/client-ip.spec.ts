import { Logger } from '@nestjs/common';
import { normalizeIp, resolveClientIp, trustedProxies } from './client-ip';

const proxies = trustedProxies(['10.0.0.0/8', 'fd00::/8']);
const resolve = (peer: string, forwardedFor?: string, realIp?: string, trusted = proxies) =>
  resolveClientIp(peer, { forwardedFor, realIp }, trusted);

describe('resolveClientIp', () => {
  it('is the peer when forwarded headers are off, whatever the headers say', () => {
    expect(resolve('10.0.0.2', '198.51.100.7', '198.51.100.8', null)).toBe('10.0.0.2');
    expect(resolve('::ffff:192.0.2.1', '198.51.100.7', undefined, null)).toBe('192.0.2.1');
  });

  it('ignores headers sent by a peer that is not a trusted proxy (spoofing)', () => {
    expect(resolve('203.0.113.5', '127.0.0.1')).toBe('203.0.113.5');
    expect(resolve('203.0.113.5', undefined, '127.0.0.1')).toBe('203.0.113.5');
  });

  it('takes the address a trusted proxy forwarded', () => {
    expect(resolve('10.0.0.2', '198.51.100.7')).toBe('198.51.100.7');
    expect(resolve('::ffff:10.0.0.2', ' 198.51.100.7 ')).toBe('198.51.100.7');
  });

  it('walks a chain from the right, skipping trusted proxies, and stops at the first untrusted hop', () => {
    // client → 10.1.1.1 (trusted) → 10.0.0.2 (peer)
    expect(resolve('10.0.0.2', '198.51.100.7, 10.1.1.1')).toBe('198.51.100.7');
    // a client that forged "127.0.0.1" in front of its real address is still seen as itself
    expect(resolve('10.0.0.2', '127.0.0.1, 198.51.100.7, 10.1.1.1')).toBe('198.51.100.7');
    // every hop trusted: the leftmost, as gin
    expect(resolve('10.0.0.2', '10.9.9.9, 10.1.1.1')).toBe('10.9.9.9');
  });

  it('reads repeated X-Forwarded-For lines as one list (Node joins them), the proxy’s last', () => {
    expect(resolve('10.0.0.2', '127.0.0.1, 198.51.100.7')).toBe('198.51.100.7');
  });

  it('handles IPv6 peers and hops, and IPv4-mapped hops', () => {
    expect(resolve('fd00::1', '2001:DB8::7')).toBe('2001:db8::7');
    expect(resolve('fd00::1', '2001:db8::7, fd12::3')).toBe('2001:db8::7');
    expect(resolve('10.0.0.2', '::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(resolve('2001:db8::9', '198.51.100.7')).toBe('2001:db8::9');
  });

  it('ignores a header with garbage in the walk, then tries X-Real-IP, then the peer', () => {
    expect(resolve('10.0.0.2', 'not-an-ip')).toBe('10.0.0.2');
    expect(resolve('10.0.0.2', '198.51.100.7:4242')).toBe('10.0.0.2');
    expect(resolve('10.0.0.2', '[2001:db8::7]')).toBe('10.0.0.2');
    expect(resolve('10.0.0.2', '198.51.100.7, ,10.1.1.1')).toBe('10.0.0.2');
    expect(resolve('10.0.0.2', 'garbage', '198.51.100.8')).toBe('198.51.100.8');
    expect(resolve('10.0.0.2', '', '')).toBe('10.0.0.2');
    // garbage left of the first untrusted hop is never reached
    expect(resolve('10.0.0.2', 'garbage, 198.51.100.7')).toBe('198.51.100.7');
  });

  it('prefers X-Forwarded-For to X-Real-IP, as gin', () => {
    expect(resolve('10.0.0.2', '198.51.100.7', '198.51.100.8')).toBe('198.51.100.7');
    expect(resolve('10.0.0.2', undefined, '198.51.100.8')).toBe('198.51.100.8');
  });

  it('with the reference default 0.0.0.0/0 trusts every IPv4 peer, no IPv6 one', () => {
    const all = trustedProxies(['0.0.0.0/0']);
    expect(resolve('203.0.113.5', '198.51.100.7', undefined, all)).toBe('198.51.100.7');
    expect(resolve('2001:db8::9', '198.51.100.7', undefined, all)).toBe('2001:db8::9');
  });

  it('keeps a peer it cannot parse as it is', () => {
    expect(resolve('', '198.51.100.7')).toBe('');
  });
});

describe('normalizeIp', () => {
  it('prints addresses as Go does and refuses the rest', () => {
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('FE80::1')).toBe('fe80::1');
    expect(normalizeIp('01.2.3.4')).toBeNull();
    expect(normalizeIp('1.2.3.4/32')).toBeNull();
    expect(normalizeIp('')).toBeNull();
  });
});

describe('trustedProxies', () => {
  it('warns when it trusts every address, as the flag alone does', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    trustedProxies(['10.0.0.0/8']);
    expect(warn).not.toHaveBeenCalled();
    trustedProxies(['0.0.0.0/0']);
    expect(String(warn.mock.calls[0][0])).toMatch(/include 0\.0\.0\.0\/0: any such client can claim any address/);
    warn.mockRestore();
  });

  it('is null when the headers are off, and refuses a bad entry', () => {
    expect(trustedProxies(undefined)).toBeNull();
    expect(() => trustedProxies(['nope'])).toThrow(/LAPI_TRUSTED_PROXIES/);
  });
});
