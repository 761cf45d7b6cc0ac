/**
 * The controller manager: one informer factory, one event sink and the
 * enabled controllers, all running only while this process holds the
 * `kube-controller-manager` Lease in kube-system (or always, without
 * leader election).
 */

import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { builtinRegistry } from '../api/types/index.js';
import { type Clock, realClock } from '../client/clock.js';
import { type ConnectFlags, connect } from '../client/connect.js';
import { EventRecorder, newEventClient } from '../client/events.js';
import { HealthServer, newMetricsRegistry } from '../client/health.js';
import { InformerFactory } from '../client/informer.js';
import { type LeaderElectionConfig, runLeading } from '../client/leaderelection.js';
import type { ControllerContext, ControllerManagerConfig } from './controller.js';
import { controllerFactories, enabledControllers } from './controllers.js';

export interface ManagerConfig extends ControllerManagerConfig, LeaderElectionConfig {
  connect: ConnectFlags;
  controllers: string[];
  bindAddress: string;
  /** Health and metrics port; 0 picks a free one. */
  port: number;
}

export async function runControllerManager(
  config: ManagerConfig,
  { signal, logger, clock = realClock }: { signal: AbortSignal; logger: Logger; clock?: Clock },
): Promise<void> {
  const names = enabledControllers(config.controllers);
  const rest = connect(config.connect, 'nanokube-controller-manager', logger);
  const metrics = newMetricsRegistry('controller-manager');
  const health = new HealthServer({
    bindAddress: config.bindAddress,
    port: config.port,
    logger,
    metrics,
  });
  const port = await health.listen();
  logger.info(
    { port, controllers: names, leaderElect: config.leaderElect },
    'controller-manager serving health',
  );

  const recorders = new Map<string, EventRecorder>();
  const work = async (leadSignal: AbortSignal) => {
    setMaxListeners(0, leadSignal); // every informer and controller listens for the stop
    const informers = new InformerFactory({ rest, registry: builtinRegistry, logger, clock });
    const ctx: ControllerContext = {
      rest,
      informers,
      registry: builtinRegistry,
      logger,
      clock,
      metrics,
      config,
      recorder: (component) => {
        let r = recorders.get(component);
        if (!r) {
          r = new EventRecorder({ client: newEventClient(rest), component, host: hostname(), clock, logger });
          recorders.set(component, r);
        }
        return r;
      },
    };
    const controllers = names.map((n) => controllerFactories[n](ctx));
    informers.start(leadSignal);
    logger.info({ controllers: names }, 'starting controllers');
    await Promise.all(controllers.map((c) => c.run(leadSignal)));
    await informers.done();
    await Promise.all([...recorders.values()].map((r) => r.flush()));
  };

  try {
    await runLeading(config, { name: 'kube-controller-manager', rest, clock, logger, signal, work });
  } finally {
    await health.close();
    rest.close();
  }
}
