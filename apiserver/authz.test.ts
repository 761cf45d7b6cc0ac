import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { parseTokenFile, type UserInfo } from './authn.js';
import { newForbiddenFor, RbacAuthorizer, requestAttributes, ruleAllows } from './authz.js';
import { defaultClusterRoleBindings, defaultClusterRoles } from './rbac-bootstrap.js';

const jane: UserInfo = { name: 'jane', groups: ['system:authenticated'] };

describe('requestAttributes', () => {
  const verbOf = (method: string, url: string) => {
    const a = requestAttributes(jane, method, url);
    return [a.verb, a.resource, a.subresource, a.namespace, a.name, a.apiGroup].join('|');
  };

  it('names the verb as Kubernetes does', () => {
    expect(verbOf('GET', '/api/v1/namespaces/default/pods')).toBe('list|pods||default||');
    expect(verbOf('GET', '/api/v1/namespaces/default/pods?watch=true')).toBe('watch|pods||default||');
    expect(verbOf('GET', '/api/v1/watch/namespaces/default/pods/web')).toBe('watch|pods||default|web|');
    expect(verbOf('GET', '/api/v1/namespaces/default/pods/web')).toBe('get|pods||default|web|');
    expect(verbOf('POST', '/apis/apps/v1/namespaces/a/deployments')).toBe('create|deployments||a||apps');
    expect(verbOf('PUT', '/apis/apps/v1/namespaces/a/deployments/d/scale')).toBe(
      'update|deployments|scale|a|d|apps',
    );
    expect(verbOf('PATCH', '/api/v1/nodes/n1/status')).toBe('patch|nodes|status||n1|');
    expect(verbOf('DELETE', '/api/v1/namespaces/a/configmaps')).toBe('deletecollection|configmaps||a||');
    expect(verbOf('DELETE', '/api/v1/namespaces/a')).toBe('delete|namespaces||a|a|');
    expect(verbOf('GET', '/api/v1/namespaces/a/pods/p/exec?command=ls')).toBe('create|pods|exec|a|p|');
  });

  it('treats everything else as a non-resource path', () => {
    const a = requestAttributes(jane, 'GET', '/apis/apps/v1?x=1');
    expect(a.resourceRequest).toBe(false);
    expect(a.path).toBe('/apis/apps/v1');
    expect(requestAttributes(jane, 'GET', '/healthz').verb).toBe('get');
  });
});

describe('newForbiddenFor', () => {
  it('words the 403 as Kubernetes does', () => {
    const a = requestAttributes(jane, 'POST', '/api/v1/namespaces/default/pods');
    expect(newForbiddenFor(a, '').message).toBe(
      'pods is forbidden: User "jane" cannot create resource "pods" in API group "" in the namespace "default"',
    );
    const b = requestAttributes(jane, 'GET', '/apis/apps/v1/deployments');
    expect(newForbiddenFor(b, '').message).toBe(
      'deployments.apps is forbidden: User "jane" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
    const c = requestAttributes(jane, 'GET', '/api/v1/namespaces/x/pods/p/log');
    const err = newForbiddenFor(c, '');
    expect(err.message).toBe(
      'pods "p" is forbidden: User "jane" cannot get resource "pods/log" in API group "" in the namespace "x"',
    );
    expect(err.code).toBe(403);
    expect(newForbiddenFor(requestAttributes(jane, 'GET', '/logs'), '').message).toBe(
      'forbidden: User "jane" cannot get path "/logs"',
    );
  });
});

function source(objs: KubeObject[]) {
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  return {
    clusterRoleBindings: () => of('ClusterRoleBinding'),
    roleBindings: (ns: string) => of('RoleBinding').filter((o) => o.metadata.namespace === ns),
    clusterRole: (name: string) => of('ClusterRole').find((o) => o.metadata.name === name),
    role: (ns: string, name: string) =>
      of('Role').find((o) => o.metadata.namespace === ns && o.metadata.name === name),
  };
}

const binding = (
  kind: 'RoleBinding' | 'ClusterRoleBinding',
  name: string,
  roleKind: string,
  role: string,
  subjects: { kind: string; name: string; namespace?: string }[],
  namespace?: string,
) =>
  ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
    subjects,
  }) as KubeObject;

describe('RbacAuthorizer with the default policy', () => {
  const objs: KubeObject[] = [
    ...defaultClusterRoles(),
    ...defaultClusterRoleBindings(),
    binding('RoleBinding', 'jane-view', 'ClusterRole', 'view', [{ kind: 'User', name: 'jane' }], 'default'),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'cm-reader', namespace: 'team' },
      rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] }],
    } as KubeObject,
    binding('RoleBinding', 'bot-cm', 'Role', 'cm-reader', [{ kind: 'ServiceAccount', name: 'bot' }], 'team'),
  ];
  const rbac = new RbacAuthorizer(source(objs));
  const can = (user: UserInfo, method: string, url: string) =>
    rbac.authorize(requestAttributes(user, method, url)).allowed;

  it('lets system:masters do anything', () => {
    expect(can({ name: 'admin', groups: ['system:masters'] }, 'DELETE', '/api/v1/nodes/n')).toBe(true);
  });

  it('gives a view binding reads in its namespace only', () => {
    expect(can(jane, 'GET', '/api/v1/namespaces/default/pods')).toBe(true);
    expect(can(jane, 'GET', '/apis/apps/v1/namespaces/default/deployments/web')).toBe(true);
    expect(can(jane, 'POST', '/api/v1/namespaces/default/pods')).toBe(false);
    expect(can(jane, 'GET', '/api/v1/namespaces/other/pods')).toBe(false);
    expect(can(jane, 'GET', '/api/v1/namespaces/default/secrets')).toBe(false);
  });

  it('lets every authenticated user discover and review itself, and nobody else list', () => {
    expect(can(jane, 'GET', '/apis')).toBe(true);
    expect(can(jane, 'GET', '/apis/apps/v1')).toBe(true);
    expect(can(jane, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).toBe(true);
    expect(can({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'GET', '/apis')).toBe(false);
  });

  it('matches service accounts and resourceNames', () => {
    const bot = { name: 'system:serviceaccount:team:bot', groups: ['system:serviceaccounts'] };
    expect(can(bot, 'GET', '/api/v1/namespaces/team/configmaps/settings')).toBe(true);
    expect(can(bot, 'GET', '/api/v1/namespaces/team/configmaps/other')).toBe(false);
    expect(can(bot, 'GET', '/api/v1/namespaces/team/configmaps')).toBe(false);
  });

  it('aggregates edit and admin over view', () => {
    const roles = defaultClusterRoles();
    const rulesOf = (n: string) =>
      (roles.find((r) => r.metadata.name === n) as unknown as { rules: unknown[] }).rules;
    expect(rulesOf('edit').length).toBeGreaterThan(rulesOf('view').length);
    expect(rulesOf('admin').length).toBeGreaterThan(rulesOf('edit').length);
  });
});

describe('parseTokenFile', () => {
  it('reads token,user,uid and quoted groups', () => {
    const t = parseTokenFile('# comment\nabc,jane,u1,"dev,ops"\n\nxyz,bob,u2\n');
    expect(t.get('abc')).toEqual({ name: 'jane', uid: 'u1', groups: ['dev', 'ops'] });
    expect(t.get('xyz')).toEqual({ name: 'bob', uid: 'u2', groups: [] });
  });

  it('names the bad line', () => {
    expect(() => parseTokenFile('ok,u,1\nbroken\n', 'tokens.csv')).toThrow(/tokens.csv line 2/);
  });
});

describe('RBAC rules read only their own properties', () => {
  it('a rule without apiGroups or resources inherits none from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    const rule = { verbs: ['get'], nonResourceURLs: ['/healthz'] };
    const user: UserInfo = { name: 'mallory', groups: ['system:authenticated'] };
    const attrs = requestAttributes(user, 'GET', '/api/v1/namespaces/default/secrets/s');
    try {
      proto.apiGroups = ['*'];
      proto.resources = ['*'];
      proto.resourceNames = [];
      proto.nonResourceURLs = ['*'];
      expect(ruleAllows(rule, attrs)).toBe(false);
      expect(ruleAllows({ verbs: ['get'] } as never, requestAttributes(user, 'GET', '/healthz'))).toBe(false);
    } finally {
      delete proto.apiGroups;
      delete proto.resources;
      delete proto.resourceNames;
      delete proto.nonResourceURLs;
    }
  });
});

describe('RbacAuthorizer and pods/ephemeralcontainers', () => {
  const debugger_ = { name: 'dora', groups: ['system:authenticated'] };
  const editor = { name: 'ed', groups: ['system:authenticated'] };
  const rbac = new RbacAuthorizer(
    source([
      ...defaultClusterRoles(),
      binding('RoleBinding', 'ed-admin', 'ClusterRole', 'admin', [{ kind: 'User', name: 'ed' }], 'default'),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'debugger', namespace: 'default' },
        rules: [{ verbs: ['get', 'patch'], apiGroups: [''], resources: ['pods/ephemeralcontainers'] }],
      } as KubeObject,
      binding('RoleBinding', 'dora', 'Role', 'debugger', [{ kind: 'User', name: 'dora' }], 'default'),
    ]),
  );
  const url = '/api/v1/namespaces/default/pods/web/ephemeralcontainers';
  const can = (user: UserInfo, method: string) =>
    rbac.authorize(requestAttributes(user, method, url)).allowed;

  it('needs patch on the subresource itself, which admin and edit leave out as Kubernetes does', () => {
    expect(requestAttributes(debugger_, 'PATCH', url)).toMatchObject({
      verb: 'patch',
      subresource: 'ephemeralcontainers',
    });
    expect(can(debugger_, 'PATCH')).toBe(true);
    expect(can(debugger_, 'PUT')).toBe(false);
    expect(can(editor, 'PATCH')).toBe(false);
    expect(can(editor, 'GET')).toBe(false);
  });
});
