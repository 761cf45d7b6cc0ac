/**
 * The review APIs: ask the authorizer or the authenticator a question and
 * get the answer back in the object's status; nothing is stored.
 * SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview,
 * SelfSubjectRulesReview (`kubectl auth can-i --list`) and
 * SelfSubjectReview (`kubectl auth whoami`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { newBadRequest } from '../api/status.js';
import type { UserInfo } from './authn.js';
import { type Attributes, type Authorizer, pathAttributes, type RbacAuthorizer } from './authz.js';
import type { ExtraResource } from './discovery.js';
import { decodeBody } from './request.js';

/** What discovery lists for the review APIs. */
export const reviewResources: ExtraResource[] = [
  ['authorization.k8s.io', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false],
  ['authorization.k8s.io', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', false],
  ['authorization.k8s.io', 'subjectaccessreviews', 'SubjectAccessReview', false],
  ['authorization.k8s.io', 'localsubjectaccessreviews', 'LocalSubjectAccessReview', true],
  ['authentication.k8s.io', 'selfsubjectreviews', 'SelfSubjectReview', false],
].map(([group, plural, kind, namespaced]) => ({
  group: group as string,
  version: 'v1',
  plural: plural as string,
  singular: (kind as string).toLowerCase(),
  kind: kind as string,
  namespaced: namespaced as boolean,
  verbs: ['create'],
}));

type Body = Record<string, any>;

function bodyOf(req: FastifyRequest, kind: string): Body {
  const raw = req.body as Buffer | undefined;
  const obj = raw && raw.length > 0 ? decodeBody(raw, req.headers['content-type'] || 'application/json') : {};
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    throw newBadRequest(`the body of a ${kind} must be an object`);
  return obj as Body;
}

function reviewAttributes(user: UserInfo, spec: Body, kind: string): Attributes {
  const ra = spec.resourceAttributes as Body | undefined;
  const nra = spec.nonResourceAttributes as Body | undefined;
  if (!ra && !nra)
    throw newBadRequest(
      `${kind}.spec: exactly one of nonResourceAttributes or resourceAttributes must be specified`,
    );
  if (ra)
    return {
      user,
      verb: String(ra.verb ?? ''),
      resourceRequest: true,
      apiGroup: String(ra.group ?? ''),
      apiVersion: String(ra.version ?? ''),
      resource: String(ra.resource ?? ''),
      subresource: String(ra.subresource ?? ''),
      namespace: String(ra.namespace ?? ''),
      name: String(ra.name ?? ''),
      path: '',
    };
  return pathAttributes(user, String(nra!.verb ?? ''), String(nra!.path ?? ''));
}

export interface ReviewOptions {
  authorizer: Authorizer;
  /** For rules reviews; undefined when RBAC is off (everything is allowed). */
  rbac?: RbacAuthorizer;
  userOf: (req: FastifyRequest) => UserInfo;
}

export function registerReviews(app: FastifyInstance, opts: ReviewOptions): void {
  const answer = (kind: string, group: string, body: Body, status: Body) => ({
    kind,
    apiVersion: `${group}/v1`,
    metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
    spec: body.spec ?? {},
    status,
  });
  const decide = (a: Attributes) => {
    const d = opts.authorizer.authorize(a);
    return d.allowed ? { allowed: true, reason: d.reason || undefined } : { allowed: false };
  };

  app.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', async (req, reply) => {
    const body = bodyOf(req, 'SelfSubjectAccessReview');
    const a = reviewAttributes(opts.userOf(req), body.spec ?? {}, 'SelfSubjectAccessReview');
    reply.code(201);
    return answer('SelfSubjectAccessReview', 'authorization.k8s.io', body, decide(a));
  });

  const subjectReview = (kind: string, namespace?: string) => async (req: FastifyRequest, reply: any) => {
    const body = bodyOf(req, kind);
    const spec = (body.spec ?? {}) as Body;
    if (!spec.user && !(Array.isArray(spec.groups) && spec.groups.length))
      throw newBadRequest(`${kind}.spec: at least one of user or group must be specified`);
    const user: UserInfo = { name: String(spec.user ?? ''), uid: spec.uid, groups: spec.groups ?? [] };
    const a = reviewAttributes(user, spec, kind);
    if (namespace !== undefined) {
      if (a.namespace && a.namespace !== namespace)
        throw newBadRequest(
          `${kind}.spec.resourceAttributes.namespace: must match the namespace of the request`,
        );
      a.namespace = namespace;
    }
    reply.code(201);
    return answer(kind, 'authorization.k8s.io', body, decide(a));
  };
  app.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', subjectReview('SubjectAccessReview'));
  app.post<{ Params: { ns: string } }>(
    '/apis/authorization.k8s.io/v1/namespaces/:ns/localsubjectaccessreviews',
    (req, reply) => subjectReview('LocalSubjectAccessReview', req.params.ns)(req, reply),
  );

  app.post('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', async (req, reply) => {
    const body = bodyOf(req, 'SelfSubjectRulesReview');
    const namespace = String(body.spec?.namespace ?? '');
    const rules = opts.rbac
      ? opts.rbac.rulesFor(opts.userOf(req), namespace)
      : [
          { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
          { verbs: ['*'], nonResourceURLs: ['*'] },
        ];
    reply.code(201);
    return answer('SelfSubjectRulesReview', 'authorization.k8s.io', body, {
      resourceRules: rules
        .filter((r) => !r.nonResourceURLs?.length)
        .map((r) => ({
          verbs: r.verbs,
          apiGroups: r.apiGroups ?? [],
          resources: r.resources ?? [],
          ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
        })),
      nonResourceRules: rules
        .filter((r) => r.nonResourceURLs?.length)
        .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
      incomplete: false,
    });
  });

  app.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', async (req, reply) => {
    bodyOf(req, 'SelfSubjectReview');
    const u = opts.userOf(req);
    reply.code(201);
    return {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      status: {
        userInfo: {
          username: u.name,
          ...(u.uid ? { uid: u.uid } : {}),
          groups: u.groups,
          ...(u.extra ? { extra: u.extra } : {}),
        },
      },
    };
  });
}
