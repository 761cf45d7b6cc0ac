/**
 * Encryption at rest, as Kubernetes' --encryption-provider-config does it:
 * an EncryptionConfiguration names, per resource, an ordered list of
 * providers. The first one encrypts every write; each of them may decrypt a
 * read, so a new key goes first and the old one stays until every object
 * has been rewritten. Values are stored as
 * `k8s:enc:aesgcm:v1:<key name>:` + nonce + ciphertext + tag, with the etcd
 * key as additional authenticated data (a value moved to another key does
 * not decrypt). The `identity` provider stores plain JSON and reads any
 * value without the `k8s:enc:` prefix.
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** How etcd.ts turns an object's JSON into the stored value and back. */
export interface ValueCodec {
  encode(key: string, plain: Buffer): Buffer;
  decode(key: string, stored: Buffer): Buffer;
}

export const identityCodec: ValueCodec = {
  encode: (_key, plain) => plain,
  decode: (_key, stored) => stored,
};

const encPrefix = Buffer.from('k8s:enc:');

interface Provider {
  name: string;
  encode(key: string, plain: Buffer): Buffer;
  /** The plain value, or undefined when this provider did not write it. */
  decode(key: string, stored: Buffer): Buffer | undefined;
}

/** AES-128, -192 or -256 in GCM mode, by the key's length. */
const gcm = (secret: Buffer) => `aes-${secret.length * 8}-gcm` as CipherGCMTypes;

function aesGcmProvider(keys: { name: string; secret: Buffer }[]): Provider {
  const [primary] = keys;
  return {
    name: 'aesgcm',
    encode(key, plain) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv(gcm(primary.secret), primary.secret, nonce);
      cipher.setAAD(Buffer.from(key));
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return Buffer.concat([Buffer.from(`k8s:enc:aesgcm:v1:${primary.name}:`), nonce, body]);
    },
    decode(key, stored) {
      for (const k of keys) {
        const prefix = Buffer.from(`k8s:enc:aesgcm:v1:${k.name}:`);
        if (!stored.subarray(0, prefix.length).equals(prefix)) continue;
        const rest = stored.subarray(prefix.length);
        if (rest.length < 12 + 16) throw new Error(`the value of ${key} is too short to be AES-GCM data`);
        const decipher = createDecipheriv(gcm(k.secret), k.secret, rest.subarray(0, 12));
        decipher.setAAD(Buffer.from(key));
        decipher.setAuthTag(rest.subarray(rest.length - 16));
        try {
          return Buffer.concat([decipher.update(rest.subarray(12, rest.length - 16)), decipher.final()]);
        } catch {
          throw new Error(`the value of ${key} does not decrypt with key "${k.name}"`);
        }
      }
      return undefined;
    },
  };
}

const identityProvider: Provider = {
  name: 'identity',
  encode: (_key, plain) => plain,
  decode: (_key, stored) => (stored.subarray(0, encPrefix.length).equals(encPrefix) ? undefined : stored),
};

interface ResourceRule {
  /** `secrets`, `deployments.apps`, `*.apps` or `*.*`. */
  resources: string[];
  providers: Provider[];
}

/**
 * Reads an EncryptionConfiguration (apiserver.config.k8s.io/v1). Throws a
 * plain error naming the first thing wrong.
 */
export function parseEncryptionConfig(text: string): ResourceRule[] {
  const doc = parseYaml(text) as Record<string, any> | null;
  if (doc?.kind !== 'EncryptionConfiguration')
    throw new Error('not an EncryptionConfiguration (kind: EncryptionConfiguration)');
  if (!Array.isArray(doc.resources) || doc.resources.length === 0)
    throw new Error('resources: at least one entry');
  return doc.resources.map((r: Record<string, any>, i: number) => {
    const where = `resources[${i}]`;
    if (!Array.isArray(r.resources) || r.resources.length === 0)
      throw new Error(`${where}.resources: name at least one resource`);
    if (!Array.isArray(r.providers) || r.providers.length === 0)
      throw new Error(`${where}.providers: name at least one provider`);
    const providers = r.providers.map((p: Record<string, any>, j: number) => {
      const at = `${where}.providers[${j}]`;
      const kinds = Object.keys(p ?? {});
      if (kinds.length !== 1) throw new Error(`${at}: exactly one provider per entry`);
      if (kinds[0] === 'identity') return identityProvider;
      if (kinds[0] !== 'aesgcm')
        throw new Error(`${at}: provider "${kinds[0]}" is not supported (aesgcm, identity)`);
      const keys = p.aesgcm?.keys;
      if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${at}.aesgcm.keys: at least one key`);
      return aesGcmProvider(
        keys.map((k: Record<string, any>, n: number) => {
          if (!k?.name || /:/.test(String(k.name)))
            throw new Error(`${at}.aesgcm.keys[${n}].name: required, without ":"`);
          const secret = Buffer.from(String(k.secret ?? ''), 'base64');
          if (![16, 24, 32].includes(secret.length))
            throw new Error(`${at}.aesgcm.keys[${n}].secret: must be 16, 24 or 32 bytes, base64-encoded`);
          return { name: String(k.name), secret };
        }),
      );
    });
    return { resources: r.resources.map(String), providers };
  });
}

/** The plural and group of an etcd key's resource, as the config names it: `secrets`, `deployments.apps`. */
function matches(pattern: string, plural: string, group: string): boolean {
  const [res, ...g] = pattern.split('.');
  const grp = g.join('.');
  if (pattern === '*.*') return true;
  if (res === '*') return grp === group;
  return res === plural && grp === group;
}

/**
 * The codec for one resource under `rules`: the providers of the first rule
 * that names it, or none (plain JSON) when no rule does.
 */
export function codecFor(rules: ResourceRule[], plural: string, group: string): ValueCodec {
  const rule = rules.find((r) => r.resources.some((p) => matches(p, plural, group)));
  if (!rule) return identityCodec;
  const [first] = rule.providers;
  return {
    encode: (key, plain) => first.encode(key, plain),
    decode(key, stored) {
      for (const p of rule.providers) {
        const plain = p.decode(key, stored);
        if (plain) return plain;
      }
      throw new Error(`no provider of the encryption config can read the value of ${key}`);
    },
  };
}

export function readEncryptionConfig(file: string): ResourceRule[] {
  return parseEncryptionConfig(readFileSync(file, 'utf8'));
}
