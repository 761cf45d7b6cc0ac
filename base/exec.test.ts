import { describe, expect, it } from 'vitest';
import { ExecError, exec, succeeds } from './exec.js';

describe('exec', () => {
  it('returns stdout and stderr, and feeds stdin', async () => {
    expect(await exec('sh', ['-c', 'cat; echo err >&2'], { input: 'hello' })).toEqual({
      stdout: 'hello',
      stderr: 'err\n',
    });
  });

  it('adds env to the environment', async () => {
    const { stdout } = await exec('sh', ['-c', 'echo "$NK_A:$PATH"'], { env: { NK_A: 'x' } });
    expect(stdout.trim()).toBe(`x:${process.env.PATH}`);
  });

  it('rejects a failing command with its exit code, output and last stderr line', async () => {
    const err = await exec('sh', ['-c', 'echo out; echo one >&2; echo two >&2; exit 3']).catch((e) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect(err).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'one\ntwo\n', lastLine: 'two' });
    expect(err.message).toBe('sh -c echo out; echo one >&2; echo two >&2; exit 3: one\ntwo');
  });

  it('names a command that is not installed by ENOENT', async () => {
    const err = await exec('nk-no-such-command', ['x']).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', stderr: '' });
    expect(err.lastLine).toMatch(/ENOENT/);
  });

  it('does not hang on a command that reads stdin when none is given', async () => {
    expect((await exec('cat', [])).stdout).toBe('');
  });

  it.each([
    { name: 'exit 0', cmd: 'true', want: true },
    { name: 'exit 1', cmd: 'false', want: false },
    { name: 'missing', cmd: 'nk-no-such-command', want: false },
  ])('succeeds: $name', async ({ cmd, want }) => {
    expect(await succeeds(cmd, [])).toBe(want);
  });
});
