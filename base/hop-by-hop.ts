/**
 * The headers of a connection rather than of a request or response (RFC
 * 9110 7.6.1): a proxy drops them in both directions. The ingress
 * controller and the apiserver's aggregation proxy share this one list.
 */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Whether a header (lowercase, as node gives them) belongs to the connection. */
export const isHopByHop = (name: string): boolean => hopByHopHeaders.has(name);
