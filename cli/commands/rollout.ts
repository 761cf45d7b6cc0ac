/**
 * `nkctl rollout`: the rollouts of Deployments (and, where kubectl has
 * them, of StatefulSets and DaemonSets), as kubectl does them.
 *   status   follows a rollout until it is done (a line that rewrites
 *            itself on a terminal, kubectl's lines in a pipe); changes nothing
 *   history  lists revisions, or shows one's pod template; changes nothing
 *   undo     puts the previous (or --to-revision) template back
 *   restart  new pods for all: stamps kubectl.kubernetes.io/restartedAt
 *            on the pod template (each run restarts again)
 *   pause    / resume set spec.paused (an error when it already is so, as in kubectl)
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceType } from '../../api/registry.js';
import { metaTime } from '../../api/time.js';
import { boolFlag, parseDuration } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext, errorLine } from '../context.js';
import { shownName, splitSlash } from '../objectref.js';
import { checkHasHistory, historyText, revisionsOf, undo } from '../rollout/history.js';
import { hasRolloutStatus, type RolloutState, watchRollout } from '../rollout/status.js';

interface Target {
  rt: ResourceType;
  name: string;
}

/** `TYPE NAME...` or `TYPE/NAME...`. */
export function targets(ctx: CliContext, args: string[]): Target[] {
  if (args.length === 0)
    throw new CliError('required resource not specified: use TYPE NAME or TYPE/NAME, e.g. deployment/web');
  if (!args[0].includes('/')) {
    const [type, ...names] = args;
    if (names.length === 0)
      throw new CliError(`you must specify the name of the ${type} (TYPE NAME or TYPE/NAME)`);
    const rt = ctx.resource(type);
    return names.map((name) => ({ rt, name }));
  }
  return args.map((a) => {
    const { type, name } = splitSlash(a);
    return { rt: ctx.resource(type), name };
  });
}

const resourceName = (rt: ResourceType) => (rt.group ? `${rt.plural}.${rt.group}` : rt.plural);

function revisionFlag(flag: string, text: string | undefined): number {
  const n = Number(text ?? 0);
  if (!Number.isInteger(n)) throw new CliError(`invalid ${flag} "${text}": must be a whole number`);
  return n;
}

/** Runs `fn` for each target, printing an error line for each that fails; false if any did. */
async function eachTarget(
  ctx: CliContext,
  args: string[],
  fn: (t: Target) => Promise<void>,
): Promise<boolean> {
  let ok = true;
  for (const t of targets(ctx, args)) {
    try {
      await fn(t);
    } catch (e) {
      ok = false;
      process.stderr.write(`${errorLine(e)}\n`);
    }
  }
  return ok;
}

/** How status lines reach a person: rewritten in place on a terminal, one per change in a pipe. */
function statusPrinter(out: NodeJS.WriteStream) {
  let last = '';
  let open = false;
  return {
    report(state: RolloutState) {
      if (state.message === last && !state.done) return;
      last = state.message;
      if (!out.isTTY) return void out.write(`${state.message}\n`);
      out.write(`\r\u001b[2K${state.message}${state.done ? '\n' : ''}`);
      open = !state.done;
    },
    /** Ends a line left open for rewriting, so what follows starts on its own line. */
    finish() {
      if (open) out.write('\n');
      open = false;
      last = '';
    },
  };
}

function statusCommand(): Command {
  return new Command('status')
    .description(
      'Follow a rollout until it is done; exits non-zero if it fails or times out. Changes nothing.',
    )
    .argument('<args...>', 'TYPE NAME or TYPE/NAME: deployment, statefulset or daemonset')
    .addOption(
      boolFlag('-w, --watch', 'keep watching until the rollout is done (--watch=false: report once)', true),
    )
    .option('--timeout <duration>', 'give up after this long, like 5m (0: never)', '0s')
    .option('--revision <n>', 'the revision the rollout must be at (0: the latest)', '0')
    .action(async (args: string[], o: { watch: boolean; timeout: string; revision: string }, cmd) => {
      const ctx = cliContext(cmd);
      const timeoutMs = parseDuration('--timeout', o.timeout);
      const signal = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : new AbortController().signal;
      const printer = statusPrinter(process.stdout);
      const ok = await eachTarget(ctx, args, async (t) => {
        if (!hasRolloutStatus(t.rt.kind))
          throw new CliError(`no status viewer has been implemented for ${t.rt.kind}`);
        try {
          await watchRollout(ctx.client(t.rt, ctx.namespace), t.rt.kind, t.name, {
            watch: o.watch,
            revision: revisionFlag('--revision', o.revision),
            signal,
            report: (s) => printer.report(s),
          });
        } finally {
          printer.finish();
        }
      });
      if (!ok) process.exitCode = 1;
    });
}

function historyCommand(): Command {
  return new Command('history')
    .description(
      "List a rollout's revisions, or show one revision's pod template (--revision). Changes nothing.",
    )
    .argument('<args...>', 'TYPE NAME or TYPE/NAME: deployment, statefulset or daemonset')
    .option('--revision <n>', "show this revision's pod template", '0')
    .action(async (args: string[], o: { revision: string }, cmd) => {
      const ctx = cliContext(cmd);
      const revision = revisionFlag('--revision', o.revision);
      const ok = await eachTarget(ctx, args, async (t) => {
        checkHasHistory(t.rt.kind, 'history viewer');
        const obj = await ctx.client(t.rt, ctx.namespace).get(t.name);
        const text = historyText(await revisionsOf(ctx, t.rt, obj), revision);
        process.stdout.write(
          `${shownName(t.rt, t.name)} ${revision > 0 ? `with revision #${revision}` : ''}\n${text}\n`,
        );
      });
      if (!ok) process.exitCode = 1;
    });
}

function undoCommand(): Command {
  return new Command('undo')
    .description('Roll back to the previous revision (or --to-revision), which becomes the newest.')
    .argument('<args...>', 'TYPE NAME or TYPE/NAME: deployment, statefulset or daemonset')
    .option('--to-revision <n>', 'the revision to go back to (0: the previous one)', '0')
    .action(async (args: string[], o: { toRevision: string }, cmd) => {
      const ctx = cliContext(cmd);
      const to = revisionFlag('--to-revision', o.toRevision);
      const ok = await eachTarget(ctx, args, async (t) => {
        checkHasHistory(t.rt.kind, 'rollbacker');
        const obj = await ctx.client(t.rt, ctx.namespace).get(t.name);
        process.stdout.write(`${shownName(t.rt, t.name)} ${await undo(ctx, t.rt, obj, to)}\n`);
      });
      if (!ok) process.exitCode = 1;
    });
}

/** The patch that makes a change to one object; throws when the change does not apply. */
type Change = (t: Target, obj: KubeObject & { spec?: { paused?: boolean } }) => object;

function patchCommand(name: string, description: string, change: Change, done: string): Command {
  return new Command(name)
    .description(description)
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const ok = await eachTarget(ctx, args, async (t) => {
        const client = ctx.client(t.rt, ctx.namespace);
        await client.patch(t.name, 'strategic', change(t, await client.get(t.name)));
        process.stdout.write(`${shownName(t.rt, t.name)} ${done}\n`);
      });
      if (!ok) process.exitCode = 1;
    });
}

const workloads = ['Deployment', 'StatefulSet', 'DaemonSet'];

const restart: Change = (t, obj) => {
  if (!workloads.includes(t.rt.kind))
    throw new CliError(`${resourceName(t.rt)} "${t.name}" restarting is not supported`);
  if (obj.spec?.paused)
    throw new CliError(
      `${resourceName(t.rt)} "${t.name}" can't restart paused deployment (run rollout resume first)`,
    );
  const restartedAt = metaTime(Date.now());
  return {
    spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
  };
};

const setPaused =
  (paused: boolean): Change =>
  (t, obj) => {
    const what = `${resourceName(t.rt)} "${t.name}"`;
    if (t.rt.kind !== 'Deployment')
      throw new CliError(`${what} ${paused ? 'pausing' : 'resuming'} is not supported`);
    if (!!obj.spec?.paused === paused)
      throw new CliError(`${what} ${paused ? 'is already paused' : 'is not paused'}`);
    return { spec: { paused } };
  };

export function newRolloutCommand(): Command {
  return new Command('rollout')
    .description('Follow, list, undo, restart, pause and resume rollouts of deployments (and sets).')
    .addCommand(statusCommand())
    .addCommand(historyCommand())
    .addCommand(undoCommand())
    .addCommand(
      patchCommand(
        'restart',
        'Replace every pod of a deployment, statefulset or daemonset by rolling out the template again.',
        restart,
        'restarted',
      ),
    )
    .addCommand(
      patchCommand(
        'pause',
        'Pause a deployment: template changes roll out only after resume. A second pause is an error.',
        setPaused(true),
        'paused',
      ),
    )
    .addCommand(
      patchCommand(
        'resume',
        'Resume a paused deployment, rolling out template changes made meanwhile. Resuming one not paused is an error.',
        setPaused(false),
        'resumed',
      ),
    );
}
