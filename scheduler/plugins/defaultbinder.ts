/** DefaultBinder: binds through the pods/binding subresource. */
import type { Pod } from '../../api/objects.js';
import type { BindPlugin, CycleState, Result } from '../framework.js';
import { Status } from '../framework.js';

export const defaultBinderName = 'DefaultBinder';

/** The one call the binder makes; ResourceClient#bind has this shape. */
export interface Binder {
  bind(namespace: string, name: string, nodeName: string): Promise<unknown>;
}

export class DefaultBinder implements BindPlugin {
  readonly name = defaultBinderName;
  constructor(private readonly binder: Binder) {}

  async bind(_state: CycleState, pod: Pod, nodeName: string): Promise<Result> {
    try {
      await this.binder.bind(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', nodeName);
      return undefined;
    } catch (err) {
      return Status.error((err as Error).message);
    }
  }
}
