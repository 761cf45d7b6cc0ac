/**
 * The reflector keeps a sink equal to the API's state of one resource: list,
 * then watch from the list's resourceVersion, forever.
 *
 * States: listing → watching → (stream ended: watching again from the last
 * resourceVersion seen) | (410 Gone: listing) | (other error: backoff, then
 * watching or listing). It never stops on its own; only `signal` ends it.
 * Bookmarks advance the resourceVersion without touching the sink.
 *
 * Backoff: 800 ms doubling to 30 s after failures; an attempt that listed or
 * received an event starts the next run of failures from 800 ms again. A
 * first 410 relists at once; a 410 again right after that relist backs off.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { isGone, StatusError } from '../api/status.js';
import { doubledBackoff } from './backoff.js';
import { type Clock, realClock } from './clock.js';
import type { ResourceClient } from './resource.js';

/**
 * What a reflector needs of a resource: its names, list and watch. A
 * ResourceClient is one; tests hand in a fake whose list and watch they drive.
 */
export type ListerWatcher<T extends KubeObject> = Pick<ResourceClient<T>, 'rt' | 'list' | 'watch'>;

export interface ReflectorSink<T extends KubeObject> {
  /** The full state at a resourceVersion, after a list. */
  replace(objs: T[], resourceVersion: string): void;
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
}

export interface ReflectorOptions<T extends KubeObject> {
  client: ListerWatcher<T>;
  sink: ReflectorSink<T>;
  logger: Logger;
  labelSelector?: string;
  fieldSelector?: string;
  clock?: Clock;
  /** Server-side timeout of one watch; the reflector re-watches after it. Default 5-10 min. */
  watchTimeoutSeconds?: number;
}

export class Reflector<T extends KubeObject> {
  /** The resourceVersion the sink reflects; empty until the first list. */
  lastSyncResourceVersion = '';
  private readonly o: ReflectorOptions<T>;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Whether the current attempt has listed or received an event. */
  private progressed = false;

  constructor(opts: ReflectorOptions<T>) {
    this.o = opts;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ reflector: opts.client.rt.plural });
  }

  async run(signal: AbortSignal): Promise<void> {
    let backoff = 0;
    let needList = true;
    let gonesInARow = 0;
    while (!signal.aborted) {
      this.progressed = false;
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
        }
        const healthy = await this.watch(signal);
        gonesInARow = 0;
        if (healthy) backoff = 0;
        else {
          // A watch that ends at once, with nothing, must not spin.
          backoff = doubledBackoff(backoff, 200, 30_000);
          await this.clock.sleep(backoff, signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        // An attempt that got somewhere (a list, events) ends the run of failures:
        // a watch that broke after an hour starts over at the smallest backoff.
        if (this.progressed) backoff = 0;
        if (isGone(err)) {
          this.log.info({ rv: this.lastSyncResourceVersion }, 'watch expired (410); relisting');
          needList = true;
          // A fresh list whose watch is at once too old again means the server is
          // churning (or restarting); relist, but not in a tight loop.
          if (++gonesInARow > 1) {
            backoff = doubledBackoff(backoff, 800, 30_000);
            await this.clock.sleep(backoff, signal);
          }
          continue;
        }
        gonesInARow = 0;
        backoff = doubledBackoff(backoff, 800, 30_000);
        this.log.warn({ err: (err as Error).message, retryInMs: backoff }, 'list/watch failed; backing off');
        await this.clock.sleep(backoff * (0.8 + Math.random() * 0.4), signal);
        // A failed list leaves needList set; a failed watch resumes from the last rv.
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.o.client.list({
        labelSelector: this.o.labelSelector,
        fieldSelector: this.o.fieldSelector,
        limit: 500,
        continue: cont,
        signal,
      });
      items.push(...page.items);
      cont = page.metadata.continue;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    const kind = this.o.client.rt.kind;
    const apiVersion = this.o.client.rt.group
      ? `${this.o.client.rt.group}/${this.o.client.rt.version}`
      : this.o.client.rt.version;
    for (const it of items) {
      it.kind ??= kind;
      it.apiVersion ??= apiVersion;
    }
    this.o.sink.replace(items, rv);
    this.lastSyncResourceVersion = rv;
    this.progressed = true;
    this.log.debug({ count: items.length, rv }, 'listed');
  }

  /** One watch; returns true if it delivered anything or ran its course. */
  private async watch(signal: AbortSignal): Promise<boolean> {
    const timeout = this.o.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    let delivered = false;
    const started = this.clock.now();
    for await (const ev of this.o.client.watch({
      resourceVersion: this.lastSyncResourceVersion,
      labelSelector: this.o.labelSelector,
      fieldSelector: this.o.fieldSelector,
      allowWatchBookmarks: true,
      timeoutSeconds: timeout,
      signal,
    })) {
      delivered = true;
      this.progressed = true;
      const rv = ev.object?.metadata?.resourceVersion;
      switch (ev.type) {
        case 'ADDED':
          this.o.sink.add(ev.object);
          break;
        case 'MODIFIED':
          this.o.sink.update(ev.object);
          break;
        case 'DELETED':
          this.o.sink.delete(ev.object);
          break;
        case 'BOOKMARK':
          break;
        default:
          throw new StatusError(500, 'InternalError', `unexpected watch event type ${String(ev.type)}`);
      }
      if (rv) this.lastSyncResourceVersion = rv;
    }
    return delivered || this.clock.now() - started > 1000;
  }
}
