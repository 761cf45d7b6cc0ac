/** IPv4 addresses as numbers, for CIDR arithmetic (service IPs, node pod ranges). */

/** `10.96.0.1` → 174063617. */
export function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** 174063617 → `10.96.0.1`. */
export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
