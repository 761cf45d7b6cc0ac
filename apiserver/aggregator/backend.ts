/**
 * Connections to aggregated API servers: HTTPS to the endpoint that
 * target.ts resolved, the serving certificate checked against the
 * APIService's caBundle for the name `<service>.<namespace>.svc` (unless
 * insecureSkipTLSVerify), this apiserver proving itself with the
 * front-proxy client certificate. One keep-alive agent per distinct TLS
 * setting, a bounded few.
 */
import type http from 'node:http';
import https from 'node:https';
import type { APIService } from '../../api/types/apiregistration.js';
import { decodeBase64 } from '../../api/types/secret.js';

/** The front-proxy client certificate (--proxy-client-cert-file, --proxy-client-key-file). */
export interface ProxyClientTLS {
  cert: Buffer;
  key: Buffer;
}

/** How long a backend may take to answer with its headers; a stream may then run as long as it likes. */
export const backendHeaderTimeoutMs = 30_000;

const maxAgents = 64;

export class BackendClient {
  private readonly agents = new Map<string, https.Agent>();

  constructor(private readonly client: ProxyClientTLS | undefined) {}

  private agentFor(a: APIService, serverName: string): https.Agent {
    const insecure = a.spec?.insecureSkipTLSVerify === true;
    const ca = a.spec?.caBundle ?? '';
    const key = `${insecure}|${serverName}|${ca}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.agents.size >= maxAgents) this.close();
      const caPem = ca ? decodeBase64(ca) : undefined;
      agent = new https.Agent({
        keepAlive: true,
        maxSockets: 256,
        cert: this.client?.cert,
        key: this.client?.key,
        // Without a caBundle the system's roots check it, as Go's default transport.
        ...(caPem?.length ? { ca: caPem } : {}),
        rejectUnauthorized: !insecure,
        servername: serverName,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /**
   * A request to `base` (the endpoint) at `path`; the caller writes the
   * body and ends it. Fails with a timeout when no answer's headers come in
   * time; after them the socket has no timeout (watches are long).
   */
  request(
    a: APIService,
    target: { url: URL; serverName: string },
    o: { method: string; path: string; headers: Record<string, string[] | string> },
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest {
    const req = https.request(
      {
        protocol: 'https:',
        hostname: target.url.hostname.replace(/^\[|\]$/g, ''),
        port: target.url.port || 443,
        method: o.method,
        path: o.path,
        headers: { ...o.headers, host: target.url.host },
        agent: this.agentFor(a, target.serverName),
        timeout: backendHeaderTimeoutMs,
      },
      (res) => {
        res.socket?.setTimeout(0);
        onResponse(res);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out waiting for the backend to answer')));
    return req;
  }

  /**
   * GET `path` from the backend as this apiserver's front-proxy identity
   * (system:kube-aggregator, as Kubernetes' discovery calls); resolves the
   * status and at most `maxBytes` of the body, rejects beyond that.
   */
  get(
    a: APIService,
    target: { url: URL; serverName: string },
    path: string,
    o: { maxBytes: number; timeoutMs: number },
  ): Promise<{ code: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = {
        accept: 'application/json',
        'x-remote-user': 'system:kube-aggregator',
        'x-remote-group': 'system:masters',
      };
      const req = this.request(a, target, { method: 'GET', path, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > o.maxBytes) req.destroy(new Error(`the answer is larger than ${o.maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`timed out after ${o.timeoutMs}ms`)), o.timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
