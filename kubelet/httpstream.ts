/**
 * The SPDY/3.1 upgrade of Kubernetes' httpstream, as the kubelet answers it
 * for exec, attach and port-forward (apimachinery
 * `pkg/util/httpstream/httpstream.go` Handshake and
 * `httpstream/spdy/upgrade.go`):
 *
 * - The client offers stream protocol versions in X-Stream-Protocol-Version
 *   (comma separated, possibly several headers), most preferred first. The
 *   first offered that the server serves wins, so the client's order
 *   decides.
 * - None offered: 400. None in common: 403, with the server's versions in
 *   X-Accepted-Stream-Protocol-Versions, one header each.
 * - Agreed: `101 Switching Protocols` with Connection: Upgrade, Upgrade:
 *   SPDY/3.1 and the chosen version in X-Stream-Protocol-Version (a client
 *   that finds no version there falls back to the oldest protocol), and the
 *   socket speaks SPDY from the next byte on.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError } from './server.js';
import { SpdyConnection } from './spdy.js';

export const protocolVersionHeader = 'X-Stream-Protocol-Version';
export const acceptedVersionsHeader = 'X-Accepted-Stream-Protocol-Versions';

/** True when the request asks to switch to SPDY/3.1. */
export function isSpdyUpgrade(req: http.IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';
}

/**
 * The stream protocol both sides speak: the first version the client
 * offered that is in `served`. Throws an HttpError (400 or 403) otherwise.
 */
export function handshake(req: http.IncomingMessage, served: readonly string[]): string {
  const raw = req.headers[protocolVersionHeader.toLowerCase()];
  const offered = (Array.isArray(raw) ? raw : [raw ?? ''])
    .flatMap((h) => h.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  if (offered.length === 0)
    throw new HttpError(400, 'BadRequest', `unable to upgrade: ${protocolVersionHeader} is required`);
  const chosen = offered.find((p) => served.includes(p));
  if (!chosen)
    throw new HttpError(
      403,
      'Forbidden',
      `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${served.join(' ')}]`,
      { [acceptedVersionsHeader]: [...served] },
    );
  return chosen;
}

/** Switches the socket to SPDY/3.1 with the agreed protocol, and serves it. */
export function upgradeToSpdy(socket: Duplex, head: Buffer, protocol: string): SpdyConnection {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `${protocolVersionHeader}: ${protocol}\r\n\r\n`,
  );
  if (head.length) socket.unshift(head);
  return new SpdyConnection(socket, 'server');
}
