// The official Python client (Debian's python3-kubernetes, importable by /usr/bin/python3
// only) against a real TLS apiserver with RBAC: every scenario of e2e/clients/expected.ts,
// run once in one Python process (e2e/clients/scenarios.py), each observation compared
// with what kubectl and @kubernetes/client-node must observe too.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, run } from '../testing/harness.js';
import { type ClientsCluster, fixturesPath, startClientsCluster } from './clients/cluster.js';
import { crud, expected, scenarioNames } from './clients/expected.js';

const python = '/usr/bin/python3';
const script = path.join(import.meta.dirname, 'clients', 'scenarios.py');
const hasClient = existsSync(python) && existsSync('/usr/lib/python3/dist-packages/kubernetes/__init__.py');
// setup.sh installs the client; in CI its absence is a failure, not a skip.
const runHere = hasClient || !!process.env.CI;

let cluster: ClientsCluster;
let results: Record<string, any>;

beforeAll(async () => {
  if (!runHere) return;
  if (!hasClient)
    throw new Error(`python3-kubernetes is missing for ${python}: bash deploy/setup.sh installs it`);
  cluster = await startClientsCluster('clients-python');
  const res = await run(python, [script, cluster.adminKubeconfig, cluster.robotKubeconfig, fixturesPath], {
    timeoutMs: 330_000,
  });
  if (res.code !== 0) throw new Error(`scenarios.py exited ${res.code}\n${res.stderr}\n${res.stdout}`);
  results = JSON.parse(res.stdout);
}, 400_000);

afterAll(async () => {
  await cleanup();
});

describe.skipIf(!runHere)('the Python client (python3-kubernetes)', () => {
  it.each(Object.keys(crud))('CRUD of %s', (key) => {
    expect(results.crud.raised).toBeUndefined();
    expect(results.crud[key]).toEqual(crud[key]);
  });

  it.each(scenarioNames)('%s', (name) => {
    expect(results[name].raised).toBeUndefined();
    expect(results[name]).toEqual(expected[name]);
  });
});
