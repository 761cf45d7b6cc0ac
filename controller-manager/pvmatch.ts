/**
 * Which PersistentVolume a claim binds to, as Kubernetes' binder chooses:
 * the smallest Available volume whose capacity covers the request, whose
 * access modes include the claim's, of the same class and volume mode, and
 * whose labels match the claim's selector; a volume pre-bound to the claim
 * (claimRef naming it) wins over any other.
 */
import { compareQuantities } from '../api/quantity.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import type { PV, PVC } from './localpath.js';

/** Whether a volume's claimRef names this claim (a uid, when set, must match too). */
export function refersTo(pv: PV, claim: PVC): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata.name || (ref.namespace ?? '') !== (claim.metadata.namespace ?? ''))
    return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

/** The claimRef that binds a volume to `claim` (pinned to the claim's uid and resourceVersion). */
export function claimReference(claim: PVC) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: claim.metadata.namespace,
    name: claim.metadata.name,
    uid: claim.metadata.uid,
    resourceVersion: claim.metadata.resourceVersion,
  };
}

const capacityOf = (pv: PV) => pv.spec?.capacity?.storage ?? '0';

/** Whether `pv` satisfies `claim`, apart from who it is bound to. */
export function fits(pv: PV, claim: PVC): boolean {
  const spec = claim.spec ?? {};
  if ((pv.spec?.storageClassName ?? '') !== (spec.storageClassName ?? '')) return false;
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (spec.volumeMode ?? 'Filesystem')) return false;
  const modes = pv.spec?.accessModes ?? [];
  if (!(spec.accessModes ?? []).every((m) => modes.includes(m))) return false;
  const request = spec.resources?.requests?.storage ?? '0';
  if (compareQuantities(capacityOf(pv), request) < 0) return false;
  if (spec.selector && !labelSelectorFromObject(spec.selector).matches(pv.metadata.labels)) return false;
  return true;
}

/** The volume `claim` should bind to, or undefined when none fits. */
export function findBestVolume(volumes: PV[], claim: PVC): PV | undefined {
  let best: PV | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp || !fits(pv, claim)) continue;
    if (pv.spec?.claimRef) {
      if (refersTo(pv, claim)) return pv;
      continue;
    }
    if ((pv.status?.phase ?? 'Available') !== 'Available' && pv.status?.phase !== 'Pending') continue;
    if (!best || compareQuantities(capacityOf(pv), capacityOf(best)) < 0) best = pv;
  }
  return best;
}
