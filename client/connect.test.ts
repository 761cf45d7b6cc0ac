import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restConfigFromFlags } from './connect.js';
import { kubeconfigYaml } from './kubeconfig.js';

describe('restConfigFromFlags', () => {
  it('takes several --master URLs', () => {
    expect(restConfigFromFlags({ master: 'http://127.0.0.1:1, http://127.0.0.1:2' }, 'ua').servers).toEqual([
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
    ]);
  });

  it('reads a kubeconfig, extra servers included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-connect-'));
    const file = join(dir, 'kc');
    writeFileSync(
      file,
      kubeconfigYaml({
        server: 'http://127.0.0.1:1',
        servers: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
        token: 't',
      }),
    );
    const cfg = restConfigFromFlags({ kubeconfig: file }, 'ua');
    expect(cfg.servers).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(cfg.token).toBe('t');
    expect(cfg.userAgent).toBe('ua');
  });

  it.each([
    { name: 'neither', flags: {}, err: /one of --kubeconfig or --master/ },
    { name: 'both', flags: { master: 'http://a', kubeconfig: '/x' }, err: /either --master or --kubeconfig/ },
  ])('refuses $name', ({ flags, err }) => {
    expect(() => restConfigFromFlags(flags, 'ua')).toThrow(err);
  });
});
