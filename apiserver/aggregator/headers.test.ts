import { describe, expect, it } from 'vitest';
import { headerKeyEscape, proxyHeaders } from './headers.js';

const alice = { name: 'alice', groups: ['devs', 'system:authenticated'] };

describe('proxyHeaders', () => {
  it('puts the authenticated user in the front-proxy headers, one X-Remote-Group per group', () => {
    const h = proxyHeaders({ accept: ['application/json'] }, alice);
    expect(h['x-remote-user']).toEqual(['alice']);
    expect(h['x-remote-group']).toEqual(['devs', 'system:authenticated']);
    expect(h.accept).toEqual(['application/json']);
  });

  it.each([
    { name: 'user', header: 'x-remote-user' },
    { name: 'user in another case', header: 'X-Remote-User' },
    { name: 'uid', header: 'x-remote-uid' },
    { name: 'group', header: 'x-remote-group' },
    { name: 'extra', header: 'x-remote-extra-scopes' },
    { name: 'bearer token', header: 'authorization' },
    { name: 'impersonation', header: 'impersonate-user' },
    { name: 'impersonated group', header: 'impersonate-group' },
  ])('drops what the caller sent as $name', ({ header }) => {
    const h = proxyHeaders({ [header]: ['system:masters'] }, { name: 'bob', groups: [] });
    const sent = Object.entries(h).filter(([, v]) => v.includes('system:masters'));
    expect(sent).toEqual([]);
    expect(h['x-remote-user']).toEqual(['bob']);
    expect(h['x-remote-group']).toBeUndefined();
  });

  it('drops hop-by-hop headers, those the Connection header names, and Host', () => {
    const h = proxyHeaders(
      {
        connection: ['keep-alive, x-secret'],
        'x-secret': ['1'],
        'keep-alive': ['timeout=5'],
        'transfer-encoding': ['chunked'],
        upgrade: ['websocket'],
        host: ['apiserver'],
        'content-type': ['application/json'],
      },
      alice,
    );
    expect(Object.keys(h).sort()).toEqual(['content-type', 'x-remote-group', 'x-remote-user']);
  });

  it('sends the uid and each value of each extra, keys escaped', () => {
    const h = proxyHeaders(
      {},
      { name: 'sa', uid: 'u-1', groups: [], extra: { 'a/b c': ['1', '2'], empty: [] } },
    );
    expect(h['x-remote-uid']).toEqual(['u-1']);
    expect(h['x-remote-extra-a%2Fb%20c']).toEqual(['1', '2']);
    expect(h['x-remote-extra-empty']).toBeUndefined();
  });

  it('gives no prototype key a meaning', () => {
    const h = proxyHeaders(JSON.parse('{"__proto__": ["x"], "constructor": ["y"]}'), alice);
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect(h.constructor).toEqual(['y']);
  });
});

describe('headerKeyEscape', () => {
  it.each([
    { key: 'scopes', want: 'scopes' },
    { key: 'authentication.kubernetes.io/pod-name', want: 'authentication.kubernetes.io%2Fpod-name' },
    { key: '100%', want: '100%25' },
    { key: 'ü', want: '%C3%BC' },
  ])('$key -> $want', ({ key, want }) => {
    expect(headerKeyEscape(key)).toBe(want);
  });
});
