import { describe, expect, it } from 'vitest';
import { ipToNumber, numberToIp } from './ipv4.js';

describe('IPv4 addresses as numbers', () => {
  it('round-trips addresses', () => {
    for (const ip of ['0.0.0.0', '10.96.0.10', '255.255.255.255'])
      expect(numberToIp(ipToNumber(ip))).toBe(ip);
  });

  it('reads the first octet as the highest', () => {
    expect(ipToNumber('10.96.0.1')).toBe(10 * 2 ** 24 + 96 * 2 ** 16 + 1);
  });
});
