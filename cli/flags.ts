/**
 * What several commands read from the user the same way, with kubectl's
 * meaning: `--dry-run`, `--port`, repeated flags, and YAML (or JSON) typed
 * in a flag or an editor.
 */
import { parse as parseYaml } from 'yaml';
import { CliError } from './context.js';

/** `--dry-run`: none (the default) or server; kubectl's client mode is not offered. */
export function serverDryRun(mode: string | undefined): boolean {
  if (mode === undefined || mode === 'none') return false;
  if (mode === 'server') return true;
  throw new CliError(`invalid --dry-run "${mode}": use server (check on the server, change nothing) or none`);
}

/** What kubectl appends to its output line under `--dry-run=server`. */
export const dryRunSuffix = (dryRun: boolean) => (dryRun ? ' (server dry run)' : '');

/** `--port` and its kin: a port number 1-65535. */
export function parsePort(text: string, flag = '--port'): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new CliError(`invalid ${flag} "${text}": a port number is 1-65535`);
  return n;
}

/** Commander's collector for a flag that may be given many times (`--env A=1 --env B=2`). */
export const repeatable = (value: string, all: string[] = []): string[] => [...all, value];

/** Parses YAML or JSON; a syntax error throws with its first line only, without the code frame. */
export function parseYamlText(text: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    throw new Error((e as Error).message.split('\n')[0].replace(/:$/, ''));
  }
}
