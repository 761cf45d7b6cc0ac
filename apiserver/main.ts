#!/usr/bin/env node
/** nk-apiserver: parses flags and runs the apiserver until SIGINT/SIGTERM. */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { Command } from 'commander';
import {
  boolFlag,
  flagError,
  makeLogger,
  parseDuration,
  parsePort,
  runComponent,
} from '../base/component-main.js';
import { readTokenFile } from './authn.js';
import { readEncryptionConfig } from './encryption.js';
import { type ApiserverConfig, buildApiserver } from './server.js';
import { readTokenIssuer } from './serviceaccount-token.js';

const program = new Command('nk-apiserver')
  .description('The nanokube API server: the Kubernetes REST API over etcd.')
  .requiredOption('--etcd-servers <urls>', 'comma-separated etcd client URLs')
  .option('--bind-address <ip>', 'address to listen on', '127.0.0.1')
  .option(
    '--port <port>',
    'plain HTTP port; with --secure-port only when given, and then on 127.0.0.1 only',
    '8080',
  )
  .option('--secure-port <port>', 'HTTPS port; needs --tls-cert-file and --tls-private-key-file')
  .option('--tls-cert-file <file>', 'serving certificate (PEM)')
  .option('--tls-private-key-file <file>', 'serving key (PEM)')
  .option('--client-ca-file <file>', 'CA whose client certificates authenticate users (CN user, O groups)')
  .option('--token-auth-file <file>', 'static bearer tokens: token,user,uid[,"group1,group2"] per line')
  .addOption(
    boolFlag(
      '--enable-bootstrap-token-auth',
      'let bootstrap tokens (kube-system Secrets) authenticate, for joining nodes',
      false,
    ),
  )
  .addOption(
    boolFlag('--anonymous-auth', 'let requests without credentials in as system:anonymous (else 401)', false),
  )
  .option('--authorization-mode <modes>', 'comma-separated: AlwaysAllow, or Node and/or RBAC', 'AlwaysAllow')
  .option(
    '--service-account-signing-key-file <file>',
    'private key (RSA or EC P-256, PEM) that signs service account tokens',
  )
  .option(
    '--service-account-key-file <files>',
    'comma-separated public keys that tokens may also be signed with',
  )
  .option(
    '--service-account-issuer <url>',
    'the iss of the tokens',
    'https://kubernetes.default.svc.cluster.local',
  )
  .option('--api-audiences <list>', 'comma-separated audiences a token must name; default: the issuer')
  .option(
    '--audit-log-path <file>',
    'write an audit Event line per write and per refused request; - for stdout',
  )
  .option(
    '--encryption-provider-config <file>',
    'EncryptionConfiguration: which resources are encrypted in etcd, and with which keys (aesgcm)',
  )
  .option('--kubelet-client-certificate <file>', "client certificate for kubelets' TLS port (PEM)")
  .option('--kubelet-client-key <file>', 'its key (PEM)')
  .option(
    '--kubelet-certificate-authority <file>',
    "CA that signs kubelets' serving certificates (without it they are not checked)",
  )
  .option(
    '--proxy-client-cert-file <file>',
    'front-proxy client certificate shown to aggregated API servers (PEM)',
  )
  .option('--proxy-client-key-file <file>', 'its key (PEM)')
  .option(
    '--requestheader-client-ca-file <file>',
    'CA of front-proxy client certificates, published for aggregated API servers',
  )
  .option(
    '--requestheader-allowed-names <names>',
    'comma-separated common names a front-proxy client certificate may have (empty: any)',
    '',
  )
  .option(
    '--requestheader-username-headers <headers>',
    'comma-separated headers that carry the user name',
    'X-Remote-User',
  )
  .option(
    '--requestheader-group-headers <headers>',
    'comma-separated headers that carry the groups',
    'X-Remote-Group',
  )
  .option(
    '--requestheader-extra-headers-prefix <prefixes>',
    "comma-separated prefixes of headers that carry the user's extra",
    'X-Remote-Extra-',
  )
  .option(
    '--advertise-address <ip>',
    'address pods and other hosts reach this apiserver on (the kubernetes Endpoints)',
  )
  .option('--service-cluster-ip-range <cidr>', 'service IP range', '10.96.0.0/16')
  .option('--service-node-port-range <range>', 'node port range', '30000-32767')
  .option('--default-watch-cache-size <n>', 'events kept per resource for resuming watches', '10000')
  .option('--etcd-cafile <file>', "CA that signs the etcd members' serving certificates (https etcd URLs)")
  .option('--etcd-certfile <file>', 'client certificate for etcd (with --etcd-keyfile)')
  .option('--etcd-keyfile <file>', 'key of --etcd-certfile')
  .option('--etcd-compaction-interval <duration>', 'how often to compact etcd (0 disables)', '5m')
  .option('--watch-bookmark-interval <duration>', 'how often watches that allow bookmarks get one', '60s')
  .option(
    '--max-watches <n>',
    'open watches of all users but system:masters together; past it a watch is answered 429 (0: no limit)',
    '3000',
  )
  .option('--max-watches-per-user <n>', 'open watches of one user; past it 429 (0: no limit)', '300')
  .option('--log-level <level>', 'pino log level', 'info');

/** The given address; else the bind address unless loopback; else the host's first non-loopback IPv4 for 0.0.0.0. */
function advertiseAddress(given: string | undefined, bind: string): string | undefined {
  if (given) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(given))
      flagError('--advertise-address', `"${given}" is not an IPv4 address`);
    return given;
  }
  if (bind.startsWith('127.') || bind === 'localhost' || bind === '::1') return undefined;
  if (bind !== '0.0.0.0') return bind;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** A flag's integer >= 0. */
function count(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) flagError(flag, `"${v}" is not an integer >= 0`);
  return n;
}

const list = (v: string | undefined) =>
  String(v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The front-proxy client certificate and the requestheader settings, as Kubernetes' flags give them. */
function aggregationConfig(o: Record<string, string>): ApiserverConfig['aggregation'] {
  let proxyClient: NonNullable<ApiserverConfig['aggregation']>['proxyClient'];
  if (o.proxyClientCertFile || o.proxyClientKeyFile) {
    if (!o.proxyClientCertFile || !o.proxyClientKeyFile)
      flagError('--proxy-client-cert-file', 'needs --proxy-client-key-file too, and the other way round');
    try {
      proxyClient = { cert: readFileSync(o.proxyClientCertFile), key: readFileSync(o.proxyClientKeyFile) };
    } catch (err) {
      flagError('--proxy-client-cert-file', (err as Error).message);
    }
  }
  let requestheader: NonNullable<ApiserverConfig['aggregation']>['requestheader'];
  if (o.requestheaderClientCaFile) {
    try {
      requestheader = {
        clientCA: readFileSync(o.requestheaderClientCaFile, 'utf8'),
        allowedNames: list(o.requestheaderAllowedNames),
        usernameHeaders: list(o.requestheaderUsernameHeaders),
        groupHeaders: list(o.requestheaderGroupHeaders),
        extraHeadersPrefix: list(o.requestheaderExtraHeadersPrefix),
      };
    } catch (err) {
      flagError('--requestheader-client-ca-file', (err as Error).message);
    }
  }
  return proxyClient || requestheader ? { proxyClient, requestheader } : undefined;
}

function toConfig(o: Record<string, string>): ApiserverConfig {
  const etcdServers = o.etcdServers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const u of etcdServers) {
    if (!/^https?:\/\/[^/]+/.test(u)) flagError('--etcd-servers', `"${u}" is not an http(s) URL`);
  }
  if (etcdServers.length === 0) flagError('--etcd-servers', 'at least one URL is required');
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(o.serviceClusterIpRange))
    flagError('--service-cluster-ip-range', `"${o.serviceClusterIpRange}" is not an IPv4 CIDR`);
  const npr = /^(\d+)-(\d+)$/.exec(o.serviceNodePortRange);
  if (!npr || Number(npr[1]) > Number(npr[2]) || Number(npr[2]) > 65535)
    flagError('--service-node-port-range', `"${o.serviceNodePortRange}" is not a range like 30000-32767`);
  const cacheSize = Number(o.defaultWatchCacheSize);
  if (!Number.isInteger(cacheSize) || cacheSize < 1)
    flagError('--default-watch-cache-size', 'must be a positive integer');
  let tls: ApiserverConfig['tls'];
  let port = parsePort('--port', o.port);
  let insecurePort: number | undefined;
  let authn: ApiserverConfig['authn'];
  const modes = String(o.authorizationMode)
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of modes)
    if (!['AlwaysAllow', 'Node', 'RBAC'].includes(m))
      flagError('--authorization-mode', `"${m}" is not one of AlwaysAllow, Node, RBAC`);
  if (o.securePort !== undefined) {
    if (!o.tlsCertFile || !o.tlsPrivateKeyFile)
      flagError('--secure-port', 'needs --tls-cert-file and --tls-private-key-file');
    if (program.getOptionValueSource('port') === 'cli') insecurePort = port;
    port = parsePort('--secure-port', o.securePort);
    try {
      tls = { cert: readFileSync(o.tlsCertFile), key: readFileSync(o.tlsPrivateKeyFile) };
    } catch (err) {
      flagError('--tls-cert-file', (err as Error).message);
    }
    try {
      if (o.clientCaFile) tls.clientCA = readFileSync(o.clientCaFile);
    } catch (err) {
      flagError('--client-ca-file', (err as Error).message);
    }
    let tokens = new Map();
    try {
      if (o.tokenAuthFile) tokens = readTokenFile(o.tokenAuthFile);
    } catch (err) {
      flagError('--token-auth-file', (err as Error).message);
    }
    if (
      o.clientCaFile ||
      o.tokenAuthFile ||
      o.enableBootstrapTokenAuth ||
      modes.includes('RBAC') ||
      modes.includes('Node')
    )
      authn = { anonymous: !!o.anonymousAuth, tokens, bootstrapTokens: !!o.enableBootstrapTokenAuth };
  } else if (o.clientCaFile || o.tokenAuthFile || modes.includes('RBAC') || modes.includes('Node')) {
    flagError('--secure-port', 'authentication and RBAC need the TLS port (--secure-port)');
  }
  let serviceAccountTokens: ApiserverConfig['serviceAccountTokens'];
  if (o.serviceAccountSigningKeyFile) {
    try {
      serviceAccountTokens = readTokenIssuer({
        signingKeyFile: o.serviceAccountSigningKeyFile,
        keyFiles: String(o.serviceAccountKeyFile ?? '')
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean),
        issuer: o.serviceAccountIssuer,
        apiAudiences: String(o.apiAudiences ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
      });
    } catch (err) {
      flagError('--service-account-signing-key-file', (err as Error).message);
    }
  }
  let etcdTLS: ApiserverConfig['etcdTLS'];
  if (o.etcdCafile || o.etcdCertfile || o.etcdKeyfile) {
    if (!o.etcdCafile) flagError('--etcd-cafile', 'is needed with --etcd-certfile and --etcd-keyfile');
    if (!o.etcdCertfile !== !o.etcdKeyfile)
      flagError('--etcd-certfile', 'needs --etcd-keyfile too, and the other way round');
    try {
      etcdTLS = {
        ca: readFileSync(o.etcdCafile),
        ...(o.etcdCertfile ? { cert: readFileSync(o.etcdCertfile), key: readFileSync(o.etcdKeyfile) } : {}),
      };
    } catch (err) {
      flagError('--etcd-cafile', (err as Error).message);
    }
  }
  let kubeletClient: ApiserverConfig['kubeletClient'];
  if (o.kubeletClientCertificate || o.kubeletClientKey) {
    if (!o.kubeletClientCertificate || !o.kubeletClientKey)
      flagError('--kubelet-client-certificate', 'needs --kubelet-client-key too, and the other way round');
    try {
      kubeletClient = {
        cert: readFileSync(o.kubeletClientCertificate),
        key: readFileSync(o.kubeletClientKey),
        ca: o.kubeletCertificateAuthority ? readFileSync(o.kubeletCertificateAuthority) : undefined,
      };
    } catch (err) {
      flagError('--kubelet-client-certificate', (err as Error).message);
    }
  } else if (o.kubeletCertificateAuthority)
    flagError(
      '--kubelet-certificate-authority',
      'needs --kubelet-client-certificate and --kubelet-client-key',
    );
  const aggregation = aggregationConfig(o);
  let encryption: ApiserverConfig['encryption'];
  if (o.encryptionProviderConfig) {
    try {
      encryption = readEncryptionConfig(o.encryptionProviderConfig);
    } catch (err) {
      flagError('--encryption-provider-config', `${o.encryptionProviderConfig}: ${(err as Error).message}`);
    }
  }
  return {
    etcdServers,
    etcdTLS,
    encryption,
    auditLogPath: o.auditLogPath,
    serviceAccountTokens,
    bindAddress: o.bindAddress,
    port,
    tls,
    kubeletClient,
    aggregation,
    insecurePort,
    authn,
    authorizationModes: modes,
    serviceClusterIPRange: o.serviceClusterIpRange,
    serviceNodePortRange: o.serviceNodePortRange,
    advertiseAddress: advertiseAddress(o.advertiseAddress, o.bindAddress),
    watchCacheSize: cacheSize,
    compactionIntervalMs: parseDuration('--etcd-compaction-interval', o.etcdCompactionInterval),
    bookmarkIntervalMs: Math.max(100, parseDuration('--watch-bookmark-interval', o.watchBookmarkInterval)),
    maxWatches: count('--max-watches', o.maxWatches),
    maxWatchesPerUser: count('--max-watches-per-user', o.maxWatchesPerUser),
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('apiserver', program.opts().logLevel);
  const server = buildApiserver(config, logger);
  const running = await server.start(signal);
  logger.info(
    { address: config.bindAddress, port: config.port, etcd: config.etcdServers },
    'apiserver serving',
  );
  await running.done;
  logger.info('apiserver stopped');
});
