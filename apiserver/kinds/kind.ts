/**
 * A kind's entry: everything the apiserver does differently for one kind,
 * in one place. The generic store and handlers look a ResourceType's entry
 * up once (kinds/index.ts) and call its hooks; a kind without an entry gets
 * the generic behaviour throughout.
 */
import type { KubeObject } from '../../api/meta.js';
import type { GroupResource } from '../../api/status.js';
import type { UserInfo } from '../authn.js';
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

/** A kind's admission steps, in the order the store runs them. */
export interface Admission {
  /**
   * Runs first on every delete, the apiserver's own included, and throws to
   * refuse it (NamespaceLifecycle keeps the system namespaces).
   */
  admitDelete?(name: string, gr: GroupResource): void;
  /**
   * Mutating admission of create only (the ServiceAccount plugin for pods):
   * runs after defaults and before validation, so what it adds is
   * validated, and on dry-run too. It may read other objects; it claims
   * nothing (that is `admit`).
   */
  mutateOnCreate?(obj: KubeObject): Promise<void>;
  /**
   * Validating admission of updates that depends on who writes (the
   * CertificateApproval and CertificateSigning plugins): runs after the
   * strategy and validation, on dry-run too, and throws to refuse. Writes
   * without a user (the apiserver's own) are not checked.
   */
  admitUpdate?(obj: KubeObject, old: KubeObject, subresource: string | undefined, user: UserInfo): void;
  /**
   * The last step before the write, not on dry-run: claims resources
   * outside the object (service IPs and node ports) and may fill fields;
   * its claims are rolled back if the write does not land. On create, and
   * on updates of the main resource.
   */
  admit?(obj: KubeObject, old: KubeObject | undefined): Promise<{ rollback(): Promise<void> }>;
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
