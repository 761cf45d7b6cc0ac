/**
 * OpenAPI v3, generated from the same typebox schemas that validate
 * requests: `/openapi/v3` lists one document per group-version, and each
 * document has the paths (with the query parameters kubectl checks for, such
 * as fieldValidation) and the kind schemas.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ObjectMeta } from '../api/meta.js';
import { groupVersionPath, type Registry, type ResourceType } from '../api/registry.js';
import { newNotFound } from '../api/status.js';
import { serverVersion } from './discovery.js';

/** The definition name Kubernetes publishes a kind under: `io.k8s.api.core.v1.Pod`. */
export function schemaName(rt: ResourceType): string {
  const group = rt.group === '' ? 'core' : rt.group.split('.').reverse().join('.');
  return rt.group === '' || !rt.group.includes('.')
    ? `io.k8s.api.${group}.${rt.version}.${rt.kind}`
    : `${group}.${rt.version}.${rt.kind}`;
}

const param = (name: string, description: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'query',
  description,
  schema,
  uniqueItems: true,
});
const writeParams = [
  param(
    'dryRun',
    'When present, the request is checked but nothing is persisted. The only valid value is All.',
  ),
  param('fieldManager', 'Name of the actor making the change, recorded in managedFields.'),
  param('fieldValidation', 'What to do with unknown or duplicate fields: Ignore, Warn (default) or Strict.'),
];
const listParams = [
  param('labelSelector', 'Selects objects by label.'),
  param('fieldSelector', 'Selects objects by field.'),
  param('limit', 'Maximum number of items in one page.', { type: 'integer' }),
  param('continue', 'Token from a previous page.'),
  param('resourceVersion', 'Where a list or watch starts.'),
  param('resourceVersionMatch', 'How resourceVersion applies to a list.'),
  param('watch', 'Watch for changes instead of listing.', { type: 'boolean' }),
  param('allowWatchBookmarks', 'Ask for BOOKMARK events on a watch.', { type: 'boolean' }),
  param('timeoutSeconds', 'Ends a list or watch after this many seconds.', { type: 'integer' }),
];
const pathParam = (name: string) => ({
  name,
  in: 'path',
  required: true,
  description: `the ${name}`,
  schema: { type: 'string' },
  uniqueItems: true,
});

function operations(rt: ResourceType) {
  const gvk = { group: rt.group, version: rt.version, kind: rt.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(rt)}` };
  const ok = (schema: object) => ({
    '200': { description: 'OK', content: { 'application/json': { schema } } },
  });
  const op = (action: string, id: string, extra: object) => ({
    operationId: `${id}${rt.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const body = { content: { 'application/json': { schema: ref } }, required: true };
  const patchBody = {
    content: Object.fromEntries(
      [
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
        'application/apply-patch+yaml',
      ].map((t) => [t, { schema: { type: 'object' } }]),
    ),
    required: true,
  };
  const base = groupVersionPath(rt);
  const coll = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.plural}` : `${base}/${rt.plural}`;
  const nsParams = rt.namespaced ? [pathParam('namespace')] : [];
  const paths: Record<string, object> = {
    [coll]: {
      parameters: nsParams,
      get: op('list', 'list', { parameters: listParams, responses: ok({ type: 'object' }) }),
      post: op('post', 'create', { parameters: writeParams, requestBody: body, responses: ok(ref) }),
      delete: op('deletecollection', 'deleteCollection', {
        parameters: [...listParams.slice(0, 2), param('dryRun', 'Check only.')],
        responses: ok({ type: 'object' }),
      }),
    },
    [`${coll}/{name}`]: {
      parameters: [...nsParams, pathParam('name')],
      get: op('get', 'read', { responses: ok(ref) }),
      put: op('put', 'replace', { parameters: writeParams, requestBody: body, responses: ok(ref) }),
      patch: op('patch', 'patch', {
        parameters: [
          ...writeParams,
          param('force', 'Take ownership on apply conflicts.', { type: 'boolean' }),
        ],
        requestBody: patchBody,
        responses: ok(ref),
      }),
      delete: op('delete', 'delete', {
        parameters: [
          param('gracePeriodSeconds', 'Seconds before the object is deleted.', { type: 'integer' }),
          param('propagationPolicy', 'Foreground, Background or Orphan.'),
          param('dryRun', 'Check only.'),
        ],
        responses: ok(ref),
      }),
    },
  };
  // Subresources that read and write the whole object: /status, a CSR's /approval, a pod's /ephemeralcontainers.
  for (const [sub, name] of [
    ['status', 'Status'],
    ['approval', 'Approval'],
    ['ephemeralcontainers', 'Ephemeralcontainers'],
  ]) {
    if (!rt.subresources.includes(sub)) continue;
    paths[`${coll}/{name}/${sub}`] = {
      parameters: [...nsParams, pathParam('name')],
      get: op('get', `read${name}`, { responses: ok(ref) }),
      put: op('put', `replace${name}`, { parameters: writeParams, requestBody: body, responses: ok(ref) }),
      patch: op('patch', `patch${name}`, {
        parameters: writeParams,
        requestBody: patchBody,
        responses: ok(ref),
      }),
    };
  }
  return paths;
}

function withGvk(rt: ResourceType) {
  return {
    ...(rt.openapi?.v3 ?? rt.schema),
    'x-kubernetes-group-version-kind': [{ group: rt.group, version: rt.version, kind: rt.kind }],
  };
}

/** The definition name of ObjectMeta, which custom resources' published schemas refer to. */
export const objectMetaName = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

export function openapiDocument(registry: Registry, group: string, version: string) {
  const types = registry.all.filter((r) => r.group === group && r.version === version);
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = {};
  for (const rt of types) {
    Object.assign(paths, operations(rt));
    schemas[schemaName(rt)] = withGvk(rt);
    if (rt.openapi) schemas[objectMetaName] = ObjectMeta;
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion.gitVersion },
    paths,
    components: { schemas },
  };
}

/** Every group-version's document and the index, built once per registry generation. */
function openapiView(registry: Registry) {
  const docs = new Map<string, { json: string; hash: string }>();
  for (const { group, version } of registry.groupVersions()) {
    const key = group ? `apis/${group}/${version}` : `api/${version}`;
    const json = JSON.stringify(openapiDocument(registry, group, version));
    docs.set(key, { json, hash: createHash('sha512').update(json).digest('hex').slice(0, 32) });
  }
  const index = JSON.stringify({
    paths: Object.fromEntries(
      [...docs].map(([k, d]) => [k, { serverRelativeURL: `/openapi/v3/${k}?hash=${d.hash}` }]),
    ),
  });
  return { docs, index };
}

export function registerOpenAPI(app: FastifyInstance, registry: Registry): void {
  const view = registry.derived(openapiView);
  app.get('/openapi/v3', async (_req, reply) =>
    reply.header('content-type', 'application/json').send(view().index),
  );
  app.get<{ Params: { '*': string } }>('/openapi/v3/*', async (req, reply) => {
    const d = view().docs.get(req.params['*']);
    if (!d) throw newNotFound({ group: '', resource: 'openapi' }, req.params['*']);
    return reply.header('content-type', 'application/json').header('etag', `"${d.hash}"`).send(d.json);
  });
}
