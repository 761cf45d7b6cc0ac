/**
 * ControllerRevisions, the history StatefulSets and DaemonSets keep (after
 * Kubernetes' controller/history and the controllers' getPatch): one
 * revision per distinct pod template, named `<owner>-<template hash>`,
 * owned by the set, whose `data` is the patch that puts that template back
 * (`{"spec":{"template":{..., "$patch":"replace"}}}`), so `kubectl rollout
 * history` lists them and `kubectl rollout undo` applies one as a strategic
 * merge patch.
 *
 * Contract: `syncRevisions` returns the revision of the owner's current
 * template, creating it with the next revision number, or renumbering an
 * older equal one to the newest (a rollback); revisions are never edited
 * otherwise (their data is immutable in the API).
 */
import type { Logger } from 'pino';
import { controllerRefOf, type KubeObject, newControllerRef } from '../api/meta.js';
import type { ControllerRevision } from '../api/objects.js';
import { revisionData } from '../api/rollout.js';
import { isAlreadyExists, isNotFound } from '../api/status.js';
import type { PodTemplateSpec } from '../api/types/pod.js';
import type { ResourceClient } from '../client/resource.js';

export interface SyncRevisionsOptions {
  owner: KubeObject;
  kind: 'StatefulSet' | 'DaemonSet';
  template: PodTemplateSpec | undefined;
  /** `<owner>-<hash of the template>`. */
  name: string;
  /** The owner's revisions, oldest first (api/rollout.ts `ownedRevisions`). */
  revisions: ControllerRevision[];
  client: ResourceClient<ControllerRevision>;
  log: Logger;
}

export async function syncRevisions(o: SyncRevisionsOptions): Promise<ControllerRevision> {
  const ns = o.owner.metadata.namespace;
  const max = o.revisions.at(-1)?.revision ?? 0;
  const existing = o.revisions.find((r) => r.metadata.name === o.name);
  if (existing) {
    if (existing.revision === max) return existing;
    // The template went back to an older revision: that one becomes the newest.
    await o.client.in(ns).patch(o.name, 'merge', { revision: max + 1 });
    o.log.info({ owner: o.owner.metadata.name, revision: o.name, number: max + 1 }, 'revision renumbered');
    return { ...structuredClone(existing), revision: max + 1 };
  }
  const rev: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: o.name,
      namespace: ns,
      labels: { ...(o.template?.metadata?.labels ?? {}) },
      ownerReferences: [newControllerRef(o.owner, 'apps/v1', o.kind)],
    },
    data: revisionData(o.template),
    revision: max + 1,
  };
  try {
    const created = await o.client.in(ns).create(rev);
    o.log.info({ owner: o.owner.metadata.name, revision: o.name, number: max + 1 }, 'revision created');
    return created;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    // Made by an earlier sync the cache has not seen yet.
    const got = await o.client.in(ns).get(o.name);
    if (controllerRefOf(got)?.uid !== o.owner.metadata.uid) throw err;
    return got;
  }
}

/**
 * Revisions to delete (truncateHistory): beyond `limit`, the oldest of
 * those no live pod runs and that are neither current nor update.
 */
export function revisionsToTruncate(
  revisions: ControllerRevision[],
  live: Set<string>,
  limit: number,
): ControllerRevision[] {
  const old = revisions.filter((r) => !live.has(r.metadata.name ?? ''));
  return old.slice(0, Math.max(0, old.length - limit));
}

/** Deletes what `revisionsToTruncate` picked; one already gone counts as deleted. */
export async function truncateHistory(
  owner: KubeObject,
  revisions: ControllerRevision[],
  live: Set<string>,
  limit: number,
  client: ResourceClient<ControllerRevision>,
): Promise<void> {
  for (const r of revisionsToTruncate(revisions, live, limit)) {
    await client
      .in(owner.metadata.namespace)
      .delete(r.metadata.name ?? '')
      .catch((err) => {
        if (!isNotFound(err)) throw err;
      });
  }
}
