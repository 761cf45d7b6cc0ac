/**
 * Patch formats: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).
 * Both are pure functions over plain JSON values; a bad patch is a 400
 * (malformed) or 422 (a test op or a path that does not apply), as in
 * Kubernetes.
 */
import { newBadRequest, StatusError } from '../api/status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function unprocessable(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw newBadRequest(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function container(doc: unknown, tokens: string[], path: string): { parent: any; key: string } {
  let cur: any = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw unprocessable(`jsonpatch: path "${path}" does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw unprocessable(`jsonpatch: path "${path}" does not exist`);
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function arrayIndex(arr: unknown[], key: string, forAdd: boolean, path: string): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key))
    throw unprocessable(`jsonpatch: invalid array index "${key}" in "${path}"`);
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length))
    throw unprocessable(`jsonpatch: index ${i} out of bounds in "${path}"`);
  return i;
}

function getAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = container(doc, tokens, path);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, key, false, path)] : parent[key];
  if (v === undefined) throw unprocessable(`jsonpatch: path "${path}" does not exist`);
  return v;
}

function removeAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw unprocessable('jsonpatch: cannot remove the whole document');
  const { parent, key } = container(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, path), 1)[0];
  if (!(key in parent)) throw unprocessable(`jsonpatch: path "${path}" does not exist`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = container(doc, tokens, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, path), 0, value);
  else parent[key] = value;
  return doc;
}

/** RFC 6902, all six operations; the document is copied, never changed in place. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw newBadRequest('json patch must be a JSON array of operations');
  let out = structuredClone(doc);
  for (const raw of ops as Op[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw newBadRequest('json patch operation must have "op" and "path"');
    }
    const { op, path } = raw;
    switch (op) {
      case 'add':
        if (!('value' in raw)) throw newBadRequest(`json patch add at "${path}" has no value`);
        out = addAt(out, path, structuredClone(raw.value));
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'replace':
        if (!('value' in raw)) throw newBadRequest(`json patch replace at "${path}" has no value`);
        if (parsePointer(path).length === 0) out = structuredClone(raw.value);
        else {
          removeAt(out, path);
          out = addAt(out, path, structuredClone(raw.value));
        }
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw newBadRequest('json patch move needs "from"');
        const v = removeAt(out, raw.from);
        out = addAt(out, path, v);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw newBadRequest('json patch copy needs "from"');
        out = addAt(out, path, structuredClone(getAt(out, raw.from)));
        break;
      }
      case 'test': {
        const v = getAt(out, path);
        if (JSON.stringify(v) !== JSON.stringify(raw.value)) {
          throw unprocessable(`jsonpatch: test operation for path "${path}" failed`);
        }
        break;
      }
      default:
        throw newBadRequest(`json patch: unknown operation "${op}"`);
    }
  }
  return out;
}
