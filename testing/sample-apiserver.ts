/**
 * A tiny aggregated API server for the aggregation e2e test, as the
 * JavaScript a pod of `nanokube/nanokube:1` runs with node (mounted from a
 * ConfigMap: no image rebuild). It serves HTTPS with /tls/tls.crt and
 * tls.key, and trusts the front-proxy headers the way Kubernetes' request
 * header authenticator does: only on a connection whose client certificate
 * the front-proxy CA signed and whose CN is an allowed name, both read from
 * the extension-apiserver-authentication ConfigMap mounted at /auth (the
 * folders, address and port can be set: TLS_DIR, AUTH_DIR, HOST, PORT). It
 * serves `/apis/$GROUP/$VERSION` (discovery: one cluster-scoped resource,
 * `whoamis`) and `/apis/$GROUP/$VERSION/whoamis`, a list whose one item
 * echoes who the front proxy says is asking (and which X-Remote-* headers
 * arrived; with ?watch=1 one ADDED event of it, the stream left open).
 * A request without a trusted client certificate is 401.
 */
export const sampleApiserverSource = `
import fs from 'node:fs';
import https from 'node:https';

const env = (k, d) => process.env[k] || d;
const tlsDir = env('TLS_DIR', '/tls');
const authDir = env('AUTH_DIR', '/auth');
const group = process.env.GROUP;
const version = process.env.VERSION;
const gv = group + '/' + version;
const allowed = JSON.parse(fs.readFileSync(authDir + '/requestheader-allowed-names', 'utf8'));
const send = (res, code, body) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const server = https.createServer(
  {
    cert: fs.readFileSync(tlsDir + '/tls.crt'),
    key: fs.readFileSync(tlsDir + '/tls.key'),
    ca: fs.readFileSync(authDir + '/requestheader-client-ca-file'),
    requestCert: true,
    rejectUnauthorized: false,
  },
  (req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/healthz') return send(res, 200, 'ok');
    const cert = req.socket.getPeerCertificate();
    const trusted = req.socket.authorized && (allowed.length === 0 || allowed.includes(cert.subject?.CN));
    if (!trusted) return send(res, 401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401, message: 'no trusted front-proxy certificate' });
    if (path === '/apis/' + gv)
      return send(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: [{ name: 'whoamis', singularName: 'whoami', namespaced: false, kind: 'WhoAmI', verbs: ['get', 'list'] }],
      });
    if (path === '/apis/' + gv + '/whoamis') {
      const h = req.headersDistinct;
      const remote = Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-remote-')));
      const item = {
        kind: 'WhoAmI',
        apiVersion: gv,
        metadata: { name: h['x-remote-user']?.[0] ?? 'nobody' },
        user: h['x-remote-user'] ?? [],
        groups: h['x-remote-group'] ?? [],
        remoteHeaders: remote,
        authorization: h.authorization ?? [],
        clientCN: cert.subject?.CN,
      };
      // A watch: one event now, then the stream stays open until the client goes.
      if (/[?&]watch=(1|true)/.test(req.url)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JSON.stringify({ type: 'ADDED', object: item }) + String.fromCharCode(10));
        return;
      }
      return send(res, 200, { kind: 'WhoAmIList', apiVersion: gv, metadata: {}, items: [item] });
    }
    send(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
  },
);
const port = Number(env('PORT', '8443'));
server.listen(port, env('HOST', '0.0.0.0'), () => console.log('sample apiserver serving ' + gv + ' on ' + port));
process.on('SIGTERM', () => process.exit(0));
`;
