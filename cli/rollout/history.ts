/**
 * The revisions `rollout history` lists and `rollout undo` goes back to,
 * as kubectl finds them: a Deployment's are its ReplicaSets (numbered by
 * their deployment.kubernetes.io/revision annotation), a StatefulSet's and
 * a DaemonSet's their ControllerRevisions. `undo` puts an older template
 * back: into a Deployment with a JSON patch that replaces spec.template
 * (without the pod-template-hash label) and the annotations, into a set
 * by applying the revision's own patch.
 */
import { controllerRefOf, type KubeObject } from '../../api/meta.js';
import type { ControllerRevision } from '../../api/objects.js';
import type { ResourceType } from '../../api/registry.js';
import {
  deploymentOwnAnnotations,
  equalIgnoreHash,
  ownedRevisions,
  podTemplateHashLabel,
  revisionAnnotation,
  revisionOf,
  templateOf,
} from '../../api/rollout.js';
import { stableJson } from '../../api/stable-json.js';
import type { PodTemplateSpec } from '../../api/types/pod.js';
import { type CliContext, CliError } from '../context.js';
import { formatTable } from '../table.js';
import { describePodTemplate } from './pod-template.js';

export const changeCauseAnnotation = 'kubernetes.io/change-cause';

export interface Revision {
  revision: number;
  template: PodTemplateSpec;
  changeCause?: string;
  /** The ReplicaSet or ControllerRevision that records it. */
  source: KubeObject & { data?: unknown };
}

interface Workload extends KubeObject {
  spec?: { template?: PodTemplateSpec; paused?: boolean; selector?: unknown };
}

/** Kinds with a history, and the error kubectl gives for the others. */
export function checkHasHistory(kind: string, what: 'history viewer' | 'rollbacker'): void {
  if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind))
    throw new CliError(`no ${what} has been implemented for "${kind}"`);
}

/** The owner's revisions, oldest first. */
export async function revisionsOf(ctx: CliContext, rt: ResourceType, owner: Workload): Promise<Revision[]> {
  const ns = owner.metadata.namespace;
  if (rt.kind === 'Deployment') {
    const rsList = (await ctx.client(ctx.resource('replicasets.apps'), ns).list()).items;
    return rsList
      .filter(
        (rs) =>
          controllerRefOf(rs)?.uid === owner.metadata.uid && rs.metadata.annotations?.[revisionAnnotation],
      )
      .map((rs) => ({
        revision: revisionOf(rs),
        template: (rs as Workload).spec?.template ?? {},
        changeCause: rs.metadata.annotations?.[changeCauseAnnotation],
        source: rs,
      }))
      .sort((a, b) => a.revision - b.revision);
  }
  const all = (await ctx.client(ctx.resource('controllerrevisions.apps'), ns).list())
    .items as ControllerRevision[];
  return ownedRevisions(owner, all).map((r) => ({
    revision: r.revision ?? 0,
    template: templateOf(r),
    changeCause: r.metadata.annotations?.[changeCauseAnnotation],
    source: r,
  }));
}

/**
 * What `rollout history` prints after the object's name: the REVISION
 * and CHANGE-CAUSE table, or with `revision` that revision's template.
 */
export function historyText(revisions: Revision[], revision: number): string {
  if (revisions.length === 0) return 'No rollout history found.';
  if (revision > 0) {
    const r = revisions.find((x) => x.revision === revision);
    if (!r) throw new CliError('unable to find the specified revision');
    // kubectl shows a revision's change cause among its template's annotations.
    const template = structuredClone(r.template);
    if (r.changeCause)
      template.metadata = {
        ...template.metadata,
        annotations: { ...template.metadata?.annotations, [changeCauseAnnotation]: r.changeCause },
      };
    return describePodTemplate(template);
  }
  return formatTable(
    ['REVISION', 'CHANGE-CAUSE'],
    revisions.map((r) => [r.revision, r.changeCause || '<none>']),
    2,
  );
}

/**
 * The revision `undo --to-revision` means: that one, or with 0 the newest
 * but one. Undefined when it does not exist.
 */
export function undoTarget(revisions: Revision[], toRevision: number): Revision | undefined {
  if (toRevision > 0) return revisions.find((r) => r.revision === toRevision);
  return revisions.length >= 2 ? revisions[revisions.length - 2] : undefined;
}

/** Rolls back; returns what kubectl prints after the name ("rolled back", or why it skipped). */
export async function undo(
  ctx: CliContext,
  rt: ResourceType,
  obj: Workload,
  toRevision: number,
): Promise<string> {
  if (toRevision < 0) throw new CliError(`unable to find specified revision ${toRevision} in history`);
  const deployment = rt.kind === 'Deployment';
  if (deployment && obj.spec?.paused)
    throw new CliError(
      "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
    );
  const revisions = await revisionsOf(ctx, rt, obj);
  if (!deployment && toRevision === 0 && revisions.length <= 1)
    throw new CliError('no last revision to roll back to');
  const target = undoTarget(revisions, toRevision);
  if (!target) {
    if (toRevision > 0) throw new CliError(`unable to find specified revision ${toRevision} in history`);
    throw new CliError(`no rollout history found for deployment "${obj.metadata.name}"`);
  }
  const same = deployment
    ? equalIgnoreHash(target.template, obj.spec?.template)
    : stableJson(target.template) === stableJson(obj.spec?.template);
  if (same) return `skipped rollback (current template already matches revision ${toRevision})`;
  const client = ctx.client(rt, obj.metadata.namespace);
  if (deployment) {
    const template = structuredClone(target.template);
    delete template.metadata?.labels?.[podTemplateHashLabel];
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj.metadata.annotations ?? {}))
      if (deploymentOwnAnnotations.has(k)) annotations[k] = v;
    for (const [k, v] of Object.entries(target.source.metadata.annotations ?? {}))
      if (!deploymentOwnAnnotations.has(k)) annotations[k] = v;
    await client.patch(obj.metadata.name!, 'json', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ]);
  } else await client.patch(obj.metadata.name!, 'strategic', target.source.data);
  return 'rolled back';
}
