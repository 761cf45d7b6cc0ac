/**
 * The one way our code runs a command and waits for it: no shell, stdout
 * and stderr collected as text, optional stdin. A command that cannot
 * start or exits non-zero rejects with an ExecError that keeps what it
 * wrote, so each caller words its own message (or reads the output a
 * failing command still gave, as `systemctl is-system-running` does).
 * Long-running children that are supervised (cli/launcher.ts) are spawned
 * there, not here.
 */
import { execFile } from 'node:child_process';

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Added to this process's environment; `replaceEnv` gives the whole environment instead. */
  env?: Record<string, string>;
  replaceEnv?: NodeJS.ProcessEnv;
  /** Killed (SIGTERM) after this long; none by default. */
  timeoutMs?: number;
  /** Largest stdout or stderr kept; 256 MiB by default (iptables-save of a large cluster). */
  maxBuffer?: number;
}

export interface ExecOutput {
  stdout: string;
  stderr: string;
}

/**
 * A command that did not succeed. `code` is its exit code, or Node's errno
 * string (`ENOENT`: not installed) when it did not start; its message is
 * `cmd args: <stderr, or Node's reason>`.
 */
export class ExecError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly code: number | string | undefined,
    readonly stdout: string,
    readonly stderr: string,
    readonly reason: string,
  ) {
    super(`${cmd} ${args.join(' ')}: ${stderr.trim() || reason}`);
  }

  /** The last line the command wrote to stderr, else Node's reason. */
  get lastLine(): string {
    return this.stderr.trim().split('\n').pop() || this.reason;
  }
}

/** Runs `cmd` with `args` to its end; its output, or an ExecError. */
export function exec(cmd: string, args: readonly string[], o: ExecOptions = {}): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        env: o.replaceEnv ?? (o.env ? { ...process.env, ...o.env } : process.env),
        maxBuffer: o.maxBuffer ?? 256 << 20,
        ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}),
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const code = (err as { code?: number | string }).code;
        reject(new ExecError(cmd, args, code ?? undefined, String(stdout), String(stderr), err.message));
      },
    );
    // A command may exit before reading its stdin: the write then fails with EPIPE, which is no error of ours.
    child.stdin?.on('error', () => undefined);
    if (o.input !== undefined) child.stdin?.end(o.input);
    else child.stdin?.end();
  });
}

/** Whether `cmd args` runs and exits 0 (`conntrack --version`: is it installed). */
export const succeeds = (cmd: string, args: readonly string[], o: ExecOptions = {}): Promise<boolean> =>
  exec(cmd, args, o).then(
    () => true,
    () => false,
  );
