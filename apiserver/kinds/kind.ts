/**
 * A kind's entry: everything the apiserver does differently for one kind,
 * in one place. The generic store and handlers look a ResourceType's entry
 * up once (kinds/index.ts) and call its hooks; a kind without an entry gets
 * the generic behaviour throughout.
 */
import type { Admission } from '../admission.js';
import type { Authorizer } from '../authz.js';
import type { ServiceAllocator } from '../service-alloc.js';
import type { ResourceStore } from '../store.js';
import type { Strategy } from '../strategy.js';
import type { Subresource } from '../subresources.js';

/** What a kind's admission may read: other kinds' stores (as Kubernetes' listers) and the shared allocators. */
export interface AdmissionContext {
  store(group: string, version: string, plural: string): ResourceStore | undefined;
  serviceAllocator: ServiceAllocator;
  /** The authorizer, built after the stores it reads; call it at request time only. */
  authorizer(): Authorizer;
  /** Whether this apiserver issues service account tokens (pods then get the token volume). */
  mountServiceAccountToken: boolean;
}

export interface Kind {
  /** The kind's strategy, composed over the generic one; `now` stamps the conditions it fills in. */
  strategy?(base: Strategy, now: () => Date): Strategy;
  /** Passed to the generic strategy: a client may set status on create. */
  keepsStatusOnCreate?: boolean;
  /** The kind's admission steps, given what they read. */
  admission?(ctx: AdmissionContext): Admission;
  /** Handlers of the kind's own subresources, by name (status and scale are generic). */
  subresources?: Readonly<Record<string, Subresource>>;
  /**
   * Cluster-scoped, yet also served under `/namespaces/{ns}/` (the namespaces
   * resource itself); other cluster-scoped kinds are 404 there.
   */
  servedUnderNamespace?: boolean;
}
