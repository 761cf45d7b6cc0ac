#!/usr/bin/env node
/**
 * The lab's command line (npm run lab:up / lab:down / lab:drill):
 *
 *   node dist/lab/main.js up              build the image, docker compose up, wait
 *   node dist/lab/main.js drill [NAME...] run drills (default: all), print what they measured
 *   node dist/lab/main.js down            remove containers, network and volumes
 *   node dist/lab/main.js command-line ROLE   (in a lab container) the flags ROLE runs with
 *
 * Environment: NANOKUBE_LAB_PORT (16443), NANOKUBE_LAB_PROJECT (nanokube-lab),
 * NANOKUBE_LAB_SUBNET (172.29.0.0/24), NANOKUBE_LAB_HOME (whose .kube/config
 * gets the context; default $HOME), NANOKUBE_LAB_PRIVILEGED=1 to add
 * deploy/lab/privileged.yml.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { repoRoot } from '../cli/launcher.js';
import { labCommandLine, labRoles } from './command-line.js';
import type { Lab } from './compose.js';
import { type DrillName, type DrillResult, drillNames, runDrill } from './drills.js';
import { down, up } from './lab.js';
import { table } from './table.js';

export function labFromEnv(env: NodeJS.ProcessEnv = process.env): Lab {
  return {
    repo: repoRoot,
    project: env.NANOKUBE_LAB_PROJECT ?? 'nanokube-lab',
    port: Number(env.NANOKUBE_LAB_PORT ?? 16443),
    home: env.NANOKUBE_LAB_HOME,
    subnet: env.NANOKUBE_LAB_SUBNET,
    extraFiles: env.NANOKUBE_LAB_PRIVILEGED === '1' ? [join(repoRoot, 'deploy/lab/privileged.yml')] : [],
  };
}

const log = (line: string) => process.stderr.write(`lab: ${line}\n`);

const program = new Command('lab').description(
  'the docker-compose lab: a highly available cluster on this machine',
);

program
  .command('up')
  .description('build the lab image if needed, start every service, wait for 3 Ready nodes')
  .action(async () => {
    await up(labFromEnv(), log);
    log(`up. kubectl --context nanokube-lab get nodes (server http://127.0.0.1:${labFromEnv().port})`);
  });

program
  .command('down')
  .description('remove the lab: containers, network, volumes')
  .action(async () => {
    await down(labFromEnv(), log);
  });

program
  .command('drill')
  .description(`run failure drills on a running lab: ${drillNames.join(', ')} (default all, in that order)`)
  .argument('[names...]', 'drills to run')
  .action(async (names: string[]) => {
    const chosen = names.length > 0 ? names : [...drillNames];
    for (const n of chosen) {
      if (!(drillNames as readonly string[]).includes(n)) {
        process.stderr.write(`error: unknown drill "${n}" (one of: ${drillNames.join(', ')})\n`);
        process.exit(2);
      }
    }
    const lab = labFromEnv();
    const results: DrillResult[] = [];
    for (const n of chosen as DrillName[]) {
      log(`drill ${n}`);
      results.push(await runDrill(lab, n, log));
    }
    process.stdout.write(`${table(results)}\n`);
    process.stdout.write(`${JSON.stringify({ lab: 'drills', results })}\n`);
    if (results.some((r) => r.problems.length > 0)) process.exitCode = 1;
  });

program
  .command('command-line')
  .description(
    `in a lab container (deploy/lab/entrypoint.sh): the flags ROLE runs with, one a line (${labRoles.join(', ')})`,
  )
  .argument('<role>', 'the component')
  .action((role: string) => {
    process.stdout.write(`${labCommandLine(role, process.env)}\n`);
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
});
