#!/usr/bin/env node
/** nkctl: the nanokube CLI. Cluster lifecycle here (up, down, status) and kubectl-like verbs. */
import { Command } from 'commander';
import { pflagBooleans } from '../base/component-main.js';
import { newApiResourcesCommand } from './commands/api-resources.js';
import { newApplyCommand } from './commands/apply.js';
import { newCompletionCommand } from './commands/completion.js';
import { newConfigCommand } from './commands/config.js';
import { newCordonCommand, newUncordonCommand } from './commands/cordon.js';
import { newCreateCommand } from './commands/create.js';
import { newDeleteCommand } from './commands/delete.js';
import { newDescribeCommand } from './commands/describe.js';
import { newDownCommand } from './commands/down.js';
import { newDrainCommand } from './commands/drain.js';
import { newEditCommand } from './commands/edit.js';
import { newEventsCommand } from './commands/events.js';
import { newExecCommand } from './commands/exec.js';
import { newExplainCommand } from './commands/explain.js';
import { newExposeCommand } from './commands/expose.js';
import { newGetCommand } from './commands/get.js';
import { newInstallCommand } from './commands/install.js';
import { newAnnotateCommand, newLabelCommand } from './commands/label.js';
import { newLogsCommand } from './commands/logs.js';
import { newPatchCommand } from './commands/patch.js';
import { newPortForwardCommand } from './commands/port-forward.js';
import { newRolloutCommand } from './commands/rollout.js';
import { newRunCommand } from './commands/run.js';
import { newScaleCommand } from './commands/scale.js';
import { newSnapshotCommand } from './commands/snapshot.js';
import { newStatusCommand } from './commands/status.js';
import { newTokenCommand } from './commands/token.js';
import { newTopCommand } from './commands/top.js';
import { newUpCommand } from './commands/up.js';
import { newVersionCommand } from './commands/version.js';
import { errorLine } from './context.js';

const program = new Command('nkctl')
  .description(
    'nkctl controls nanokube clusters: start one here (up), and read and change objects in any cluster.',
  )
  .option('--kubeconfig <file>', 'kubeconfig file (default $KUBECONFIG or ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context to use')
  .option('-n, --namespace <ns>', 'namespace for this request')
  .option('-s, --server <url>', 'apiserver URL, bypassing the kubeconfig')
  .showHelpAfterError(false)
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program.addCommand(newUpCommand());
program.addCommand(newDownCommand());
program.addCommand(newStatusCommand());
program.addCommand(newGetCommand());
program.addCommand(newDescribeCommand());
program.addCommand(newCreateCommand());
program.addCommand(newDeleteCommand());
program.addCommand(newLabelCommand());
program.addCommand(newAnnotateCommand());
program.addCommand(newScaleCommand());
program.addCommand(newRolloutCommand());
program.addCommand(newLogsCommand());
program.addCommand(newExecCommand());
program.addCommand(newPortForwardCommand());
program.addCommand(newApiResourcesCommand());
program.addCommand(newConfigCommand());
program.addCommand(newVersionCommand());
program.addCommand(newCordonCommand());
program.addCommand(newUncordonCommand());
program.addCommand(newDrainCommand());
program.addCommand(newTokenCommand());
program.addCommand(newInstallCommand());
program.addCommand(newTopCommand());
program.addCommand(newCompletionCommand());
program.addCommand(newSnapshotCommand());
program.addCommand(newApplyCommand());
program.addCommand(newPatchCommand());
program.addCommand(newEditCommand());
program.addCommand(newRunCommand());
program.addCommand(newExposeCommand());
program.addCommand(newEventsCommand());
program.addCommand(newExplainCommand());

const overrideExits = (c: Command): void => {
  c.exitOverride();
  for (const sub of c.commands) overrideExits(sub);
};
overrideExits(program);
// Boolean flags as kubectl takes them: `--wait`, `--wait=false`, never `--all pods` as `--all=pods`.
pflagBooleans(program);
// A reader that goes away (`nkctl get pods | head`) ends the output, not in a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number };
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
    process.exit(0);
  if (typeof e.code === 'string' && e.code.startsWith('commander.'))
    process.exit(e.exitCode && e.exitCode !== 1 ? e.exitCode : 2);
  process.stderr.write(`${errorLine(err).split('\n')[0]}\n`);
  if (!(err instanceof Error) || !/last lines of/.test(err.message)) process.exit(1);
  process.stderr.write(`${err.message.split('\n').slice(1).join('\n')}\n`);
  process.exit(1);
}
