/**
 * The ClusterRole aggregation controller (`clusterrole-aggregation`): a
 * ClusterRole with an aggregationRule holds the rules of every other
 * ClusterRole its selectors match, as Kubernetes' admin, edit and view are
 * built from the system:aggregate-to-* roles. Keyed by ClusterRole name.
 *
 * As in Kubernetes, any ClusterRole change wakes every aggregated one (the
 * set is small and who selects whom is not worth indexing), and the rules
 * are written with a forced server-side apply under the controller's own
 * field manager, only when they differ.
 */
import type { KubeObject } from '../api/meta.js';
import type { ClusterRole } from '../api/objects.js';
import { apiVersionOf } from '../api/registry.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { type PolicyRule, rbacGroup } from '../api/types/rbac.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';

/** The field manager of the applied rules, Kubernetes' name for it. */
export const aggregationFieldManager = 'clusterrole-aggregation-controller';

/** A rule compared as `equality.Semantic` does: a missing list equals an empty one. */
const ruleKey = (r: PolicyRule): string =>
  JSON.stringify([r.verbs, r.apiGroups, r.resources, r.resourceNames, r.nonResourceURLs].map((l) => l ?? []));

const byName = (a: KubeObject, b: KubeObject) => {
  const [x, y] = [a.metadata.name ?? '', b.metadata.name ?? ''];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The rules `role` aggregates, as Kubernetes computes them: for each selector
 * in turn, the ClusterRoles it matches (never `role` itself) sorted by name,
 * and their rules in order, each rule once. Throws on an invalid selector.
 */
export function aggregatedRules(role: ClusterRole, all: readonly ClusterRole[]): PolicyRule[] {
  const sorted = [...all].sort(byName);
  const seen = new Set<string>();
  const rules: PolicyRule[] = [];
  for (const sel of role.aggregationRule?.clusterRoleSelectors ?? []) {
    const selector = labelSelectorFromObject(sel);
    for (const other of sorted) {
      if (other.metadata.name === role.metadata.name || !selector.matches(other.metadata.labels)) continue;
      for (const rule of other.rules ?? []) {
        const key = ruleKey(rule);
        if (seen.has(key)) continue;
        seen.add(key);
        rules.push(rule);
      }
    }
  }
  return rules;
}

const sameRules = (a: readonly PolicyRule[], b: readonly PolicyRule[]): boolean =>
  a.length === b.length && a.every((r, i) => ruleKey(r) === ruleKey(b[i]));

export class ClusterRoleAggregationController extends QueueController {
  private readonly roles;
  private readonly client: ResourceClient<ClusterRole>;

  constructor(ctx: ControllerContext) {
    super('clusterrole-aggregation', ctx);
    const rt = ctx.registry.get(rbacGroup, 'v1', 'clusterroles')!;
    this.client = new ResourceClient<ClusterRole>(ctx.rest, rt);
    this.roles = this.informer<ClusterRole>('clusterroles');
    const wake = () => this.enqueueAggregated();
    this.roles.addEventHandler({ onAdd: wake, onUpdate: wake, onDelete: wake });
  }

  /** Queues every ClusterRole that has an aggregationRule. */
  enqueueAggregated(): void {
    for (const r of this.roles.store.list()) if (r.aggregationRule) this.enqueue(r);
  }

  async sync(name: string): Promise<void> {
    const role = this.roles.store.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.roles.store.list());
    if (sameRules(rules, role.rules ?? [])) return;
    // Rules go out even when empty, so a role whose sources all went away is emptied.
    const applied = {
      apiVersion: apiVersionOf(this.client.rt),
      kind: 'ClusterRole',
      metadata: { name },
      rules,
    };
    await this.client.patch(name, 'apply', applied, { fieldManager: aggregationFieldManager, force: true });
    this.log.info({ clusterRole: name, rules: rules.length }, 'aggregated the rules of a ClusterRole');
  }
}

export const newClusterRoleAggregationController = (ctx: ControllerContext) =>
  new ClusterRoleAggregationController(ctx);
