/**
 * The cluster's certificates, made with the openssl command (setup installs
 * it; nothing to add to node_modules, and the files are what every
 * Kubernetes tool expects): a CA made once, and certificates it signs for
 * servers (with their SANs) and clients (CN the user, O the groups).
 * EC P-256 keys: quick to make and to use in TLS.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPaths {
  cert: string;
  key: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

const keyArgs = (key: string) => [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:prime256v1',
  '-nodes',
  '-keyout',
  key,
];

/** The CA in `dir` (ca.crt, ca.key), made if missing; valid for ten years. */
export async function ensureCA(dir: string, commonName = 'nanokube-ca'): Promise<CertPaths> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  if (existsSync(paths.cert) && existsSync(paths.key)) return paths;
  await openssl([
    'req',
    '-x509',
    ...keyArgs(paths.key),
    '-out',
    paths.cert,
    '-days',
    '3650',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return paths;
}

export interface CertRequest {
  /** File names: `<name>.crt` and `<name>.key` in the CA's folder. */
  name: string;
  commonName: string;
  /** Groups (O) for a client certificate. */
  organizations?: string[];
  /** Server names: `IP:1.2.3.4` or `DNS:name`; a server certificate when set. */
  sans?: string[];
  /** Also usable as a client certificate (a kubelet serves and calls). */
  client?: boolean;
  days?: number;
}

/** A certificate and key signed by the CA in `dir`; remade each call. */
export async function issueCert(dir: string, req: CertRequest): Promise<CertPaths> {
  const ca = await ensureCA(dir);
  const paths = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  const csr = join(dir, `${req.name}.csr`);
  const ext = join(dir, `${req.name}.ext`);
  const subject = `/CN=${req.commonName}${(req.organizations ?? []).map((o) => `/O=${o}`).join('')}`;
  await openssl(['req', ...keyArgs(paths.key), '-out', csr, '-subj', subject]);
  const usages = [
    ...(req.sans?.length ? ['serverAuth'] : []),
    ...(req.client || !req.sans?.length ? ['clientAuth'] : []),
  ];
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usages.join(',')}`,
      ...(req.sans?.length ? [`subjectAltName=${req.sans.join(',')}`] : []),
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    paths.cert,
    '-days',
    String(req.days ?? 365),
    '-extfile',
    ext,
  ]);
  return paths;
}

/** The service account signing key in `dir` (sa.key, RSA 2048, as Kubernetes uses), made if missing. */
export async function ensureServiceAccountKey(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, 'sa.key');
  if (!existsSync(key))
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  return key;
}
