/**
 * An apiserver on its TLS port for tests and benchmarks: a CA of its own, a
 * serving certificate for 127.0.0.1 and localhost, client certificates for
 * the users asked for, the front-proxy CA and client certificate
 * (aggregation), and helpers to reach it as one of them (kubeconfig
 * for kubectl, raw HTTPS requests). Its plain port stays on loopback, as
 * `startApiserver` gives every apiserver, for health checks.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import YAML from 'yaml';
import { type CertRequest, ensureCA, ensureFrontProxyPki, issueCert } from '../base/pki.js';
import { type Apiserver, freePorts, makeTempDir, startApiserver } from './harness.js';

export interface SecureApiserver {
  apiserver: Apiserver;
  /** https://127.0.0.1:PORT */
  url: string;
  /** Where the CA (ca.crt) and every certificate (NAME.crt, NAME.key) are. */
  dir: string;
  /** A kubeconfig for kubectl as `user` (client-certificate/client-key, or token), trusting the CA. */
  kubeconfig(name: string, user: Record<string, string>): string;
  /** A kubeconfig for the holder of the certificate `name`. */
  kubeconfigFor(name: string): string;
  /** TLS options: the CA, and the client certificate `name` when given. */
  tls(name?: string): { ca: Buffer; cert?: Buffer; key?: Buffer };
  /**
   * One HTTPS request as the certificate `cert` or the bearer `token`; `body` is sent as
   * JSON, `raw` byte for byte with `contentType`. The answer's body is parsed when it is JSON.
   */
  request(method: string, urlPath: string, opts?: RequestOptions): Promise<{ code: number; body: any }>;
}

export interface RequestOptions {
  cert?: string;
  token?: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  /** Give up after this long without an answer (60 s). */
  timeoutMs?: number;
  /** Further request headers (a header with several values as a list). */
  headers?: Record<string, string | string[]>;
}

/**
 * The PKI of a TLS apiserver in `dir`: a CA of its own, a serving
 * certificate for `sans` (127.0.0.1 and localhost by default), client
 * certificates for `users`, and the front-proxy CA and client certificate
 * (aggregation); `args` are the apiserver flags that use them.
 */
export async function securePki(
  dir: string,
  o: { caName?: string; sans?: string[]; users?: CertRequest[] } = {},
): Promise<{ caCert: string; args(securePort: number, authorizationMode: string): string[] }> {
  const ca = await ensureCA(dir, o.caName ?? 'nanokube-test-ca');
  const serving = await issueCert(dir, {
    name: 'apiserver',
    commonName: 'kube-apiserver',
    sans: o.sans ?? ['IP:127.0.0.1', 'DNS:localhost'],
  });
  for (const u of o.users ?? []) await issueCert(dir, u);
  const frontProxy = await ensureFrontProxyPki(dir);
  return {
    caCert: ca.cert,
    args: (securePort, authorizationMode) => [
      ...['--secure-port', String(securePort)],
      ...['--tls-cert-file', serving.cert, '--tls-private-key-file', serving.key],
      ...['--client-ca-file', ca.cert],
      ...['--authorization-mode', authorizationMode],
      ...[
        '--proxy-client-cert-file',
        frontProxy.client.cert,
        '--proxy-client-key-file',
        frontProxy.client.key,
      ],
      ...['--requestheader-client-ca-file', frontProxy.ca.cert],
      ...['--requestheader-allowed-names', frontProxy.allowedNames.join(',')],
    ],
  };
}

export async function startSecureApiserver(o: {
  etcdServers: string[];
  /** Client certificates to make (name, CN, O). */
  users?: CertRequest[];
  /** Flags beyond the TLS ones (authorization mode, token files...). */
  extraArgs?: string[];
  authorizationMode?: string;
  caName?: string;
  /** The folder for the certificates (made when not given). */
  dir?: string;
}): Promise<SecureApiserver> {
  const dir = o.dir ?? makeTempDir('nanokube-secure-');
  const pki = await securePki(dir, { caName: o.caName, users: o.users });
  const [securePort] = await freePorts(1);
  const apiserver = await startApiserver({
    etcdServers: o.etcdServers,
    extraArgs: [...pki.args(securePort, o.authorizationMode ?? 'Node,RBAC'), ...(o.extraArgs ?? [])],
  });
  return { apiserver, ...secureAccess(`https://127.0.0.1:${securePort}`, dir, pki.caCert) };
}

/** Reaching a TLS apiserver at `url` as the holders of the certificates in `dir`, trusting `caCert`. */
export function secureAccess(url: string, dir: string, caCert: string): Omit<SecureApiserver, 'apiserver'> {
  const file = (f: string) => path.join(dir, f);
  const tls = (name?: string) => ({
    ca: readFileSync(caCert),
    ...(name ? { cert: readFileSync(file(`${name}.crt`)), key: readFileSync(file(`${name}.key`)) } : {}),
  });
  const kubeconfig = (name: string, user: Record<string, string>) => {
    const out = path.join(dir, 'kubeconfigs', name);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(
      out,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'secure', cluster: { server: url, 'certificate-authority': caCert } }],
        users: [{ name, user }],
        contexts: [{ name, context: { cluster: 'secure', user: name, namespace: 'default' } }],
        'current-context': name,
      }),
    );
    return out;
  };
  const request: SecureApiserver['request'] = (method, urlPath, opts = {}) =>
    new Promise((resolve, reject) => {
      const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
      const contentType = opts.contentType ?? (opts.body === undefined ? undefined : 'application/json');
      const req = https.request(
        `${url}${urlPath}`,
        {
          method,
          ...tls(opts.cert),
          timeout: opts.timeoutMs ?? 60_000,
          headers: {
            accept: 'application/json',
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            ...(contentType ? { 'content-type': contentType } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            let parsed: any = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ code: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  return {
    url,
    dir,
    kubeconfig,
    kubeconfigFor: (name) =>
      kubeconfig(name, { 'client-certificate': file(`${name}.crt`), 'client-key': file(`${name}.key`) }),
    tls,
    request,
  };
}
