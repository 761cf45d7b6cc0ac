/**
 * How a joining machine comes to trust the cluster, as kubeadm join does:
 *
 * - The CA: read without credentials from the ConfigMap
 *   kube-public/cluster-info (a kubeconfig with the CA and the apiservers),
 *   over TLS that is not yet verified, then accepted only when the SHA-256 of
 *   its public key (SubjectPublicKeyInfo) is the `--ca-cert-hash` the join
 *   command carries. Nothing secret is sent before that check.
 * - A joining master also needs what every master shares (the CA key, the
 *   service account key, the encryption key): the first master keeps them in
 *   the Secret kube-system/nanokube-certs, encrypted with AES-256-GCM under
 *   the `--certificate-key` of its master join command (kubeadm's
 *   upload-certs), readable with a bootstrap token.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, X509Certificate } from 'node:crypto';
import https from 'node:https';
import { parse as parseYaml } from 'yaml';

export const clusterInfoPath = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
export const certsSecretName = 'nanokube-certs';

/** `sha256:<hex>` of a CA certificate's public key, as kubeadm's --discovery-token-ca-cert-hash. */
export function caCertHash(pem: string | Buffer): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export interface ClusterInfo {
  caPem: string;
  servers: string[];
}

/** The CA and apiservers in cluster-info's kubeconfig text. */
export function parseClusterInfo(kubeconfig: string): ClusterInfo {
  const doc = parseYaml(kubeconfig) as {
    clusters?: {
      cluster?: {
        server?: string;
        'certificate-authority-data'?: string;
        extensions?: { name: string; extension?: { servers?: string[] } }[];
      };
    }[];
  };
  const c = doc?.clusters?.[0]?.cluster;
  if (!c?.server || !c['certificate-authority-data']) throw new Error('cluster-info has no server or CA');
  const extra = c.extensions?.find((e) => e.name === 'nanokube.io/servers')?.extension?.servers ?? [];
  return {
    caPem: Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8'),
    servers: [...new Set([c.server, ...extra])],
  };
}

/**
 * Reads cluster-info from `server` without credentials and checks its CA
 * against `expectedHash`; throws a one-line reason when anything is off.
 */
export async function discoverCluster(server: string, expectedHash: string): Promise<ClusterInfo> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      new URL(clusterInfoPath, server),
      // Not verified yet: the hash below is what makes the answer trusted.
      { rejectUnauthorized: false, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(text)
            : reject(new Error(`${server} answered ${res.statusCode} for cluster-info`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${server} did not answer within 10s`)));
    req.on('error', (err) => reject(new Error(`cannot reach ${server}: ${err.message}`)));
  });
  const cm = JSON.parse(body) as { data?: { kubeconfig?: string } };
  if (!cm.data?.kubeconfig) throw new Error('cluster-info has no kubeconfig');
  const info = parseClusterInfo(cm.data.kubeconfig);
  const got = caCertHash(info.caPem);
  if (got !== expectedHash.toLowerCase())
    throw new Error(`the cluster's CA has hash ${got}, not ${expectedHash}: refusing to trust it`);
  return info;
}

/** A random certificate key: 32 bytes, hex. */
export const randomCertificateKey = () => randomBytes(32).toString('hex');

function keyOf(certificateKey: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(certificateKey)) throw new Error('a certificate key is 64 hex digits');
  return Buffer.from(certificateKey, 'hex');
}

/** Encrypts files (name → content) under the certificate key: nonce, tag and ciphertext, base64. */
export function sealFiles(files: Record<string, Buffer>, certificateKey: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(certificateKey), nonce);
  const plain = Buffer.from(
    JSON.stringify(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.toString('base64')]))),
  );
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), sealed]).toString('base64');
}

/** The files sealFiles sealed; throws when the key is wrong or the data was changed. */
export function openFiles(sealed: string, certificateKey: string): Record<string, Buffer> {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', keyOf(certificateKey), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  } catch {
    throw new Error('the certificate key does not open the cluster certificates (wrong key?)');
  }
  const files = JSON.parse(plain.toString('utf8')) as Record<string, string>;
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}
