/**
 * Reading a request: which resource a path names (Kubernetes' RequestInfo),
 * which representation the client accepts, and decoding the body by its
 * content type.
 */
import { parse as parseYaml } from 'yaml';
import { newBadRequest, newNotAcceptable, newUnsupportedMediaType } from '../api/status.js';
import { decodeProtobuf, protobufMediaType } from './protobuf.js';

export interface ResourcePath {
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
  /** The legacy `/watch/` path prefix was used. */
  watchPath: boolean;
  /** What follows `{name}/proxy/`, for the proxy subresource. */
  proxyPath?: string;
}

const namespaceSubresources = new Set(['status', 'finalize']);

/** Splits what follows `/api/v1/` or `/apis/{g}/{v}/` into its parts. */
export function parseResourcePath(rest: string): ResourcePath | undefined {
  let parts = rest
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts = parts.slice(1);
  }
  if (parts.length === 0) return undefined;
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    if (parts.length > 2 && !namespaceSubresources.has(parts[2])) {
      parts = parts.slice(2);
    } else {
      // The namespace object itself: /namespaces/{name}[/status|/finalize]
      return { plural: 'namespaces', name: parts[1], subresource: parts[2], watchPath };
    }
  }
  if (parts.length > 3 && parts[2] === 'proxy')
    return {
      namespace,
      plural: parts[0],
      name: parts[1],
      subresource: 'proxy',
      watchPath,
      proxyPath: parts.slice(3).map(encodeURIComponent).join('/'),
    };
  if (parts.length > 3) return undefined;
  return { namespace, plural: parts[0], name: parts[1], subresource: parts[2], watchPath };
}

export type Representation =
  | { as: 'object'; yaml: boolean }
  | { as: 'Table'; version: 'v1' | 'v1beta1' }
  | { as: 'PartialObjectMetadata'; version: 'v1' | 'v1beta1' };

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part, i) => {
      const [type, ...ps] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of ps) {
        const [k, v] = p.split('=').map((s) => s.trim());
        if (k) params[k] = v ?? '';
      }
      const q = params.q ? Number(params.q) : 1;
      return { type: type.toLowerCase(), params, q: Number.isNaN(q) ? 1 : q - i * 1e-6 };
    })
    .filter((m) => m.type !== '')
    .sort((a, b) => b.q - a.q);
}

/** Picks the representation for a GET or LIST response from the Accept header. */
export function negotiate(accept: string | undefined): Representation {
  if (!accept) return { as: 'object', yaml: false };
  for (const m of parseAccept(accept)) {
    const json = m.type === 'application/json' || m.type === 'application/*' || m.type === '*/*';
    const yaml = m.type === 'application/yaml';
    if (!json && !yaml) continue;
    const as = m.params.as;
    if (!as) return { as: 'object', yaml };
    if (m.params.g !== 'meta.k8s.io') continue;
    const version = m.params.v === 'v1beta1' ? 'v1beta1' : m.params.v === 'v1' ? 'v1' : undefined;
    if (!version) continue;
    if (as === 'Table') return { as: 'Table', version };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList')
      return { as: 'PartialObjectMetadata', version };
  }
  throw newNotAcceptable('only the following media types are accepted: application/json, application/yaml');
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const patchTypes: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

export function patchTypeOf(contentType: string | undefined): PatchType {
  const t = patchTypes[mediaType(contentType)];
  if (!t) {
    throw newUnsupportedMediaType(mediaType(contentType) || '(none)');
  }
  return t;
}

/** Decodes a request body as JSON, YAML or Kubernetes protobuf by content type. */
const maxYamlFlowDepth = 256;

/**
 * How deep `[` and `{` nest in a text. Quotes are not skipped on purpose: an
 * apostrophe in a plain scalar would hide what follows, and a real manifest
 * never nests its brackets hundreds deep, not even inside its strings.
 */
export function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return max;
}

export function decodeBody(body: Buffer | undefined, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (!body || body.length === 0) throw newBadRequest('the request body is empty');
  if (type === protobufMediaType) return decodeProtobuf(body);
  const text = body.toString('utf8');
  const yaml = type === 'application/yaml' || type === 'application/apply-patch+yaml';
  const json = type === '' || type === 'application/json' || type.endsWith('+json');
  if (!yaml && !json) throw newUnsupportedMediaType(type);
  try {
    if (yaml) {
      // The yaml library exhausts memory (and kills the process) on flow collections nested a
      // few thousand deep, and fails anyway past a few hundred: refuse those before it runs.
      if (flowDepth(text) > maxYamlFlowDepth)
        throw new Error(`nested deeper than ${maxYamlFlowDepth} levels`);
      return parseYaml(text, { prettyErrors: false });
    }
    return JSON.parse(text);
  } catch (err) {
    throw newBadRequest(
      `the body of the request could not be decoded as ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
}

/** Query values are strings; these read the common ones. */
export function queryBool(v: unknown): boolean {
  return v === 'true' || v === '1' || v === '';
}

export function queryInt(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw newBadRequest(`invalid value for ${name}: "${String(v)}"`);
  return n;
}
