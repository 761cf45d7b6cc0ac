import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertPaths, certValidity, csrSubject, ensureCA, makeCSR, signCSR } from './pki.js';

let dir: string;
let ca: CertPaths;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nk-pki-test-'));
  ca = await ensureCA(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const x509Text = (pem: string) =>
  execFileSync('openssl', ['x509', '-noout', '-text', '-nameopt', 'RFC2253'], { input: pem }).toString();

function verify(pem: string): string {
  const file = join(dir, `verify-${Math.random().toString(36).slice(2)}.crt`);
  writeFileSync(file, pem);
  return execFileSync('openssl', ['verify', '-CAfile', ca.cert, file]).toString().trim();
}

const nodeCSR = (name: string, sans?: string[]) =>
  makeCSR(join(dir, `${name}.key`), {
    commonName: `system:node:${name}`,
    organizations: ['system:nodes'],
    sans,
  });

describe('makeCSR and csrSubject', () => {
  it('makes a P-256 key readable only by its owner and a request for the subject', async () => {
    const key = join(dir, 'keys', 'n1.key');
    const pem = await makeCSR(key, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(await csrSubject(pem)).toEqual({
      commonName: 'system:node:n1',
      organizations: ['system:nodes'],
      publicKeyAlgorithm: 'ECDSA',
      dnsNames: [],
      ipAddresses: [],
      emailAddresses: [],
      uris: [],
    });
  });

  it('reuses an existing key', async () => {
    const key = join(dir, 'reused.key');
    await makeCSR(key, { commonName: 'a' });
    const before = readFileSync(key, 'utf8');
    await makeCSR(key, { commonName: 'b' });
    expect(readFileSync(key, 'utf8')).toBe(before);
  });

  it('keeps several groups in order, with characters -subj treats specially, and the SANs', async () => {
    const pem = await makeCSR(join(dir, 'odd.key'), {
      commonName: 'jane/doe+x',
      organizations: ['dev', 'a, b\\c', 'ünï'],
      sans: ['DNS:n1.example', 'IP:10.0.0.7', 'IP:fd00::1', 'email:j@example.com', 'URI:spiffe://c/n1'],
    });
    expect(await csrSubject(pem)).toMatchObject({
      commonName: 'jane/doe+x',
      organizations: ['dev', 'a, b\\c', 'ünï'],
      dnsNames: ['n1.example'],
      ipAddresses: ['10.0.0.7', 'fd00::1'],
      emailAddresses: ['j@example.com'],
      uris: ['spiffe://c/n1'],
    });
  });

  it('reads an RSA request made elsewhere', async () => {
    const pem = execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'rsa:1024',
        '-nodes',
        '-keyout',
        join(dir, 'rsa.key'),
        '-subj',
        '/CN=rsa-user',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
    expect(await csrSubject(pem)).toMatchObject({ commonName: 'rsa-user', publicKeyAlgorithm: 'RSA' });
  });

  it.each([
    { name: 'not PEM', pem: 'hello', error: /no PEM block of type CERTIFICATE REQUEST/ },
    {
      name: 'a certificate',
      pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      error: /no PEM block/,
    },
    {
      name: 'garbage inside',
      pem: '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGRlcg==\n-----END CERTIFICATE REQUEST-----\n',
      error: /^certificate request: malformed DER/,
    },
  ])('rejects $name', async ({ pem, error }) => {
    await expect(csrSubject(pem)).rejects.toThrow(error);
  });

  it('rejects a request whose signature does not match', async () => {
    const pem = await nodeCSR('tampered');
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 5] ^= 1; // inside the signature
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(csrSubject(bad)).rejects.toThrow('its signature does not verify');
  });
});

describe('signCSR', () => {
  it('signs a client certificate the CA verifies, with the subject and usages asked for', async () => {
    const now = new Date();
    const pem = await signCSR({
      caCert: ca.cert,
      caKey: ca.key,
      csrPem: await nodeCSR('n2'),
      usages: ['digital signature', 'key encipherment', 'client auth'],
      expirationSeconds: 86_400,
      now,
    });
    expect(verify(pem)).toMatch(/: OK$/);
    const text = x509Text(pem);
    expect(text).toContain('Subject: CN=system:node:n2,O=system:nodes');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).not.toContain('Subject Alternative Name');
    const cert = new X509Certificate(pem);
    const second = (d: string | Date) => Math.floor(new Date(d).getTime() / 1000);
    expect(second(cert.validFrom)).toBe(second(now) - 300);
    expect(second(cert.validTo)).toBe(second(now) + 86_400 - 300);
  });

  it('copies the SANs of a serving request and keeps a short lifetime whole', async () => {
    const now = new Date();
    const pem = await signCSR({
      caCert: ca.cert,
      caKey: ca.key,
      csrPem: await nodeCSR('n3', ['DNS:n3', 'IP:10.0.0.3']),
      usages: ['digital signature', 'server auth'],
      expirationSeconds: 3600,
      now,
    });
    const text = x509Text(pem);
    expect(text).toMatch(/Subject Alternative Name:\s+DNS:n3, IP Address:10.0.0.3/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(Math.floor(Date.parse(new X509Certificate(pem).validTo) / 1000)).toBe(
      Math.floor(now.getTime() / 1000) + 3600,
    );
  });

  it('drops extensions the request asks for that usages do not give, such as CA:TRUE', async () => {
    const pem = execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      join(dir, 'n2.key'),
      '-subj',
      '/CN=sneaky',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=keyCertSign',
    ]).toString();
    const text = x509Text(
      await signCSR({ caCert: ca.cert, caKey: ca.key, csrPem: pem, usages: ['client auth'] }),
    );
    expect(text).toMatch(/CA:FALSE/);
    expect(text).not.toContain('Certificate Sign');
  });

  it('ends no later than the CA', async () => {
    const caNotAfter = Date.parse(new X509Certificate(readFileSync(ca.cert)).validTo);
    const pem = await signCSR({
      caCert: ca.cert,
      caKey: ca.key,
      csrPem: await nodeCSR('n2'),
      usages: ['client auth'],
      days: 365,
      now: new Date(caNotAfter - 3600_000),
    });
    expect(Date.parse(new X509Certificate(pem).validTo)).toBe(caNotAfter);
  });

  it('refuses an unknown usage', async () => {
    await expect(
      signCSR({ caCert: ca.cert, caKey: ca.key, csrPem: await nodeCSR('n2'), usages: ['flying'] }),
    ).rejects.toThrow('unrecognized usage "flying"');
  });
});

describe('certValidity', () => {
  const t0 = Date.UTC(2024, 0, 1);
  const h = 3600_000;
  it.each([
    {
      name: 'long-lived: backdated at both ends',
      ttl: 24 * h,
      from: t0 - 300_000,
      to: t0 + 24 * h - 300_000,
    },
    { name: 'short-lived: the end is not backdated', ttl: 1 * h, from: t0 - 300_000, to: t0 + h },
    { name: 'cut at the CA notAfter', ttl: 1000 * h, from: t0 - 300_000, to: t0 + 100 * h },
  ])('$name', ({ ttl, from, to }) => {
    expect(certValidity(t0, ttl, t0 + 100 * h)).toEqual({
      notBefore: new Date(from),
      notAfter: new Date(to),
    });
  });

  it('refuses to sign with an expired CA', () => {
    expect(() => certValidity(t0, h, t0)).toThrow('the signer has expired');
  });
});
