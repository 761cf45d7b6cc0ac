/**
 * What every REST handler shares, the object verbs (resources.ts) and the
 * subresources alike: the resource a request names, the write options it
 * reads from its query, and the answers (an object in the negotiated
 * representation, Warning headers, Success Statuses).
 */
import type { FastifyReply } from 'fastify';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { newInvalid } from '../api/status.js';
import { parseFieldValidation } from './admission.js';
import type { UserInfo } from './authn.js';
import { type Target as PatchTarget, writeOptionsKind } from './patch-handler.js';
import type { Representation, ResourcePath } from './request.js';
import type { WriteOptions } from './store.js';
import { parseIncludeObject, partialMetadata, toTable } from './table.js';

export type Query = Record<string, string | undefined>;

/** The resource a request names: its type, its store and the parsed path. */
export interface Target extends PatchTarget {
  path: ResourcePath;
}

export function sendObject(
  reply: FastifyReply,
  rt: ResourceType,
  obj: KubeObject,
  rep: Representation,
  query: Query,
  code = 200,
) {
  reply.code(code);
  if (rep.as === 'Table') {
    return reply.send(
      toTable(rt, [obj], {
        include: parseIncludeObject(query.includeObject),
        version: rep.version,
        resourceVersion: obj.metadata.resourceVersion,
      }),
    );
  }
  if (rep.as === 'PartialObjectMetadata') return reply.send(partialMetadata(obj, rep.version));
  if (rep.yaml) return reply.header('content-type', 'application/yaml').send(toYaml(obj));
  return reply.header('content-type', 'application/json').send(JSON.stringify(obj));
}

export function sendWarnings(reply: FastifyReply, warnings: string[]) {
  if (warnings.length > 0) {
    reply.header(
      'warning',
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  }
}

export function writeOptions(query: Query, user: UserInfo, method: string): WriteOptions {
  const dryRun = query.dryRun;
  // As Kubernetes' ValidateDryRun, in the options kind of the verb.
  if (dryRun !== undefined && dryRun !== 'All')
    throw newInvalid(writeOptionsKind(method), 'meta.k8s.io', '', [
      { type: 'FieldValueNotSupported', field: 'dryRun', value: [dryRun], detail: 'supported values: "All"' },
    ]);
  return {
    dryRun: dryRun === 'All',
    fieldValidation: parseFieldValidation(query.fieldValidation),
    warnings: [],
    user,
  };
}

/** What a create-only subresource (binding, eviction) answers: Success, naming the object. */
export function successStatus(rt: ResourceType, name: string, uid?: string) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: rt.group || undefined, kind: rt.plural, uid },
    code: 201,
  };
}
