import { describe, expect, it } from 'vitest';
import { clientKey } from '../../src/limits/client-key';

describe('clientKey', () => {
  it('is the IPv4 address itself', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
  });

  it.each([
    ['2001:db8:1234:5678:9abc:def0:1234:5678', '2001:db8:1234:5678::/64'],
    ['2001:DB8:1234:5678::1', '2001:db8:1234:5678::/64'],
    ['2001:0db8:0000:0005:ffff::', '2001:db8:0:5::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('groups IPv6 %s by its /64: %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key);
  });

  it('puts two addresses of one /64 together, and of two /64s apart', () => {
    expect(clientKey('2001:db8:1:2::aaaa')).toBe(clientKey('2001:db8:1:2:ffff:1:2:3'));
    expect(clientKey('2001:db8:1:2::aaaa')).not.toBe(clientKey('2001:db8:1:3::aaaa'));
  });

  it('reads IPv4-mapped IPv6 as IPv4', () => {
    expect(clientKey('::ffff:198.51.100.4')).toBe('198.51.100.4');
  });

  it('keeps an address it cannot parse as it is, and a missing one as "unknown"', () => {
    expect(clientKey('not:an:address:::')).toBe('not:an:address:::');
    expect(clientKey(null)).toBe('unknown');
    expect(clientKey('  ')).toBe('unknown');
  });
});
