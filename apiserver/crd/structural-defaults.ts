/**
 * The defaults of a CRD schema (apiextensions-apiserver
 * schema/defaulting/validation.go ValidateDefaults): each `default` outside
 * resource metadata validates against its own schema and is already pruned.
 */
import { own } from '../../api/plain.js';
import type { FieldError } from '../../api/status.js';
import { child, invalidError, key } from '../../api/validation.js';
import { compileNode } from './structural-compile.js';
import type { Found, SchemaNode } from './structural-node.js';
import { prune } from './structural-prune.js';
import { deepCopy, deepEqual, obj, type Raw } from './structural-values.js';

/** The errors of every default in s (at path) that fails its schema or carries unknown fields. */
export function defaults(s: Raw, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (n: Raw, p: string, insideMeta: boolean, isRoot: boolean) => {
    const d = own(n, 'default');
    if (d !== undefined && d !== null && !insideMeta) {
      const node = compileNode(n, 0, { nodes: 0 }, true);
      const embedded = own(n, 'x-kubernetes-embedded-resource') === true;
      if (!deepEqual(prunedCopy(node, d, embedded), d))
        errs.push(invalidError(child(p, 'default'), d, 'must not have unknown fields'));
      const f: Found = { base: child(p, 'default'), schema: [], embedded: [], lists: [] };
      node.validate(d, '', '', f);
      errs.push(...(f.embedded.length ? f.embedded : f.schema));
    }
    const items = obj(own(n, 'items'));
    if (items) walk(items, child(p, 'items'), insideMeta, false);
    const embedded = isRoot || own(n, 'x-kubernetes-embedded-resource') === true;
    for (const [k, v] of Object.entries(obj(own(n, 'properties')) ?? {})) {
      const meta = insideMeta || (embedded && ['metadata', 'apiVersion', 'kind'].includes(k));
      if (obj(v)) walk(obj(v)!, key(child(p, 'properties'), k), meta, false);
    }
  };
  walk(s, path, false, true);
  return errs;
}

/** pruning.Prune(copy, s, isResourceRoot = s.XEmbeddedResource). */
function prunedCopy(node: SchemaNode, value: unknown, embedded: boolean): unknown {
  const copy = deepCopy(value);
  prune(copy, node, '', [], embedded, 0);
  return copy;
}
