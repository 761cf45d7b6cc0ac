/**
 * The EncryptionConfiguration file (apiserver.config.k8s.io/v1) that `nkctl
 * up` and `nkctl install` write for the apiserver's
 * --encryption-provider-config; the apiserver reads it
 * (apiserver/encryption.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';

/**
 * The text of an EncryptionConfiguration that encrypts Secrets with AES-GCM
 * under `keys` (the first writes, all read), with identity after them so
 * data written before encryption is still read.
 */
export function encryptionConfigYaml(keys: { name: string; secret: string }[]): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '- resources: [secrets]',
    '  providers:',
    '  - aesgcm:',
    '      keys:',
    ...keys.map((k) => `      - { name: ${k.name}, secret: ${k.secret} }`),
    '  - identity: {}',
    '',
  ].join('\n');
}

/** `file` (mode 0600) with one new random AES-256 key, `key1`, unless it is there already. */
export function ensureEncryptionConfig(file: string): void {
  if (existsSync(file)) return;
  writeFileSync(file, encryptionConfigYaml([{ name: 'key1', secret: randomBytes(32).toString('base64') }]), {
    mode: 0o600,
  });
}
