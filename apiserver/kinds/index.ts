/**
 * The kinds with behaviour of their own, by group and resource. Everything
 * else in the apiserver is generic: it looks a type's entry up here once
 * and calls its hooks.
 */
import type { ResourceType } from '../../api/registry.js';
import { genericStrategy, type Strategy } from '../strategy.js';
import { certificateSigningRequests } from './certificatesigningrequests.js';
import { customResourceDefinitions } from './customresourcedefinitions.js';
import { ingresses } from './ingresses.js';
import type { Kind } from './kind.js';
import { namespaces } from './namespaces.js';
import { nodes } from './nodes.js';
import { persistentVolumes } from './persistentvolumes.js';
import { pods } from './pods.js';
import { services } from './services.js';

const kinds = new Map<string, Kind>([
  ['/namespaces', namespaces],
  ['/nodes', nodes],
  ['/persistentvolumes', persistentVolumes],
  ['/pods', pods],
  ['/services', services],
  ['apiextensions.k8s.io/customresourcedefinitions', customResourceDefinitions],
  ['certificates.k8s.io/certificatesigningrequests', certificateSigningRequests],
  ['networking.k8s.io/ingresses', ingresses],
]);

const generic: Kind = {};

/** The entry of `rt`'s kind; an empty one (generic throughout) for kinds without one. */
export function kindOf(rt: Pick<ResourceType, 'group' | 'plural'>): Kind {
  return kinds.get(`${rt.group}/${rt.plural}`) ?? generic;
}

/** The store's strategy for `rt`; `now` stamps the conditions a strategy fills in. */
export function strategyFor(rt: ResourceType, now: () => Date = () => new Date()): Strategy {
  const kind = kindOf(rt);
  const base = genericStrategy(rt, { keepsStatusOnCreate: kind.keepsStatusOnCreate });
  return kind.strategy?.(base, now) ?? base;
}
