/**
 * The cluster's certificates, made in-process (node:crypto for keys and
 * signatures, @peculiar/x509 to lay out requests and certificates; no
 * openssl binary): a CA made once, and certificates it signs for servers
 * (with their SANs) and clients (CN the user, O the groups). EC P-256 keys:
 * quick to make and to use in TLS; the service account key is RSA 2048, as
 * Kubernetes uses. Also certificate requests, as a kubelet makes them and
 * the controller-manager's signer reads and signs them (certificates.k8s.io).
 * Files are what every Kubernetes tool expects: PEM, keys PKCS#8 with mode 0600.
 */
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect
// metadata API before it loads: this import must stay first.
import 'reflect-metadata';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface CertPaths {
  cert: string;
  key: string;
}

/** A new private key, PKCS#8 PEM: EC P-256 for certificates, RSA 2048 for signing tokens. */
function newKeyPem(type: 'ec' | 'rsa'): Promise<string> {
  const encoding = {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  } as const;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _publicKey: string, privateKey: string) =>
      err ? reject(err) : resolve(privateKey);
    if (type === 'ec') generateKeyPair('ec', { namedCurve: 'prime256v1', ...encoding }, done);
    else generateKeyPair('rsa', { modulusLength: 2048, ...encoding }, done);
  });
}

/** Writes a private key readable by its owner only, making its folder (0700) if missing. */
function writeKey(file: string, pem: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, pem, { mode: 0o600 });
}

const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** A key (EC or RSA, any PEM form openssl writes) as WebCrypto keys, with SHA-256 signatures. */
interface Signer {
  keys: CryptoKeyPair;
  algorithm: Algorithm;
}

async function signerOf(keyPem: string | Buffer): Promise<Signer> {
  const key: KeyObject = createPrivateKey(keyPem);
  let importAlg: Algorithm;
  if (key.asymmetricKeyType === 'ec') {
    const curve = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new Error(`unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`);
    importAlg = { name: 'ECDSA', namedCurve: curve } as webcrypto.EcKeyImportParams;
  } else if (key.asymmetricKeyType === 'rsa') {
    importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.RsaHashedImportParams;
  } else throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  const subtle = webcrypto.subtle;
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const privateKey = (await subtle.importKey('pkcs8', pkcs8, importAlg, false, ['sign'])) as CryptoKey;
  const publicKey = (await subtle.importKey('spki', spki, importAlg, true, ['verify'])) as CryptoKey;
  const algorithm = importAlg.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : importAlg;
  return { keys: { privateKey, publicKey }, algorithm };
}

/** A random positive 160-bit serial, as openssl's rand_serial makes them. */
function randomSerial(): string {
  const b = randomBytes(20);
  b[0] = (b[0] & 0x7f) | 0x40;
  return b.toString('hex');
}

/** A Date cut to the second: certificate times have no fractions. */
const wholeSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/** A subject: each value a UTF8String in an RDN of its own, in this order. */
const subjectName = (rdns: [type: 'CN' | 'O', value: string][]): x509.Name =>
  new x509.Name(rdns.map(([type, value]) => ({ [type]: [{ utf8String: value }] })) as x509.JsonNameParams);

const generalNameTypes: Record<string, x509.GeneralNameType> = {
  DNS: 'dns',
  IP: 'ip',
  email: 'email',
  URI: 'url',
};

/** `DNS:name`, `IP:1.2.3.4`, `email:a@b`, `URI:spiffe://...` as a subjectAltName extension. */
function subjectAltName(sans: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(
    sans.map((san) => {
      const i = san.indexOf(':');
      const type = generalNameTypes[san.slice(0, i)];
      if (i < 0 || !type)
        throw new Error(`a subject alternative name is DNS:, IP:, email: or URI:, not ${san}`);
      return { type, value: san.slice(i + 1) };
    }),
  );
}

const serverAuth = '1.3.6.1.5.5.7.3.1';
const clientAuth = '1.3.6.1.5.5.7.3.2';

interface Issuer {
  cert: x509.X509Certificate;
  signer: Signer;
}

async function loadIssuer(ca: CertPaths): Promise<Issuer> {
  return {
    cert: new x509.X509Certificate(readFileSync(ca.cert, 'utf8')),
    signer: await signerOf(readFileSync(ca.key)),
  };
}

/** The authorityKeyIdentifier for certificates `issuer` signs: its own subjectKeyIdentifier. */
async function authorityKeyId(issuer: Issuer): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey);
}

/**
 * A certificate for `publicKey`, signed by `issuer` (or by itself when
 * `self` is given), with subject and authority key identifiers after
 * `extensions`, as openssl adds them.
 */
async function certificate(o: {
  subject: x509.Name;
  publicKey: CryptoKey | x509.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extensions: x509.Extension[];
  issuer?: Issuer;
  self?: Signer;
}): Promise<string> {
  const signer = o.issuer?.signer ?? o.self;
  if (!signer) throw new Error('a certificate needs an issuer');
  const publicKey =
    o.publicKey instanceof x509.PublicKey ? o.publicKey : await x509.PublicKey.create(o.publicKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  const aki = o.issuer ? await authorityKeyId(o.issuer) : new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: o.subject,
    issuer: o.issuer ? o.issuer.cert.subjectName : o.subject,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signer.algorithm,
    extensions: [...o.extensions, ski, aki],
  });
  return `${cert.toString('pem')}\n`;
}

/** A new EC key in `paths.key` and a certificate for it signed by itself. */
async function selfSign(
  paths: CertPaths,
  subject: x509.Name,
  days: number,
  extensions: x509.Extension[],
): Promise<void> {
  const keyPem = await newKeyPem('ec');
  const self = await signerOf(keyPem);
  const now = wholeSecond(Date.now());
  const pem = await certificate({
    subject,
    publicKey: self.keys.publicKey,
    notBefore: now,
    notAfter: new Date(now.getTime() + days * 86_400_000),
    extensions,
    self,
  });
  writeKey(paths.key, keyPem);
  writeFileSync(paths.cert, pem);
}

const { KeyUsageFlags: ku } = x509;

/** The CA in `dir` (`<name>.crt`, `<name>.key`: ca.crt, ca.key by default), made if missing; valid for ten years. */
export async function ensureCA(dir: string, commonName = 'nanokube-ca', name = 'ca'): Promise<CertPaths> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  if (existsSync(paths.cert) && existsSync(paths.key)) return paths;
  await selfSign(paths, subjectName([['CN', commonName]]), 3650, [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(ku.keyCertSign | ku.cRLSign | ku.digitalSignature, true),
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
  /** The CA that signs it; default the CA in `dir` (made if missing). */
  ca?: CertPaths;
}

/** A certificate and key signed by the CA in `dir` (or `req.ca`); remade each call. */
export async function issueCert(dir: string, req: CertRequest): Promise<CertPaths> {
  const issuer = await loadIssuer(req.ca ?? (await ensureCA(dir)));
  const paths = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  const keyPem = await newKeyPem('ec');
  const usages = [
    ...(req.sans?.length ? [serverAuth] : []),
    ...(req.client || !req.sans?.length ? [clientAuth] : []),
  ];
  const now = wholeSecond(Date.now());
  const pem = await certificate({
    subject: subjectName([
      ['CN', req.commonName],
      ...(req.organizations ?? []).map((o): ['O', string] => ['O', o]),
    ]),
    publicKey: (await signerOf(keyPem)).keys.publicKey,
    notBefore: now,
    notAfter: new Date(now.getTime() + (req.days ?? 365) * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(ku.digitalSignature | ku.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(req.sans?.length ? [subjectAltName(req.sans)] : []),
    ],
    issuer,
  });
  writeKey(paths.key, keyPem);
  writeFileSync(paths.cert, pem);
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
  if (!existsSync(key)) writeKey(key, await newKeyPem('rsa'));
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
  await selfSign(paths, subjectName([['CN', o.commonName]]), 365, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(ku.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([serverAuth]),
    subjectAltName(o.sans),
  ]);
  return paths;
}

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
  if (!existsSync(keyFile)) writeKey(keyFile, await newKeyPem('ec'));
  const signer = await signerOf(readFileSync(keyFile));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName([...(o.organizations ?? []).map((g): ['O', string] => ['O', g]), ['CN', o.commonName]]),
    extensions: o.sans?.length ? [subjectAltName(o.sans)] : [],
    signingAlgorithm: signer.algorithm,
    keys: signer.keys,
  });
  return `${csr.toString('pem')}\n`;
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

const keyAlgorithms: Record<string, string> = { rsa: 'RSA', ec: 'ECDSA', ed25519: 'Ed25519', dsa: 'DSA' };

/** The request in a PEM block, parsed; throws a clear Error for anything else. */
function parseRequest(pem: string): x509.Pkcs10CertificateRequest {
  const block = /-----BEGIN CERTIFICATE REQUEST-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE REQUEST-----/.exec(
    pem,
  );
  if (!block) throw new Error('certificate request: no PEM block of type CERTIFICATE REQUEST');
  try {
    return new x509.Pkcs10CertificateRequest(
      Buffer.from(block[0].replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'),
    );
  } catch (err) {
    throw new Error(`certificate request: malformed DER: ${(err as Error).message}`);
  }
}

/**
 * The subject, key algorithm and subject alternative names of a PEM
 * PKCS#10 request whose self-signature verifies. Throws a clear Error for
 * anything else. The fields come from the DER itself, so a name holding
 * `, IP Address:...` cannot pass for a second name.
 */
export async function csrSubject(pem: string): Promise<CertificateRequestInfo> {
  const csr = parseRequest(pem);
  const verified = await csr.verify().catch((err: Error) => {
    throw new Error(`certificate request: cannot check its signature: ${err.message}`);
  });
  if (!verified) throw new Error('certificate request: its signature does not verify');
  const keyType = createPublicKey({
    key: Buffer.from(csr.publicKey.rawData),
    format: 'der',
    type: 'spki',
  }).asymmetricKeyType;
  const out: CertificateRequestInfo = {
    // As Go reads a Name: every O in order, the last CN.
    commonName: csr.subjectName.getField('CN').pop(),
    organizations: csr.subjectName.getField('O'),
    publicKeyAlgorithm: keyAlgorithms[keyType ?? ''] ?? keyType,
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
  };
  if (out.commonName === undefined) delete out.commonName;
  // The four kinds of name Kubernetes keeps; others are dropped, as Go drops them.
  const kinds = { dns: out.dnsNames, ip: out.ipAddresses, email: out.emailAddresses, url: out.uris } as const;
  for (const ext of csr.extensions)
    if (ext instanceof x509.SubjectAlternativeNameExtension)
      for (const n of ext.names.items) if (n.type in kinds) kinds[n.type as keyof typeof kinds].push(n.value);
  return out;
}

/** Kubernetes' key usage names (certificates.k8s.io KeyUsage): keyUsage bits, and extendedKeyUsage OIDs. */
const keyUsageFlags: Record<string, number> = {
  signing: ku.digitalSignature,
  'digital signature': ku.digitalSignature,
  'content commitment': ku.nonRepudiation,
  'key encipherment': ku.keyEncipherment,
  'key agreement': ku.keyAgreement,
  'data encipherment': ku.dataEncipherment,
  'cert sign': ku.keyCertSign,
  'crl sign': ku.cRLSign,
  'encipher only': ku.encipherOnly,
  'decipher only': ku.decipherOnly,
};
const extKeyUsageOids: Record<string, string> = {
  any: '2.5.29.37.0',
  'server auth': serverAuth,
  'client auth': clientAuth,
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
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

function extensionsFor(usages: string[], req: CertificateRequestInfo): x509.Extension[] {
  let keyUsage = 0;
  const eku: string[] = [];
  for (const u of usages) {
    if (keyUsageFlags[u] !== undefined) keyUsage |= keyUsageFlags[u];
    else if (extKeyUsageOids[u]) eku.push(extKeyUsageOids[u]);
    else throw new Error(`unrecognized usage "${u}"`);
  }
  const sans = [
    ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...req.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ...req.emailAddresses.map((value) => ({ type: 'email' as const, value })),
    ...req.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    ...(keyUsage ? [new x509.KeyUsagesExtension(keyUsage, true)] : []),
    ...(eku.length ? [new x509.ExtendedKeyUsageExtension([...new Set(eku)])] : []),
    ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
  ];
}

/**
 * Signs a certificate request with the CA, as Kubernetes' signer does: the
 * request's subject (as it is encoded) and alternative names, keyUsage and
 * extendedKeyUsage from `usages` alone, CA:FALSE, every other requested
 * extension dropped, a random serial.
 */
export async function signCSR(o: SignOptions): Promise<string> {
  const req = await csrSubject(o.csrPem);
  const csr = parseRequest(o.csrPem);
  const extensions = extensionsFor(o.usages, req);
  const ttlMs = (o.expirationSeconds ?? (o.days ?? 365) * 86_400) * 1000;
  const issuer = await loadIssuer({ cert: o.caCert, key: o.caKey });
  const caNotAfter = Date.parse(new X509Certificate(readFileSync(o.caCert)).validTo);
  const { notBefore, notAfter } = certValidity((o.now ?? new Date()).getTime(), ttlMs, caNotAfter);
  return certificate({
    subject: csr.subjectName,
    publicKey: csr.publicKey,
    notBefore: wholeSecond(notBefore.getTime()),
    notAfter: wholeSecond(notAfter.getTime()),
    extensions,
    issuer,
  });
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

/**
 * The front-proxy files in a PKI folder, by kubeadm's names: a CA of its
 * own (front-proxy-ca.crt/key) that signs only the apiserver's front-proxy
 * client certificate (front-proxy-client, CN front-proxy-client), which
 * the apiserver shows aggregated API servers. They trust the front-proxy
 * headers of that certificate alone, so no user certificate of the cluster
 * CA can pose as the apiserver to them.
 */
export function frontProxyPkiFiles(dir: string) {
  return {
    ca: { cert: join(dir, 'front-proxy-ca.crt'), key: join(dir, 'front-proxy-ca.key') },
    client: { cert: join(dir, 'front-proxy-client.crt'), key: join(dir, 'front-proxy-client.key') },
    /** The CN aggregated servers accept (--requestheader-allowed-names). */
    allowedNames: ['front-proxy-client'],
  };
}

/**
 * The front-proxy CA and client certificate in `dir`, each made if missing
 * (the CA lives beside the cluster CA under its own file names).
 */
export async function ensureFrontProxyPki(dir: string): Promise<ReturnType<typeof frontProxyPkiFiles>> {
  const files = frontProxyPkiFiles(dir);
  await ensureCA(dir, 'front-proxy-ca', 'front-proxy-ca');
  if (!existsSync(files.client.cert) || !existsSync(files.client.key))
    await issueCert(dir, { name: 'front-proxy-client', commonName: 'front-proxy-client', ca: files.ca });
  return files;
}
