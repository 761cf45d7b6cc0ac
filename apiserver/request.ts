/**
 * Reading a request: which resource a path names (Kubernetes' RequestInfo),
 * which representation the client accepts, and decoding the body by its
 * content type.
 */
import { parse as parseYaml } from 'yaml';
import { deeperThan, maxObjectDepth } from '../api/plain.js';
import { newBadRequest, newNotAcceptable, newUnsupportedMediaType, StatusError } from '../api/status.js';
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

/**
 * Splits what follows `/api/v1/` or `/apis/{g}/{v}/` into its parts. The
 * segments are already decoded (by parseRequestInfo, exactly once).
 */
export function parseResourcePath(segments: readonly string[]): ResourcePath | undefined {
  let parts = segments;
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
      if (parts.length > 3) return undefined;
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
      proxyPath: parts.slice(3).map(encodePathSegment).join('/'),
    };
  if (parts.length > 3) return undefined;
  return { namespace, plural: parts[0], name: parts[1], subresource: parts[2], watchPath };
}

/**
 * What a request is about, parsed once from its request target, as
 * Kubernetes' RequestInfoFactory makes it: this one result drives routing,
 * authorization, admission, audit, metrics and the kubelet proxy, so no two
 * of them can read a path differently.
 */
export interface RequestInfo {
  /** The canonical path: each segment decoded exactly once and encoded again; no empty or dot segments. */
  path: string;
  /** The canonical request target: the canonical path and the query as sent. */
  url: string;
  query: URLSearchParams;
  /** Under /api/v1 or /apis/{group}/{version} with at least a resource. */
  isResourceRequest: boolean;
  /** Kubernetes' verb: get, list, watch, create, update, patch, delete, deletecollection... */
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  /** The object's name: from the path, or for list and watch from a `metadata.name=` field selector. */
  name: string;
  /** The path as routing reads it; undefined when the path names no served form (too many segments). */
  resourcePath?: ResourcePath;
}

const methodVerbs: Record<string, string> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
  GET: 'get',
  HEAD: 'get',
};

/** Characters a path segment keeps as they are; everything else is percent-encoded. */
export function encodePathSegment(s: string): string {
  return encodeURIComponent(s).replace(/%3A/g, ':').replace(/%40/g, '@');
}

function badTarget(why: string): StatusError {
  return newBadRequest(`the request target is not valid: ${why}`);
}

/** The name a field selector pins with `metadata.name=X` (or `==`), as Kubernetes authorizes it. */
function selectorName(selector: string | null): string {
  if (!selector) return '';
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*([^=!\s]+)\s*$/.exec(term);
    if (m) return m[1];
  }
  return '';
}

/**
 * Parses a request target (`req.url` as received) once. Refuses with a 400
 * what no client sends and what could be read two ways: a fragment (`#`),
 * dot segments (`.`, `..`, also encoded), an encoded `/` or control
 * character in a segment, invalid percent-encoding, a target that is not a
 * path. Empty segments are dropped: `//pods/` is served, authorized and
 * logged as `/pods`.
 */
export function parseRequestInfo(method: string, target: string): RequestInfo {
  if (!target.startsWith('/')) throw badTarget('it must be a path starting with "/"');
  if (target.includes('#')) throw badTarget('it must not contain "#"');
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      throw badTarget(`invalid percent-encoding in "${raw.slice(0, 64)}"`);
    }
    if (s === '.' || s === '..') throw badTarget('it must not contain "." or ".." segments');
    if (s.includes('/')) throw badTarget('a path segment must not contain an encoded "/"');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
    if (/[\u0000-\u001f\u007f]/.test(s))
      throw badTarget('a path segment must not contain control characters');
    segments.push(s);
  }
  const path = `/${segments.map(encodePathSegment).join('/')}`;
  const query = new URLSearchParams(rawQuery);
  const httpVerb = methodVerbs[method.toUpperCase()] ?? method.toLowerCase();
  const info: RequestInfo = {
    path,
    url: rawQuery ? `${path}?${rawQuery}` : path,
    query,
    isResourceRequest: false,
    verb: httpVerb === 'get' ? 'get' : method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    info.apiVersion = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    info.apiGroup = segments[1];
    info.apiVersion = segments[2];
    rest = segments.slice(3);
  } else return info;
  info.isResourceRequest = true;
  let verb = httpVerb;
  let parts = rest;
  if (parts[0] === 'watch') {
    verb = 'watch';
    parts = parts.slice(1);
  }
  // Attributes as Kubernetes reads them, for every path under a version, served or not.
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1];
    if (parts.length > 2 && !namespaceSubresources.has(parts[2])) parts = parts.slice(2);
  }
  info.resource = parts[0] ?? '';
  info.name = parts[1] ?? '';
  info.subresource = parts[2] ?? '';
  info.resourcePath = parseResourcePath(rest);
  if (verb === 'get' && !info.name) {
    verb = queryBool(query.get('watch') ?? undefined) ? 'watch' : 'list';
    info.name = selectorName(query.get('fieldSelector'));
  }
  if (verb === 'delete' && !info.name) verb = 'deletecollection';
  // exec, attach and port-forward upgrade a GET; Kubernetes checks them as create.
  if (verb === 'get' && ['exec', 'attach', 'portforward'].includes(info.subresource)) verb = 'create';
  info.verb = verb;
  return info;
}

const infos = new WeakMap<object, RequestInfo | StatusError>();

/**
 * The RequestInfo of an incoming request, parsed from its target the first
 * time it is asked for (before routing) and the same object after; throws
 * the 400 of a target that cannot be parsed.
 */
export function requestInfo(req: { method?: string; url?: string }): RequestInfo {
  let info = infos.get(req);
  if (!info) {
    try {
      info = parseRequestInfo(req.method ?? 'GET', req.url ?? '/');
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      info = err;
    }
    infos.set(req, info);
  }
  if (info instanceof StatusError) throw info;
  return info;
}

/** A query as a plain map of first values, with no prototype a key could reach. */
export function queryOf(info: RequestInfo): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.create(null);
  for (const [k, v] of info.query) if (!(k in out)) out[k] = v;
  return out;
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

/** A decoded body nested past maxObjectDepth would overflow the stack of every walker after it. */
function withinDepth<T>(v: T): T {
  if (deeperThan(v, maxObjectDepth)) throw new Error(`nested deeper than ${maxObjectDepth} levels`);
  return v;
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
      return withinDepth(parseYaml(text, { prettyErrors: false }));
    }
    return withinDepth(JSON.parse(text));
  } catch (err) {
    throw newBadRequest(
      `the body of the request could not be decoded as ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
}

/**
 * A boolean query parameter (its first value) as Kubernetes decodes every
 * one of its options (Convert_Slice_string_To_bool): absent is false, `0`
 * and `false` in any case are false, and anything else is true: `True` from
 * the Python client, `1`, an empty value.
 */
export function queryBool(v: string | undefined): boolean {
  return v !== undefined && v !== '0' && v.toLowerCase() !== 'false';
}

/** Go's strconv.ParseBool: undefined for anything but its twelve spellings. */
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * Whether a JSON answer is indented, as Kubernetes' isPrettyPrint: the
 * `pretty` parameter when it has a value (parsed by strconv.ParseBool, so
 * `pretty=yes` is false), else yes for user agents that are people's tools
 * (curl, Wget, browsers).
 */
export function isPrettyPrint(query: URLSearchParams, userAgent: string | undefined): boolean {
  const pretty = query.get('pretty');
  if (pretty) return parseGoBool(pretty) ?? false;
  const ua = userAgent ?? '';
  return ua.startsWith('curl') || ua.startsWith('Wget') || ua.startsWith('Mozilla/5.0');
}

export function queryInt(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw newBadRequest(`invalid value for ${name}: "${String(v)}"`);
  return n;
}
