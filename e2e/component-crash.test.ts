// The policy for an error no code caught, in every component (cli/component.ts
// exitOnUncaught): a real component process whose event loop meets an exception
// thrown from a callback, or a promise rejection no one handles, writes one line
// saying why (pino's JSON, fatal level) and exits 1, for its supervisor to restart.
// The fault is put in with Node's --import, since no request can cause one (that
// would be a bug of its own).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../testing/harness.js';

// Every component's main.ts runs under runComponent, which sets the policy; the scheduler stands for them.
const scheduler = [
  path.resolve('dist/scheduler/main.js'),
  ...['--master', 'http://127.0.0.1:1', '--leader-elect=false', '--secure-port', '0'],
];

const faults = {
  'an exception thrown from a callback': [
    'setTimeout(() => { throw new Error("boom in a callback"); }, 400);',
    'uncaught exception; exiting',
    'boom in a callback',
  ],
  'a promise rejection no one handles': [
    'setTimeout(() => { Promise.reject(new Error("boom in a promise")); }, 400);',
    'unhandled promise rejection; exiting',
    'boom in a promise',
  ],
} as const;

describe('a component meeting an error no code caught', () => {
  it.each(Object.keys(faults))('%s: one fatal line saying why, then exit 1', async (name) => {
    const [code, msg, message] = faults[name as keyof typeof faults];
    const fault = `data:text/javascript,${encodeURIComponent(code)}`;
    const r = await run(process.execPath, ['--import', fault, ...scheduler], {
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(1);
    const last = JSON.parse(r.stderr.trimEnd().split('\n').at(-1) as string);
    expect(last).toMatchObject({ level: 60, name: 'nk-scheduler', msg, err: { type: 'Error', message } });
    expect(last.err.stack).toContain(message);
  });
});
