/**
 * What every component's main.ts shares: flag errors that name the flag and
 * exit 2, boolean flags as pflag takes them, Go-style durations, a logger
 * (JSON, or pretty on a terminal), and an AbortSignal tied to SIGINT/SIGTERM.
 */
import { type Command, Option } from 'commander';
import { type Logger, pino } from 'pino';

export class FlagError extends Error {}

/** Prints one line naming the bad flag and exits 2, as DESIGN.md asks. */
export function flagError(flag: string, why: string): never {
  throw new FlagError(`invalid value for ${flag}: ${why}`);
}

/** Go's strconv.ParseBool: the spellings pflag takes as a boolean flag's value. */
export function parseBool(flag: string, text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return flagError(flag, `"${text}" is not a boolean (true, false, 1, 0, t, f)`);
}

/**
 * A boolean flag as pflag declares it, the one way every component declares
 * one: `--flag` alone is true, `--flag=false` (or any ParseBool spelling)
 * sets it, and without the flag its value is `defaultValue` (undefined when
 * none is given, so a caller can tell "not given" apart). One leniency:
 * commander also reads `--flag false` as false, where pflag would take
 * `false` for an argument and the component would refuse it.
 */
export function boolFlag(flag: `--${string}`, description: string, defaultValue?: boolean): Option {
  const option = new Option(`${flag} [bool]`, description).argParser((v: string) => parseBool(flag, v));
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** Parses "300ms", "10s", "5m", "1h30m", "0". */
export function parseDuration(flag: string, text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0)
    flagError(flag, `"${text}" is not a duration (like 30s, 5m, 1h)`);
  return total;
}

export function parsePort(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) flagError(flag, `"${text}" is not a port number (0-65535)`);
  return n;
}

export function makeLogger(component: string, level = 'info'): Logger {
  const pretty = process.stdout.isTTY && !process.env.CI;
  return pino({
    name: component,
    level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}

/**
 * Parses flags with commander, then runs the component until SIGINT/SIGTERM.
 * Exit codes: 0 after a clean stop, 1 if `run` failed, 2 for bad flags.
 */
export async function runComponent<C>(
  program: Command,
  argv: string[],
  toConfig: (opts: Record<string, any>) => C,
  run: (config: C, ctx: { signal: AbortSignal }) => Promise<void>,
): Promise<void> {
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n')[0] + '\n') });
  let config: C;
  try {
    program.parse(argv);
    config = toConfig(program.opts());
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    if (err instanceof FlagError) process.stderr.write(`${program.name()}: ${err.message}\n`);
    process.exit(2);
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await run(config, { signal: ac.signal });
    process.exitCode = 0;
  } catch (err) {
    process.stderr.write(`${program.name()}: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
