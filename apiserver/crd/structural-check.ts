/**
 * Whether a CRD version's openAPIV3Schema is acceptable, in Kubernetes'
 * order: the schema compiles within the limits, the rules of a structural
 * schema (structural-invariants.ts, sorted by text as Kubernetes sorts them),
 * valid, pruned defaults once it is structural (structural-defaults.ts) and
 * the allowed fields (structural-allowed.ts). Paths are under the caller's,
 * e.g. `spec.versions[0].schema.openAPIV3Schema`.
 */
import { own } from '../../api/plain.js';
import { type FieldError, formatFieldError } from '../../api/status.js';
import { child, forbiddenError, requiredError } from '../../api/validation.js';
import { allowed } from './structural-allowed.js';
import { compileNode, SchemaTooComplexError } from './structural-compile.js';
import { defaults } from './structural-defaults.js';
import { completeness, invariants } from './structural-invariants.js';
import { obj } from './structural-values.js';

export function checkStructural(schema: unknown, path: string): FieldError[] {
  const s = obj(schema);
  if (!s) return [requiredError(path, '')];
  try {
    compileNode(s, 0, { nodes: 0 }, true);
  } catch (e) {
    if (e instanceof SchemaTooComplexError) return [forbiddenError(path, e.message)];
    throw e;
  }
  const errs: FieldError[] = [];
  if (own(s, 'nullable') === true)
    errs.push(forbiddenError(child(path, 'nullable'), 'nullable cannot be true at the root'));
  const structural: FieldError[] = [];
  invariants(s, 'root', path, structural);
  completeness(s, s, path, path, structural);
  structural.sort((a, b) => (formatFieldError(a) < formatFieldError(b) ? -1 : 1));
  errs.push(...structural);
  if (structural.length === 0) errs.push(...defaults(s, path));
  allowed(s, path, { root: true, defaults: true, reason: '', insideMeta: false }, errs);
  return errs;
}
