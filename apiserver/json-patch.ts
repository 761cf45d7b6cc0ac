/**
 * Patch formats: JSON merge patch (RFC 7386) and JSON patch (RFC 6902),
 * the two Kubernetes takes from evanphx/json-patch (hence the file's name).
 * Both are pure functions over plain JSON values; a bad patch is a 400
 * (malformed) or 422 (a test op or a path that does not apply), as in
 * Kubernetes. Keys are data: a path or key `__proto__` names an own
 * property, never a prototype (api/plain.ts).
 *
 * Kubernetes' limits (apiserver `endpoints/handlers/patch.go`): at most
 * 10000 operations in a JSON patch (413), and `copy` operations may add at
 * most 3 MiB in all (`JSONPatchMaxCopyBytes`, handed to json-patch as
 * `AccumulatedCopySizeLimit`; 422), so 40 copies of the whole document
 * cannot double it 40 times.
 */
import { isPlainObject as isObject, own, setOwn } from '../api/plain.js';
import { newBadRequest, newRequestEntityTooLarge, StatusError } from '../api/status.js';

export const maxJsonPatchOperations = 10_000;
export const maxJsonPatchCopyBytes = 3 * 1024 * 1024;

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(own(out, k), v));
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
    if (Array.isArray(cur)) cur = /^(0|[1-9]\d*)$/.test(t) ? cur[Number(t)] : undefined;
    else if (isObject(cur)) cur = own(cur, t);
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
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, key, false, path)] : own(parent, key);
  if (v === undefined) throw unprocessable(`jsonpatch: path "${path}" does not exist`);
  return v;
}

function removeAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw unprocessable('jsonpatch: cannot remove the whole document');
  const { parent, key } = container(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, path), 1)[0];
  if (!Object.hasOwn(parent, key)) throw unprocessable(`jsonpatch: path "${path}" does not exist`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = container(doc, tokens, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, path), 0, value);
  else setOwn(parent, key, value);
  return doc;
}

/** RFC 6902, all six operations; the document is copied, never changed in place. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw newBadRequest('json patch must be a JSON array of operations');
  if (ops.length > maxJsonPatchOperations)
    throw newRequestEntityTooLarge(
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${ops.length}`,
    );
  let out = structuredClone(doc);
  let copied = 0;
  for (const raw of ops as Op[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw newBadRequest('json patch operation must have "op" and "path"');
    }
    const { op, path } = raw;
    switch (op) {
      case 'add':
        if (!Object.hasOwn(raw, 'value')) throw newBadRequest(`json patch add at "${path}" has no value`);
        out = addAt(out, path, structuredClone(raw.value));
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'replace':
        if (!Object.hasOwn(raw, 'value')) throw newBadRequest(`json patch replace at "${path}" has no value`);
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
        const v = getAt(out, raw.from);
        copied += Buffer.byteLength(JSON.stringify(v) ?? '');
        if (copied > maxJsonPatchCopyBytes)
          throw unprocessable(
            `Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${maxJsonPatchCopyBytes}`,
          );
        out = addAt(out, path, structuredClone(v));
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
