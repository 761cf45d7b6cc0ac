/**
 * `nkctl logs`: a container's log through the pods/log subresource, as
 * kubectl prints it: of a pod, of the pod a workload picks
 * (`deployment/web`), or of every pod a selector matches (`-l`, the last 10
 * lines each unless --tail says otherwise, each line prefixed with
 * `[pod/NAME/CONTAINER]`). `-f` follows; several followed streams run at
 * once and interleave by whole lines. Changes nothing.
 */
import { Command } from 'commander';
import { boolFlag, parseDuration } from '../../base/component-main.js';
import type { LogOptions } from '../../client/resource.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { chooseContainer, type Pod, podFor } from '../pods.js';
import { exitWhenReaderCloses } from '../stream.js';

export interface LogsFlags {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  selector?: string;
  allContainers?: boolean;
  prefix?: boolean;
  maxLogRequests?: string;
  podRunningTimeout?: string;
}

/** One log to read: a container of a pod. */
interface Source {
  pod: Pod;
  container: string;
}

/**
 * Splits a stream of text into whole lines with `prefix` in front, so
 * streams written together never mix within a line; `end` writes what is
 * left of a last line without a newline as it is, as kubectl does.
 */
export class LinePrefixer {
  private rest = '';
  constructor(
    private readonly prefix: string,
    private readonly write: (text: string) => void,
  ) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    const cut = text.lastIndexOf('\n') + 1;
    this.rest = text.slice(cut);
    if (cut > 0)
      this.write(
        text
          .slice(0, cut)
          .split(/(?<=\n)/)
          .map((line) => this.prefix + line)
          .join(''),
      );
  }

  end(): void {
    if (this.rest) this.write(this.prefix + this.rest);
    this.rest = '';
  }
}

function intFlag(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} must be greater than or equal to ${min}`);
  return n;
}

/** The (pod, container) pairs to read, with the stderr notes kubectl prints on the way. */
async function sources(ctx: CliContext, args: string[], f: LogsFlags, warn: (s: string) => void) {
  const timeoutMs = f.podRunningTimeout
    ? parseDuration('--pod-running-timeout', f.podRunningTimeout)
    : 20_000;
  let pods: Pod[];
  if (f.selector) {
    pods = (await ctx.client(ctx.resource('pods'), ctx.namespace).list({ labelSelector: f.selector }))
      .items as Pod[];
    if (pods.length === 0) warn(`No resources found in ${ctx.namespace} namespace.`);
  } else {
    const { pod, of } = await podFor(ctx, args[0], 'logs', timeoutMs);
    if (of > 1) warn(`Found ${of} pods, using pod/${pod.metadata.name}`);
    pods = [pod];
  }
  const out: Source[] = [];
  for (const pod of pods) {
    if (f.allContainers) {
      for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
        out.push({ pod, container: c.name ?? '' });
    } else out.push({ pod, container: chooseContainer(pod, f.container, warn) });
  }
  return out;
}

export async function logs(
  ctx: CliContext,
  args: string[],
  f: LogsFlags,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  if (args.length === 0 && !f.selector)
    throw new CliError('expected POD or TYPE/NAME is a required argument for the logs command');
  if (args.length > 0 && f.selector) throw new CliError('only a selector (-l) or a POD name is allowed');
  if (args.length > 2) throw new CliError('expected POD or TYPE/NAME, and optionally a CONTAINER');
  if (args[1]) {
    if (f.container) throw new CliError('only one of -c or an inline [CONTAINER] arg is allowed');
    f = { ...f, container: args[1] };
  }
  if (f.allContainers && f.container)
    throw new CliError(`--all-containers=true should not be specified with container name ${f.container}`);
  const tail = intFlag('--tail', f.tail, -1);
  const opts: LogOptions = {
    previous: f.previous,
    timestamps: f.timestamps,
    // With a selector, kubectl shows the last 10 lines of each pod unless told otherwise.
    tailLines: tail === undefined ? (f.selector ? 10 : undefined) : tail < 0 ? undefined : tail,
    sinceSeconds: f.since ? Math.ceil(parseDuration('--since', f.since) / 1000) : undefined,
  };
  const prefix = f.prefix ?? !!f.selector;
  const list = await sources(ctx, args, f, (line) => err.write(`${line}\n`));
  const maxRequests = intFlag('--max-log-requests', f.maxLogRequests, 1) ?? 5;
  if (f.follow && list.length > maxRequests)
    throw new CliError(
      `you are attempting to follow ${list.length} log streams, but maximum allowed concurrency is ${maxRequests}, use --max-log-requests to increase the limit`,
    );
  const read = async (s: Source) => {
    const lines = new LinePrefixer(prefix ? `[pod/${s.pod.metadata.name}/${s.container}] ` : '', (t) =>
      out.write(t),
    );
    const pods = ctx.client(ctx.resource('pods'), s.pod.metadata.namespace);
    const decoder = new TextDecoder();
    for await (const chunk of pods.logStream(s.pod.metadata.name!, {
      ...opts,
      container: s.container,
      follow: f.follow,
    })) {
      lines.push(decoder.decode(chunk, { stream: true }));
    }
    lines.push(decoder.decode());
    lines.end();
  };
  if (f.follow) await Promise.all(list.map(read));
  else for (const s of list) await read(s);
}

export function newLogsCommand(): Command {
  return new Command('logs')
    .description(
      "Print a container's log: of a pod, of a workload's pod (TYPE/NAME), or of pods by label (-l). Changes nothing.",
    )
    .argument('[args...]', 'POD or TYPE/NAME, and optionally a CONTAINER')
    .option('-c, --container <name>', 'the container whose log to print')
    .addOption(boolFlag('-f, --follow', 'keep printing the log as it grows'))
    .addOption(boolFlag('-p, --previous', 'the log of the container instance before the last restart'))
    .option('--tail <lines>', 'only the last lines (default: all, or 10 each with -l)')
    .option('--since <duration>', 'only lines newer than this, like 5s, 2m or 3h')
    .addOption(boolFlag('--timestamps', 'put each line’s timestamp in front of it'))
    .option('-l, --selector <selector>', 'the logs of every pod with these labels')
    .addOption(boolFlag('--all-containers', 'the logs of every container of the pod(s)'))
    .addOption(boolFlag('--prefix', 'put [pod/NAME/CONTAINER] in front of each line (default: with -l)'))
    .option('--max-log-requests <n>', 'how many logs -f may follow at once', '5')
    .option('--pod-running-timeout <duration>', 'how long to wait for a pod of TYPE/NAME to exist', '20s')
    .action(async (args: string[], f: LogsFlags, cmd: Command) => {
      exitWhenReaderCloses();
      await logs(cliContext(cmd), args, f);
    });
}
