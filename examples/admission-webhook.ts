/**
 * An example admission webhook, small enough to read in one sitting and
 * real enough to run in the cluster from the nanokube image:
 *
 *     node /app/dist/examples/admission-webhook.js
 *
 * It serves HTTPS with the certificate and key in TLS_CERT_FILE and
 * TLS_KEY_FILE (default /certs/tls.crt and /certs/tls.key: a
 * kubernetes.io/tls Secret mounted at /certs) on PORT (default 8443):
 *
 * - `POST /validate`: refuses a ConfigMap that has a key (in data or
 *   binaryData) containing FORBIDDEN_KEY (default `bad`), with a message
 *   that names the key; anything else is allowed.
 * - `POST /mutate`: adds the label MUTATE_LABEL (default
 *   `example.nanokube.io/mutated=true`) with a JSON patch.
 * - `GET /healthz`: for a readiness probe.
 *
 * The apiserver sends an AdmissionReview (admission.k8s.io/v1) and expects
 * one back with the request's uid (docs/apiserver.md, "Admission
 * webhooks"; e2e/webhooks.test.ts deploys it with its configurations).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { V1ConfigMap } from '@kubernetes/client-node';

interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  operation?: string;
  object?: V1ConfigMap | null;
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface WebhookSettings {
  forbiddenKey: string;
  /** `key=value` */
  label: string;
}

/** Refuses ConfigMaps with a key containing `forbiddenKey`. */
export function validate(req: AdmissionRequest, s: WebhookSettings): AdmissionResponse {
  const cm = req.object;
  if (req.kind?.kind !== 'ConfigMap' || !cm) return { uid: req.uid, allowed: true };
  const keys = [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})];
  const bad = keys.filter((k) => k.includes(s.forbiddenKey));
  if (bad.length === 0) return { uid: req.uid, allowed: true };
  return {
    uid: req.uid,
    allowed: false,
    status: {
      code: 403,
      reason: 'Forbidden',
      message: `ConfigMap keys may not contain "${s.forbiddenKey}": ${bad.join(', ')}`,
    },
  };
}

/** JSON pointer escaping of one path segment (RFC 6901). */
const pointerSegment = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Adds the label (and the labels map when there is none). */
export function mutate(req: AdmissionRequest, s: WebhookSettings): AdmissionResponse {
  const obj = req.object;
  if (!obj) return { uid: req.uid, allowed: true };
  const eq = s.label.indexOf('=');
  const key = s.label.slice(0, eq);
  const value = s.label.slice(eq + 1);
  const ops = obj.metadata?.labels
    ? [{ op: 'add', path: `/metadata/labels/${pointerSegment(key)}`, value }]
    : [{ op: 'add', path: '/metadata/labels', value: { [key]: value } }];
  return {
    uid: req.uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  };
}

const maxBody = 3 * 1024 * 1024;

function serve(s: WebhookSettings, tls: { cert: Buffer; key: Buffer }, port: number): https.Server {
  const server = https.createServer(tls, (req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.end('ok');
      return;
    }
    const handler = req.url?.startsWith('/validate')
      ? validate
      : req.url?.startsWith('/mutate')
        ? mutate
        : undefined;
    if (req.method !== 'POST' || !handler) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let review: { apiVersion?: string; request?: AdmissionRequest };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end('not JSON');
        return;
      }
      if (!review.request?.uid) {
        res.writeHead(400).end('no request');
        return;
      }
      const response = handler(review.request, s);
      console.log(
        JSON.stringify({
          path: req.url,
          uid: response.uid,
          op: review.request.operation,
          allowed: response.allowed,
        }),
      );
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: review.apiVersion ?? 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response,
        }),
      );
    });
  });
  server.listen(port);
  return server;
}

/** Runs the webhook from its environment; stops on SIGTERM. */
export function main(env: NodeJS.ProcessEnv = process.env): void {
  const settings: WebhookSettings = {
    forbiddenKey: env.FORBIDDEN_KEY || 'bad',
    label: env.MUTATE_LABEL || 'example.nanokube.io/mutated=true',
  };
  const tls = {
    cert: readFileSync(env.TLS_CERT_FILE || '/certs/tls.crt'),
    key: readFileSync(env.TLS_KEY_FILE || '/certs/tls.key'),
  };
  const port = Number(env.PORT || 8443);
  const server = serve(settings, tls, port);
  console.log(JSON.stringify({ msg: 'admission webhook serving', port, ...settings }));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

if (process.argv[1]?.endsWith('admission-webhook.js')) main();
