/** The workload controllers (issue 8), by the names `--controllers` uses. */
import type { ControllerFactory } from './controller.js';
import { CronJobController } from './cronjob.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { JobController } from './job.js';
import { ReplicaSetController } from './replicaset.js';
import { newReplicationManager } from './replicationcontroller.js';
import { StatefulSetController } from './statefulset.js';
import { TTLAfterFinishedController } from './ttlafterfinished.js';

export const workloadControllers: Record<string, ControllerFactory> = {
  deployment: (ctx) => new DeploymentController(ctx),
  replicaset: (ctx) => new ReplicaSetController(ctx),
  replicationcontroller: (ctx) => newReplicationManager(ctx),
  job: (ctx) => new JobController(ctx),
  'ttl-after-finished': (ctx) => new TTLAfterFinishedController(ctx),
  daemonset: (ctx) => new DaemonSetController(ctx),
  statefulset: (ctx) => new StatefulSetController(ctx),
  cronjob: (ctx) => new CronJobController(ctx),
};
