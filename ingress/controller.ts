/**
 * The control loop of the ingress controller: informers on Ingresses,
 * IngressClasses, Services, EndpointSlices and Secrets; any change marks
 * the table stale, and the table is rebuilt (at most every `minSyncMs`) and
 * handed to the proxy whole. Each Ingress of ours gets
 * `status.loadBalancer.ingress` with the addresses it is served on.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import type { Clock } from '../client/clock.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { Wakeup } from '../client/wakeup.js';
import type { IngressProxy, RoutingState } from './proxy.js';
import {
  className,
  controllerName,
  defaultClassAnnotation,
  type IngressObj,
  isOurs,
  type ServiceObj,
  type SliceObj,
} from './routes.js';

export interface IngressControllerOptions {
  ingresses: SharedInformer;
  classes: SharedInformer;
  services: SharedInformer;
  slices: SharedInformer;
  secrets: SharedInformer;
  ingressClient: ResourceClient<KubeObject>;
  proxy: IngressProxy;
  /** Addresses written to status.loadBalancer.ingress. */
  publishAddresses: string[];
  clock: Clock;
  logger: Logger;
  minSyncMs?: number;
}

interface SecretObj extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export class IngressController {
  private readonly wakeup = new Wakeup();

  constructor(private readonly o: IngressControllerOptions) {
    const poke = () => this.wakeup.poke();
    for (const inf of [o.ingresses, o.classes, o.services, o.slices, o.secrets])
      inf.addEventHandler({ onAdd: poke, onUpdate: poke, onDelete: poke });
  }

  /** Whether Ingresses without a class are ours: our IngressClass is marked default. */
  private defaultIsOurs(): boolean {
    return (this.o.classes.store.list() as (KubeObject & { spec?: { controller?: string } })[]).some(
      (c) =>
        c.spec?.controller === controllerName && c.metadata.annotations?.[defaultClassAnnotation] === 'true',
    );
  }

  /** Builds the routing state from the caches. */
  state(): RoutingState {
    const defaultOurs = this.defaultIsOurs();
    const ingresses = (this.o.ingresses.store.list() as IngressObj[]).filter((i) => isOurs(i, defaultOurs));
    const services = new Map<string, ServiceObj>();
    for (const s of this.o.services.store.list() as ServiceObj[])
      services.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
    const slicesByService = new Map<string, SliceObj[]>();
    for (const s of this.o.slices.store.list() as SliceObj[]) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const key = `${s.metadata.namespace}/${svc}`;
      slicesByService.set(key, [...(slicesByService.get(key) ?? []), s]);
    }
    const wanted = new Set(
      ingresses.flatMap((i) => (i.spec?.tls ?? []).map((t) => `${i.metadata.namespace}/${t.secretName}`)),
    );
    const certs = new Map<string, { cert: string; key: string }>();
    for (const s of this.o.secrets.store.list() as SecretObj[]) {
      const key = `${s.metadata.namespace}/${s.metadata.name}`;
      if (!wanted.has(key) || !s.data?.['tls.crt'] || !s.data['tls.key']) continue;
      certs.set(key, {
        cert: Buffer.from(s.data['tls.crt'], 'base64').toString('utf8'),
        key: Buffer.from(s.data['tls.key'], 'base64').toString('utf8'),
      });
    }
    return { ingresses, services, slicesByService, certs };
  }

  private async writeStatus(ingresses: IngressObj[]): Promise<void> {
    const want = this.o.publishAddresses.map((ip) => ({ ip }));
    for (const ing of ingresses) {
      const have = (ing as IngressObj & { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } })
        .status?.loadBalancer?.ingress;
      if (JSON.stringify(have ?? []) === JSON.stringify(want)) continue;
      try {
        await this.o.ingressClient
          .in(ing.metadata.namespace ?? 'default')
          .patch(
            ing.metadata.name ?? '',
            'merge',
            { status: { loadBalancer: { ingress: want } } },
            { subresource: 'status' },
          );
      } catch (err) {
        this.o.logger.warn(
          { err, ingress: `${ing.metadata.namespace}/${ing.metadata.name}` },
          'could not write ingress status',
        );
      }
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    for (const inf of [this.o.ingresses, this.o.classes, this.o.services, this.o.slices, this.o.secrets])
      if (!(await inf.waitForSync(signal))) return;
    this.o.logger.info({ class: className }, 'ingress caches synced');
    while (!signal.aborted) {
      const state = this.state();
      this.o.proxy.update(state);
      await this.writeStatus(state.ingresses);
      // Changes come in bursts: rebuild no more often than minSyncMs, and at least every minute.
      await this.o.clock.sleep(this.o.minSyncMs ?? 100, signal);
      await this.wakeup.wait(this.o.clock, 60_000, signal);
    }
  }
}
