import { describe, expect, it } from 'vitest';
import { extensionAuthenticationData } from './local.js';

describe('extensionAuthenticationData', () => {
  it("writes Kubernetes' keys: CA bundles as PEM, header lists as JSON arrays", () => {
    expect(
      extensionAuthenticationData({
        clientCA: 'CLIENT-PEM',
        requestheader: {
          clientCA: 'FRONT-PROXY-PEM',
          allowedNames: ['front-proxy-client'],
          usernameHeaders: ['X-Remote-User'],
          groupHeaders: ['X-Remote-Group'],
          extraHeadersPrefix: ['X-Remote-Extra-'],
        },
      }),
    ).toEqual({
      'client-ca-file': 'CLIENT-PEM',
      'requestheader-client-ca-file': 'FRONT-PROXY-PEM',
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    });
  });

  it('leaves out what was not configured', () => {
    expect(extensionAuthenticationData({})).toEqual({});
    expect(Object.keys(extensionAuthenticationData({ clientCA: 'PEM' }))).toEqual(['client-ca-file']);
  });
});
