/**
 * The cluster's certificates, made with the openssl command (setup installs
 * it; nothing to add to node_modules, and the files are what every
 * Kubernetes tool expects): a CA made once, and certificates it signs for
 * servers (with their SANs) and clients (CN the user, O the groups).
 * EC P-256 keys: quick to make and to use in TLS. Also certificate
 * requests, as a kubelet makes them and the controller-manager's signer
 * reads and signs them (certificates.k8s.io).
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPaths {
  cert: string;
  key: string;
}

/** Runs openssl with `input` on stdin; its stdout and stderr. */
async function openssl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  try {
    const p = run('openssl', args, { timeout: 30_000 });
    // openssl may exit before reading stdin (most commands here never read it): a
    // write to the closed pipe fails with EPIPE, which is no error of ours.
    p.child.stdin?.on('error', () => undefined);
    if (input === undefined) p.child.stdin?.end();
    else p.child.stdin?.end(input);
    return await p;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // `openssl ca` opens with a line naming its config file; the reason follows.
    const reason = (e.stderr || e.message)
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('Using configuration from'))[0];
    throw new Error(`openssl ${args[0]} failed: ${reason}`);
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
  await selfSign(paths, `/CN=${commonName}`, 3650, [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return paths;
}

/** A new key and a certificate signed by itself, with these extensions. */
async function selfSign(
  paths: CertPaths,
  subject: string,
  days: number,
  extensions: string[],
): Promise<void> {
  await openssl([
    'req',
    '-x509',
    ...keyArgs(paths.key),
    '-out',
    paths.cert,
    '-days',
    String(days),
    '-subj',
    subject,
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
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
  /** The CA that signs it; default the CA in `dir` (made if missing). */
  ca?: CertPaths;
}

/** A certificate and key signed by the CA in `dir` (or `req.ca`); remade each call. */
export async function issueCert(dir: string, req: CertRequest): Promise<CertPaths> {
  const ca = req.ca ?? (await ensureCA(dir));
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
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  return paths;
}

/**
 * etcd's files in a PKI folder, by kubeadm's names: its own CA in etcd/
 * (ca.crt, ca.key), and the certificates it signs, which are the only ones
 * etcd trusts: its serving and peer certificates, and the apiserver's client
 * certificate (apiserver-etcd-client).
 */
export function etcdPkiFiles(dir: string) {
  const pair = (name: string): CertPaths => ({
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
  });
  return {
    caDir: join(dir, 'etcd'),
    ca: pair('etcd/ca'),
    server: pair('etcd-server'),
    peer: pair('etcd-peer'),
    client: pair('apiserver-etcd-client'),
  };
}

/** The service account signing key in `dir` (sa.key, RSA 2048, as Kubernetes uses), made if missing. */
export async function ensureServiceAccountKey(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, 'sa.key');
  if (!existsSync(key))
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  return key;
}

/**
 * A self-signed serving certificate `<name>.crt`/`<name>.key` in `dir`, made
 * if missing, valid a year: what a kubelet serves with when it has none.
 */
export async function selfSignedCert(
  dir: string,
  o: { name: string; commonName: string; sans: string[] },
): Promise<CertPaths> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { cert: join(dir, `${o.name}.crt`), key: join(dir, `${o.name}.key`) };
  if (existsSync(paths.cert) && existsSync(paths.key)) return paths;
  await selfSign(paths, `/CN=${subjValue(o.commonName)}`, 365, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${o.sans.join(',')}`,
  ]);
  return paths;
}

/** Escapes a value for openssl's `-subj` (`/` separates, `+` joins, `\` escapes). */
const subjValue = (v: string) => v.replace(/[\\/+]/g, (c) => `\\${c}`);

export interface CSROptions {
  commonName: string;
  /** Groups (O), in order. */
  organizations?: string[];
  /** Subject alternative names: `DNS:name` or `IP:1.2.3.4`. */
  sans?: string[];
}

/**
 * A PEM PKCS#10 certificate request for the key in `keyFile` (an EC P-256
 * key, made with mode 0600 when the file is missing), with the subject the
 * kubelet puts in its own: O the groups, then CN.
 */
export async function makeCSR(keyFile: string, o: CSROptions): Promise<string> {
  if (!existsSync(keyFile)) {
    const { privateKey } = await promisify(generateKeyPair)('ec', {
      namedCurve: 'prime256v1',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
  }
  const subject = [
    ...(o.organizations ?? []).map((g) => `/O=${subjValue(g)}`),
    `/CN=${subjValue(o.commonName)}`,
  ];
  const sans = o.sans?.length ? ['-addext', `subjectAltName=${o.sans.join(',')}`] : [];
  const { stdout } = await openssl([
    'req',
    '-new',
    '-utf8',
    '-key',
    keyFile,
    '-subj',
    subject.join(''),
    ...sans,
  ]);
  return stdout;
}

/** What a certificate request asks for, as Kubernetes reads one (Go's x509.CertificateRequest). */
export interface CertificateRequestInfo {
  commonName?: string;
  /** O, in the order the request lists them. */
  organizations: string[];
  /** 'ECDSA', 'RSA', 'Ed25519', 'DSA', or the algorithm's OID. */
  publicKeyAlgorithm?: string;
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
}

/**
 * The subject, key algorithm and subject alternative names of a PEM
 * PKCS#10 request whose self-signature openssl verifies. Throws a clear
 * Error for anything else. The fields come from the DER itself, so a name
 * holding `, IP Address:...` cannot pass for a second name.
 */
export async function csrSubject(pem: string): Promise<CertificateRequestInfo> {
  const block = /-----BEGIN CERTIFICATE REQUEST-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE REQUEST-----/.exec(
    pem,
  );
  if (!block) throw new Error('certificate request: no PEM block of type CERTIFICATE REQUEST');
  const { stderr } = await openssl(['req', '-noout', '-verify'], `${block[0]}\n`).catch((err) => {
    throw new Error(`certificate request: ${(err as Error).message}`);
  });
  // openssl 3.0 exits 0 when the signature does not match; only its words tell.
  if (!/verify OK/.test(stderr)) throw new Error('certificate request: its signature does not verify');
  const b64 = block[0].replace(/-----[A-Z ]+-----|\s/g, '');
  try {
    return parseCertificateRequest(Buffer.from(b64, 'base64'));
  } catch (err) {
    throw new Error(`certificate request: malformed DER: ${(err as Error).message}`);
  }
}

/** One DER element: its tag, and where its contents start and end. */
interface Der {
  tag: number;
  start: number;
  end: number;
}

function derAt(buf: Buffer, pos: number, limit: number): Der {
  if (pos + 2 > limit) throw new Error('truncated');
  let len = buf[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad length');
    len = buf.readUIntBE(start, n);
    start += n;
  }
  if (start + len > limit) throw new Error('truncated');
  return { tag: buf[pos], start, end: start + len };
}

function derChildren(buf: Buffer, parent: Der, ...tags: number[]): Der[] {
  const out: Der[] = [];
  for (let pos = parent.start; pos < parent.end; pos = out[out.length - 1].end)
    out.push(derAt(buf, pos, parent.end));
  tags.forEach((t, i) => {
    if (out[i]?.tag !== t) throw new Error(`expected tag 0x${t.toString(16)} at element ${i}`);
  });
  return out;
}

function derOid(buf: Buffer, d: Der): string {
  const arcs: number[] = [];
  let v = 0;
  for (let i = d.start; i < d.end; i++) {
    v = v * 128 + (buf[i] & 0x7f);
    if (!(buf[i] & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = Math.min(2, Math.floor((arcs[0] ?? 0) / 40));
  return [first, (arcs[0] ?? 0) - 40 * first, ...arcs.slice(1)].join('.');
}

function derString(buf: Buffer, d: Der): string {
  const b = buf.subarray(d.start, d.end);
  if (d.tag === 0x0c) return b.toString('utf8'); // UTF8String
  if (d.tag === 0x1e && b.length % 2 === 0) return Buffer.from(b).swap16().toString('utf16le'); // BMPString
  return b.toString('latin1'); // PrintableString, IA5String, T61String
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length !== 16) throw new Error(`an IP address of ${b.length} bytes`);
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
  return groups.replace(/(^|:)0(:0)+(:|$)/, '::');
}

const oidCommonName = '2.5.4.3';
const oidOrganization = '2.5.4.10';
const oidExtensionRequest = '1.2.840.113549.1.9.14';
const oidSubjectAltName = '2.5.29.17';
const keyAlgorithms: Record<string, string> = {
  '1.2.840.113549.1.1.1': 'RSA',
  '1.2.840.10045.2.1': 'ECDSA',
  '1.3.101.112': 'Ed25519',
  '1.2.840.10040.4.1': 'DSA',
};

/** CertificationRequest ::= SEQUENCE { info SEQUENCE { version, subject, spki, [0] attributes }, ... } (RFC 2986). */
function parseCertificateRequest(der: Buffer): CertificateRequestInfo {
  const [info] = derChildren(der, derAt(der, 0, der.length), 0x30);
  const [, subject, spki, attributes] = derChildren(der, info, 0x02, 0x30, 0x30);
  const out: CertificateRequestInfo = {
    organizations: [],
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
  };
  for (const rdn of derChildren(der, subject))
    for (const atv of derChildren(der, rdn)) {
      const [type, value] = derChildren(der, atv, 0x06);
      const oid = derOid(der, type);
      // As Go reads a Name: every O in order, the last CN.
      if (oid === oidOrganization) out.organizations.push(derString(der, value));
      if (oid === oidCommonName) out.commonName = derString(der, value);
    }
  const [alg] = derChildren(der, spki, 0x30);
  const algOid = derOid(der, derChildren(der, alg, 0x06)[0]);
  out.publicKeyAlgorithm = keyAlgorithms[algOid] ?? algOid;
  if (attributes?.tag === 0xa0)
    for (const attr of derChildren(der, attributes)) {
      const [type, values] = derChildren(der, attr, 0x06, 0x31);
      if (derOid(der, type) !== oidExtensionRequest) continue;
      for (const exts of derChildren(der, values))
        for (const ext of derChildren(der, exts)) {
          const parts = derChildren(der, ext, 0x06);
          if (derOid(der, parts[0]) !== oidSubjectAltName) continue;
          const value = parts[parts.length - 1];
          if (value.tag !== 0x04) throw new Error('an extension value that is not an OCTET STRING');
          readGeneralNames(der, derAt(der, value.start, value.end), out);
        }
    }
  return out;
}

/** GeneralNames: the four kinds Kubernetes keeps; others are dropped, as Go drops them. */
function readGeneralNames(der: Buffer, names: Der, out: CertificateRequestInfo): void {
  for (const n of derChildren(der, names)) {
    const raw = der.subarray(n.start, n.end);
    if (n.tag === 0x81) out.emailAddresses.push(raw.toString('latin1'));
    else if (n.tag === 0x82) out.dnsNames.push(raw.toString('latin1'));
    else if (n.tag === 0x86) out.uris.push(raw.toString('latin1'));
    else if (n.tag === 0x87) out.ipAddresses.push(ipString(raw));
  }
}

/** Kubernetes' key usage names (certificates.k8s.io KeyUsage) as openssl's keyUsage and extendedKeyUsage words. */
const keyUsageNames: Record<string, string> = {
  signing: 'digitalSignature',
  'digital signature': 'digitalSignature',
  'content commitment': 'nonRepudiation',
  'key encipherment': 'keyEncipherment',
  'key agreement': 'keyAgreement',
  'data encipherment': 'dataEncipherment',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
  'encipher only': 'encipherOnly',
  'decipher only': 'decipherOnly',
};
const extKeyUsageNames: Record<string, string> = {
  any: 'anyExtendedKeyUsage',
  'server auth': 'serverAuth',
  'client auth': 'clientAuth',
  'code signing': 'codeSigning',
  'email protection': 'emailProtection',
  's/mime': 'emailProtection',
  'ipsec end system': 'ipsecEndSystem',
  'ipsec tunnel': 'ipsecTunnel',
  'ipsec user': 'ipsecUser',
  timestamping: 'timeStamping',
  'ocsp signing': 'OCSPSigning',
  'microsoft sgc': 'msSGC',
  'netscape sgc': 'nsSGC',
};

export interface SignOptions {
  /** The signing CA's certificate and key files. */
  caCert: string;
  caKey: string;
  /** A PEM PKCS#10 request: its subject and its DNS, IP, email and URI names are kept, nothing else. */
  csrPem: string;
  /** Kubernetes' usage names ('digital signature', 'client auth', ...); they alone make keyUsage and extendedKeyUsage. */
  usages: string[];
  /** The certificate's lifetime; else `days`, else a year. Cut to the CA's own notAfter. */
  expirationSeconds?: number;
  days?: number;
  now?: Date;
}

/** Kubernetes' signer backdates by 5 minutes, but keeps the full lifetime of a certificate shorter than 8 hours. */
const backdateMs = 5 * 60_000;
const shortLivedMs = 8 * 3600_000;

/** notBefore and notAfter as Kubernetes' PermissiveSigningPolicy sets them; throws when the CA has expired. */
export function certValidity(
  nowMs: number,
  ttlMs: number,
  caNotAfterMs: number,
): { notBefore: Date; notAfter: Date } {
  const notBefore = nowMs - backdateMs;
  const notAfter = Math.min(ttlMs < shortLivedMs ? nowMs + ttlMs : nowMs + ttlMs - backdateMs, caNotAfterMs);
  if (nowMs >= caNotAfterMs)
    throw new Error(`the signer has expired: NotAfter=${new Date(caNotAfterMs).toISOString()}`);
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
}

/** A Date as openssl's -startdate/-enddate want it: YYYYMMDDHHMMSSZ. */
const asn1Time = (d: Date) => `${d.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;

/** A value for an openssl config file, quoted; refuses what a config line cannot hold. */
function confValue(v: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(v))
    throw new Error(`cannot sign a name with control characters: ${JSON.stringify(v)}`);
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function extensionsFile(usages: string[], req: CertificateRequestInfo): string {
  const ku: string[] = [];
  const eku: string[] = [];
  for (const u of usages) {
    if (keyUsageNames[u]) ku.push(keyUsageNames[u]);
    else if (extKeyUsageNames[u]) eku.push(extKeyUsageNames[u]);
    else throw new Error(`unrecognized usage "${u}"`);
  }
  const sans = [
    ...req.dnsNames.map((v) => ['DNS', v]),
    ...req.ipAddresses.map((v) => ['IP', v]),
    ...req.emailAddresses.map((v) => ['email', v]),
    ...req.uris.map((v) => ['URI', v]),
  ];
  return [
    'basicConstraints = critical,CA:FALSE',
    ...(ku.length ? [`keyUsage = critical,${[...new Set(ku)].join(',')}`] : []),
    ...(eku.length ? [`extendedKeyUsage = ${[...new Set(eku)].join(',')}`] : []),
    ...(sans.length ? ['subjectAltName = @sans', '[sans]'] : []),
    ...sans.map(([kind, v], i) => `${kind}.${i + 1} = ${confValue(v)}`),
    '',
  ].join('\n');
}

/**
 * Signs a certificate request with the CA, as Kubernetes' signer does: the
 * request's subject and alternative names, keyUsage and extendedKeyUsage
 * from `usages` alone, CA:FALSE, every other requested extension dropped.
 * Uses `openssl ca` (for exact start and end times) in a temporary folder
 * it removes after.
 */
export async function signCSR(o: SignOptions): Promise<string> {
  const req = await csrSubject(o.csrPem);
  const ext = extensionsFile(o.usages, req);
  const ttlMs = (o.expirationSeconds ?? (o.days ?? 365) * 86_400) * 1000;
  const caNotAfter = Date.parse(new X509Certificate(await readFile(o.caCert)).validTo);
  const { notBefore, notAfter } = certValidity((o.now ?? new Date()).getTime(), ttlMs, caNotAfter);
  const dir = await mkdtemp(join(tmpdir(), 'nk-sign-'));
  try {
    const file = (name: string) => join(dir, name);
    await writeFile(file('ext.cnf'), ext);
    await writeFile(file('index.txt'), '');
    await writeFile(file('request.csr'), o.csrPem);
    await writeFile(
      file('ca.cnf'),
      [
        '[ca]',
        'default_ca = signer',
        '[signer]',
        `database = ${confValue(file('index.txt'))}`,
        `new_certs_dir = ${confValue(dir)}`,
        'rand_serial = yes',
        'default_md = sha256',
        'policy = keep',
        'unique_subject = no',
        'email_in_dn = no',
        '[keep]',
        '',
      ].join('\n'),
    );
    // -preserveDN keeps the requested subject whole (the empty policy would drop every field).
    await openssl([
      'ca',
      '-batch',
      '-notext',
      '-preserveDN',
      '-config',
      file('ca.cnf'),
      '-cert',
      o.caCert,
      '-keyfile',
      o.caKey,
      '-in',
      file('request.csr'),
      '-out',
      file('signed.crt'),
      '-startdate',
      asn1Time(notBefore),
      '-enddate',
      asn1Time(notAfter),
      '-extfile',
      file('ext.cnf'),
    ]);
    return await readFile(file('signed.crt'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The apiserver's client certificate for kubelets (kubectl logs, exec,
 * nodes/proxy). A user of its own, not system:masters: a node chooses the
 * address the apiserver dials with it, so it may do no more than the
 * system:kubelet-api-admin role the apiserver binds it to.
 */
export const apiserverKubeletClientCert: CertRequest = {
  name: 'apiserver-kubelet-client',
  commonName: 'kube-apiserver-kubelet-client',
};
