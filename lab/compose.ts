/**
 * Driving the docker-compose lab (docker-compose.yml at the repository root)
 * from TypeScript: Compose v2 (`docker compose`) where it is installed, else
 * the Python `docker-compose` 1.29, always with the lab's project name.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExecError, exec as execCommand } from '../base/exec.js';

export interface Lab {
  /** The repository root (holds docker-compose.yml). */
  repo: string;
  /** Compose project name; containers and volumes are named after it. */
  project: string;
  /** Host port of the balancer (127.0.0.1). */
  port: number;
  /** HOME given to Compose: the kubeconfig service writes $HOME/.kube/config. */
  home?: string;
  /** The lab network's subnet (default 172.29.0.0/24). */
  subnet?: string;
  /** Extra compose files after docker-compose.yml (the privileged form). */
  extraFiles?: string[];
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return execCommand(cmd, args, {
    replaceEnv: opts.env ?? process.env,
    timeoutMs: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 << 20,
  }).then(
    (r) => ({ code: 0, ...r }),
    (err) => {
      if (!(err instanceof ExecError)) throw err;
      const code = typeof err.code === 'number' ? err.code : 1;
      return { code, stdout: err.stdout, stderr: err.stderr || err.reason };
    },
  );
}

/** Runs and returns stdout; a non-zero exit throws with the command's own words. */
export async function must(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const said = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${said}`);
  }
  return r.stdout;
}

let composeCmd: Promise<string[]> | undefined;

/** `docker compose` (v2) when the plugin answers, else `docker-compose`; throws when neither is there. */
export function composeCommand(): Promise<string[]> {
  composeCmd ??= (async () => {
    if ((await run('docker', ['compose', 'version'], { timeoutMs: 20_000 })).code === 0)
      return ['docker', 'compose'];
    if ((await run('docker-compose', ['version'], { timeoutMs: 20_000 })).code === 0)
      return ['docker-compose'];
    throw new Error(
      'neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose, or bash deploy/setup.sh --with-docker)',
    );
  })();
  return composeCmd;
}

export function labEnv(lab: Lab): NodeJS.ProcessEnv {
  return {
    ...process.env,
    COMPOSE_PROJECT_NAME: lab.project,
    NANOKUBE_LAB_PORT: String(lab.port),
    ...(lab.home ? { HOME: lab.home } : {}),
    ...(lab.subnet ? { NANOKUBE_LAB_SUBNET: lab.subnet } : {}),
  };
}

/** Runs one Compose command on the lab; throws on failure. */
export async function compose(lab: Lab, args: string[], timeoutMs = 600_000): Promise<string> {
  const [cmd, ...pre] = await composeCommand();
  const file = join(lab.repo, 'docker-compose.yml');
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  const files = [file, ...(lab.extraFiles ?? [])].flatMap((f) => ['-f', f]);
  return must(cmd, [...pre, ...files, '-p', lab.project, ...args], { env: labEnv(lab), timeoutMs });
}

/** The container ID of a service (its only container), or '' when it has none. */
export async function containerOf(lab: Lab, service: string): Promise<string> {
  return (await compose(lab, ['ps', '-q', service], 60_000)).trim().split('\n')[0] ?? '';
}

/** Docker's word for a container's state: running, exited, ... ('' when it is gone). */
export async function containerState(id: string): Promise<string> {
  const r = await run('docker', ['inspect', '-f', '{{.State.Status}}', id], { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.trim() : '';
}

/** Runs a command inside a lab container. */
export async function exec(lab: Lab, service: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const id = await containerOf(lab, service);
  if (!id) throw new Error(`the lab has no ${service} container`);
  return must('docker', ['exec', id, ...args], { timeoutMs });
}
