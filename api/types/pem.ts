/**
 * PEM armour, read as Go's encoding/pem reads it, for the certificates and
 * requests the API carries as bytes (CertificateSigningRequest).
 */
import { decodeBase64 } from './secret.js';

export interface PemBlock {
  type: string;
  /** Whether the block had RFC 1421 headers (`Proc-Type: ...`). */
  headers: boolean;
  bytes: Buffer;
}

const pemRe = /(?:^|\n)-----BEGIN ([^\n]*?)-----[ \t]*\r?\n([\s\S]*?)-----END \1-----/g;

/** The PEM blocks in `text`, in order, as Go's pem.Decode finds them one after another. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(pemRe)) {
    let lines = m[2].split(/\r?\n/);
    const headers = (lines[0] ?? '').includes(':');
    if (headers) lines = lines.slice(lines.indexOf('') + 1);
    const b64 = lines.join('').replace(/[ \t]/g, '');
    const bytes = decodeBase64(b64);
    if (bytes) out.push({ type: m[1], headers, bytes });
  }
  return out;
}

/** Whether `der` is one DER SEQUENCE whose length covers it exactly, as a PKCS#10 request is. */
export function isDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  let len = der[1];
  let at = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
    at += n;
  }
  return at + len === der.length;
}
