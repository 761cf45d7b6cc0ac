/**
 * Structural schemas of CustomResourceDefinitions: a version's
 * `openAPIV3Schema` compiled once into a validator, a defaulter and a pruner
 * with Kubernetes' semantics and error texts (k8s.io/apiextensions-apiserver
 * pkg/apiserver/schema and pkg/apiserver/validation, over kube-openapi's
 * validate package).
 *
 * Contract: compileStructural throws SchemaTooComplexError for a schema
 * deeper than maxSchemaDepth or bigger than maxSchemaNodes; checkStructural
 * reports the same as a FieldError, so a CRD that passed checkStructural
 * always compiles. The Structural is immutable and may be shared by every
 * request of the CRD version. validate never changes the object; prune and
 * applyDefaults change it in place and only through own properties (a
 * `__proto__` key is data). Walks follow the schema, so their depth is
 * bounded by the schema's; subtrees kept by x-kubernetes-preserve-unknown-fields
 * are not walked.
 */
import type { FieldError } from '../../api/status.js';
import { compileNode } from './structural-compile.js';
import type { Found } from './structural-node.js';
import { applyDefaults, markDefaults, prune, pruneNulls } from './structural-prune.js';

export { checkStructural } from './structural-check.js';
export {
  maxPatternLength,
  maxSchemaDepth,
  maxSchemaNodes,
  SchemaTooComplexError,
} from './structural-compile.js';
export { openapiV2Schema, openapiV3Schema } from './structural-openapi.js';

/** apiextensions.k8s.io/v1 JSONSchemaProps, as a CRD carries it. */
export interface JSONSchemaProps {
  id?: string;
  $schema?: string;
  $ref?: string;
  description?: string;
  type?: string;
  format?: string;
  title?: string;
  default?: unknown;
  maximum?: number;
  exclusiveMaximum?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  maxItems?: number;
  minItems?: number;
  uniqueItems?: boolean;
  multipleOf?: number;
  enum?: unknown[];
  maxProperties?: number;
  minProperties?: number;
  required?: string[];
  items?: JSONSchemaProps | JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  patternProperties?: Record<string, JSONSchemaProps>;
  dependencies?: Record<string, JSONSchemaProps | string[]>;
  additionalItems?: JSONSchemaProps | boolean;
  definitions?: Record<string, JSONSchemaProps>;
  externalDocs?: { description?: string; url?: string };
  example?: unknown;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: Array<{
    rule: string;
    message?: string;
    messageExpression?: string;
    reason?: string;
    fieldPath?: string;
    optionalOldSelf?: boolean;
  }>;
}

export interface Structural {
  /** Errors as Kubernetes reports them, field paths like spec.replicas / spec.ports[0].name. */
  validate(obj: unknown): FieldError[];
  /** Applies `default`s in place (Kubernetes' structural defaulting). */
  applyDefaults(obj: unknown): void;
  /** Drops fields the schema does not know, in place; returns their paths (for fieldValidation). */
  prune(obj: unknown): string[];
}

export function compileStructural(schema: JSONSchemaProps): Structural {
  const root = compileNode(schema, 0, { nodes: 0 }, true);
  const defaulted = markDefaults(root);
  return {
    validate(obj) {
      const f: Found = { base: '', schema: [], embedded: [], lists: [] };
      root.validate(obj, '', '', f);
      return f.embedded.length || f.lists.length ? [...f.schema, ...f.embedded, ...f.lists] : f.schema;
    },
    applyDefaults(obj) {
      if (defaulted.has(root)) applyDefaults(obj, root, defaulted);
    },
    prune(obj) {
      const dropped: string[] = [];
      prune(obj, root, '', dropped, true, 0);
      pruneNulls(obj, root, 0);
      return dropped.sort();
    },
  };
}
