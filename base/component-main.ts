/**
 * What every component's main.ts shares: flag errors that name the flag and
 * exit 2, boolean flags as pflag takes them (nkctl's too), Go-style
 * durations, a logger (JSON, or pretty on a terminal), an AbortSignal
 * tied to SIGINT/SIGTERM, and the policy for errors no code caught.
 */
import { writeSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { type Logger, pino } from 'pino';

export class FlagError extends Error {}

/**
 * Throws a FlagError naming the bad flag: one line, then exit 2 from a
 * component (`runComponent`), as DESIGN.md asks; `error: ...` and exit 1
 * from nkctl, like its other bad values (cli/main.ts).
 */
export function flagError(flag: string, why: string): never {
  throw new FlagError(`invalid value for ${flag}: ${why}`);
}

/** Go's strconv.ParseBool: the spellings pflag takes as a boolean flag's value. */
export function parseBool(flag: string, text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return flagError(flag, `"${text}" is not a boolean (true, false, 1, 0, t, f)`);
}

const boolFlags = new WeakSet<Option>();

/**
 * A boolean flag as pflag declares it, the one way every component and nkctl
 * declare one: `--flag` alone is true, `--flag=false` (or any ParseBool
 * spelling; `-f=false` for a short name) sets it, and without the flag its
 * value is `defaultValue` (undefined when none is given, so a caller can tell
 * "not given" apart). `flags` is commander's: `--wait`, `-w, --watch`, or
 * `--no-headers`, whose `=true` sets `headers` false. Parse with
 * `pflagBooleans`, so that a bare flag never takes the next argument.
 */
export function boolFlag(flags: string, description: string, defaultValue?: boolean): Option {
  const option = new Option(`${flags} [bool]`, description);
  if (!option.long) throw new Error(`boolFlag ${flags}: a boolean flag needs a --long name`);
  const name = option.long;
  option.argParser((v: string) => parseBool(name, v) !== option.negate);
  boolFlags.add(option);
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** Whether `boolFlag` made this option. */
export const isBoolFlag = (option: Option): boolean => boolFlags.has(option);

/**
 * Makes `cmd` and its subcommands take boolean flags as pflag does. Left to
 * itself commander reads `--all pods` as `--all=pods`, since a `[bool]`
 * value may be the next argument; pflag takes a boolean's value only after
 * `=`. So before commander reads a command's options, each bare boolean
 * becomes `--flag=true`, and a group of short ones (`-it`) each one given.
 */
export function pflagBooleans(cmd: Command): Command {
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => parseOptions(explicitBooleans(optionsInScope(cmd, args), args));
  for (const sub of cmd.commands) pflagBooleans(sub);
  return cmd;
}

/**
 * The options `args` may give to `cmd`: those of the subcommand they name,
 * then its parents' (nearest first). A group such as `exec -in NS` mixes a
 * subcommand's `-i` with the root's `-n`; the root expands it before
 * commander splits the arguments between them.
 */
function optionsInScope(cmd: Command, args: readonly string[]): Option[] {
  const chain = [cmd];
  let current = cmd;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      const option = chain.flatMap((c) => c.options).find((o) => o.long === arg || o.short === arg);
      if (option?.required && !isBoolFlag(option)) i++;
      continue;
    }
    const sub = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    chain.unshift(sub);
    current = sub;
  }
  return chain.flatMap((c) => c.options);
}

/** `args` with every boolean among `options` given as `--long=VALUE`. */
function explicitBooleans(options: readonly Option[], args: string[]): string[] {
  const find = (flag: string) => options.find((o) => o.long === flag || o.short === flag);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [...out, ...args.slice(i)];
    const option = find(arg.startsWith('--') ? arg.split('=')[0] : arg);
    if (option && isBoolFlag(option)) {
      out.push(arg.includes('=') ? arg : `${option.long}=true`);
    } else if (option?.required && !arg.includes('=')) {
      // The next argument is this flag's value, even if it looks like a flag (`-l -A`).
      out.push(arg);
      if (i + 1 < args.length) out.push(args[++i]);
    } else if (/^-[^-]/.test(arg)) {
      out.push(...shortGroup(find, arg));
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * `-it` as `--stdin=true --tty=true`, `-w=false` as `--watch=false`; from the
 * first letter that is not a boolean on, the group is left as it is.
 */
function shortGroup(find: (flag: string) => Option | undefined, arg: string): string[] {
  const out: string[] = [];
  for (let j = 1; j < arg.length; j++) {
    const option = find(`-${arg[j]}`);
    if (!option || !isBoolFlag(option)) return [...out, `-${arg.slice(j)}`];
    if (arg[j + 1] === '=') return [...out, `${option.long}=${arg.slice(j + 2)}`];
    out.push(`${option.long}=true`);
  }
  return out;
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

const whyExiting: Record<string, string> = {
  uncaughtException: 'uncaught exception',
  unhandledRejection: 'unhandled promise rejection',
};

/**
 * The one line a component writes as it exits on an error: pino's shape at
 * the fatal level, with the stack inside. `origin` is Node's
 * (`uncaughtException`, `unhandledRejection`) or `run` for the error that
 * ended the component's run.
 */
export function crashLine(component: string, err: unknown, origin: string): string {
  const e = err instanceof Error ? err : new Error(String(err));
  return JSON.stringify({
    level: 60,
    time: Date.now(),
    pid: process.pid,
    name: component,
    msg: `${whyExiting[origin] ?? `${e.message}`}; exiting`,
    err: { type: e.name, message: e.message, stack: e.stack },
  });
}

/**
 * The process-wide policy for an error no code caught (an exception out of
 * a callback, a promise rejection no one handles): never a silent death
 * and never carrying on in an unknown state, but one line in the log that
 * says why (written synchronously, so it is not lost with the process),
 * then exit 1, for the supervisor (systemd, `nkctl up`) to restart.
 * Returns the listener, for a test to remove.
 */
export function exitOnUncaught(component: string): (err: Error, origin: string) => void {
  const listener = (err: Error, origin: string) => {
    try {
      writeSync(2, `${crashLine(component, err, origin)}\n`);
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', listener);
  return listener;
}

/**
 * Parses flags with commander, then runs the component until SIGINT/SIGTERM.
 * Exit codes: 0 after a clean stop, 1 if `run` failed or an error escaped
 * (`exitOnUncaught`), 2 for bad flags.
 */
export async function runComponent<C>(
  program: Command,
  argv: string[],
  toConfig: (opts: Record<string, any>) => C,
  run: (config: C, ctx: { signal: AbortSignal }) => Promise<void>,
): Promise<void> {
  pflagBooleans(program).exitOverride();
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
  exitOnUncaught(program.name());
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await run(config, { signal: ac.signal });
    process.exitCode = 0;
  } catch (err) {
    writeSync(2, `${crashLine(program.name(), err, 'run')}\n`);
    process.exitCode = 1;
  }
}
