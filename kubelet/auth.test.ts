import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { RestClient } from '../client/rest.js';
import { certificateUser, newKubeletGate, nodeRequestAttributes, WebhookAuthorizer } from './auth.js';

const peer = (subject: object, authorized = true) => ({
  authorized,
  getPeerCertificate: () => ({ subject }),
});

const request = (url: string, socket: object, method = 'GET') =>
  ({ url, method, socket }) as unknown as http.IncomingMessage;

/** A RestClient that answers SubjectAccessReviews from a function and counts them. */
function fakeRest(allow: (spec: any) => boolean) {
  const calls: any[] = [];
  const rest = {
    async request(opts: { body: any }) {
      calls.push(opts.body.spec);
      const allowed = allow(opts.body.spec);
      return { status: { allowed, reason: allowed ? '' : 'no RBAC rule' } };
    },
  } as unknown as RestClient;
  return { rest, calls };
}

describe('kubelet authentication', () => {
  it('takes the user from a verified certificate: CN the name, O the groups', () => {
    expect(certificateUser(peer({ CN: 'system:node:a', O: 'system:nodes' }))).toEqual({
      name: 'system:node:a',
      groups: ['system:nodes', 'system:authenticated'],
    });
    expect(certificateUser(peer({ CN: 'admin', O: ['a', 'b'] }))?.groups).toEqual([
      'a',
      'b',
      'system:authenticated',
    ]);
  });

  it('has no user for an unverified certificate or a plain socket', () => {
    expect(certificateUser(peer({ CN: 'mallory' }, false))).toBeUndefined();
    expect(certificateUser({})).toBeUndefined();
  });

  it('maps paths and methods to nodes subresources and verbs', () => {
    expect(nodeRequestAttributes('GET', '/stats/summary')).toEqual({ verb: 'get', subresource: 'stats' });
    expect(nodeRequestAttributes('GET', '/containerLogs/ns/p/c')).toEqual({
      verb: 'get',
      subresource: 'proxy',
    });
    expect(nodeRequestAttributes('POST', '/exec/ns/p/c')).toEqual({ verb: 'create', subresource: 'proxy' });
    expect(nodeRequestAttributes('GET', '/pods')).toEqual({ verb: 'get', subresource: 'pods' });
    expect(nodeRequestAttributes('GET', '/healthz')).toEqual({ verb: 'get', subresource: 'healthz' });
    expect(nodeRequestAttributes('GET', '/metrics')).toEqual({ verb: 'get', subresource: 'metrics' });
  });
});

describe('kubelet gate', () => {
  it('refuses a caller without a certificate with 401, unless anonymous is allowed', async () => {
    expect(await newKubeletGate({ anonymous: false }).check(request('/pods', {}))).toEqual({
      code: 401,
      reason: 'Unauthorized',
      message: 'Unauthorized',
    });
    expect(await newKubeletGate({ anonymous: true }).check(request('/pods', {}))).toBeUndefined();
  });

  it('asks the apiserver about the node subresource, and refuses with 403 when it says no', async () => {
    const { rest, calls } = fakeRest((spec) => spec.groups.includes('system:masters'));
    const gate = newKubeletGate({
      anonymous: false,
      authorizer: new WebhookAuthorizer({ rest, node: 'n1' }),
    });
    const admin = peer({ CN: 'kube-apiserver-kubelet-client', O: 'system:masters' });
    expect(await gate.check(request('/containerLogs/default/p/c', admin))).toBeUndefined();
    expect(calls[0]).toEqual({
      user: 'kube-apiserver-kubelet-client',
      groups: ['system:masters', 'system:authenticated'],
      resourceAttributes: {
        verb: 'get',
        group: '',
        version: 'v1',
        resource: 'nodes',
        subresource: 'proxy',
        name: 'n1',
      },
    });
    const other = peer({ CN: 'system:node:n2', O: 'system:nodes' });
    expect(await gate.check(request('/stats/summary', other))).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: 'Forbidden (user=system:node:n2, verb=get, resource=nodes, subresource=stats)',
    });
  });

  it('keeps answers: allowed for 5 minutes, denied for 30 seconds', async () => {
    let now = 0;
    const { rest, calls } = fakeRest((spec) => spec.user === 'yes');
    const authz = new WebhookAuthorizer({ rest, node: 'n1', now: () => now });
    const attrs = { verb: 'get', subresource: 'proxy' };
    await authz.authorize({ name: 'yes', groups: [] }, attrs);
    await authz.authorize({ name: 'no', groups: [] }, attrs);
    now = 29_000;
    await authz.authorize({ name: 'yes', groups: [] }, attrs);
    await authz.authorize({ name: 'no', groups: [] }, attrs);
    expect(calls).toHaveLength(2);
    now = 31_000;
    expect(await authz.authorize({ name: 'no', groups: [] }, attrs)).toEqual({
      allowed: false,
      reason: 'no RBAC rule',
    });
    expect(calls).toHaveLength(3);
    now = 301_000;
    expect(await authz.authorize({ name: 'yes', groups: [] }, attrs)).toEqual({ allowed: true });
    expect(calls).toHaveLength(4);
  });
});
