import { describe, expect, it } from 'vitest';
import { numberToIp } from '../api/ipv4.js';
import { cidrRange, kubernetesServiceIP } from './service-alloc.js';

describe('service address arithmetic', () => {
  it.each([
    { name: 'a /16', cidr: '10.96.0.0/16', first: '10.96.0.1', last: '10.96.255.254' },
    { name: 'a /24 written off its base', cidr: '10.0.5.77/24', first: '10.0.5.1', last: '10.0.5.254' },
    { name: 'a /30', cidr: '192.168.1.4/30', first: '192.168.1.5', last: '192.168.1.6' },
  ])('$name', ({ cidr, first, last }) => {
    const r = cidrRange(cidr);
    expect(numberToIp(r.first)).toBe(first);
    expect(numberToIp(r.last)).toBe(last);
  });

  it('puts the kubernetes service at the first address', () => {
    expect(kubernetesServiceIP('10.96.0.0/16')).toBe('10.96.0.1');
  });
});
