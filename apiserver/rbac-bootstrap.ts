/**
 * The default RBAC policy the apiserver creates when it starts, as
 * Kubernetes' bootstrap policy does: cluster-admin for system:masters,
 * discovery and the self-reviews for every authenticated user, the health
 * and version paths for everyone, and the user-facing admin, edit and view
 * roles, aggregated from the system:aggregate-to-* roles by label (the
 * clusterrole-aggregation controller keeps them aggregated afterwards), and
 * the roles of the controller-manager, scheduler and kube-proxy, and the
 * node TLS bootstrap roles with the bindings kubeadm makes for them.
 * An existing object is left as it is, so an administrator's change stays.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { isAlreadyExists } from '../api/status.js';
import type { PolicyRule } from './authz.js';
import type { ResourceStore } from './store.js';

const rbacGroup = 'rbac.authorization.k8s.io';
const apiVersion = `${rbacGroup}/v1`;
const bootstrapLabel = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const autoupdate = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});

const viewRules: PolicyRule[] = [
  rule(
    read,
    [''],
    [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
  ),
  rule(
    read,
    [''],
    [
      'bindings',
      'events',
      'limitranges',
      'namespaces/status',
      'pods/log',
      'pods/status',
      'replicationcontrollers/status',
      'resourcequotas',
      'resourcequotas/status',
    ],
  ),
  rule(read, [''], ['namespaces']),
  rule(read, ['discovery.k8s.io'], ['endpointslices']),
  rule(
    read,
    ['apps'],
    [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
  ),
  rule(read, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(read, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  rule(read, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(read, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];

const editRules: PolicyRule[] = [
  rule(
    ['create'],
    [''],
    ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'],
  ),
  rule(
    read,
    [''],
    ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'],
  ),
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(write, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  rule(['create'], [''], ['pods/eviction']),
  rule(
    write,
    [''],
    [
      'configmaps',
      'events',
      'persistentvolumeclaims',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'secrets',
      'serviceaccounts',
      'services',
      'services/proxy',
    ],
  ),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(
    write,
    ['apps'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'replicasets',
      'replicasets/scale',
      'statefulsets',
      'statefulsets/scale',
    ],
  ),
  rule(write, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(write, ['batch'], ['cronjobs', 'jobs']),
  rule(write, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  rule(write, ['policy'], ['poddisruptionbudgets']),
  rule(write, ['coordination.k8s.io'], ['leases']),
  rule(read, ['coordination.k8s.io'], ['leases']),
];

const adminRules: PolicyRule[] = [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule([...write, ...read], [rbacGroup], ['rolebindings', 'roles']),
];

const discoveryPaths = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/healthz',
  '/livez',
  '/openapi',
  '/openapi/*',
  '/readyz',
  '/version',
  '/version/',
];
const publicPaths = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

function clusterRole(
  name: string,
  rules: PolicyRule[],
  extra: { labels?: Record<string, string>; aggregateTo?: string } = {},
): KubeObject {
  const obj: KubeObject & Record<string, unknown> = {
    apiVersion,
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { ...bootstrapLabel, ...extra.labels },
      annotations: { ...autoupdate },
    },
    rules,
  };
  if (extra.aggregateTo)
    obj.aggregationRule = {
      clusterRoleSelectors: [{ matchLabels: { [`${rbacGroup}/aggregate-to-${extra.aggregateTo}`]: 'true' } }],
    };
  return obj;
}

function clusterRoleBinding(name: string, role: string, groups: string[], users: string[] = []): KubeObject {
  return {
    apiVersion,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...bootstrapLabel }, annotations: { ...autoupdate } },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: role },
    subjects: [
      ...groups.map((g) => ({ apiGroup: rbacGroup, kind: 'Group', name: g })),
      ...users.map((u) => ({ apiGroup: rbacGroup, kind: 'User', name: u })),
    ],
  } as KubeObject;
}

/** Events, as every component writes them. */
const eventRules = [rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events'])];

/**
 * The components' own roles. Kubernetes gives each controller a service
 * account of its own (--use-service-account-credentials); this project's
 * controller-manager runs as one identity, and its garbage collector and
 * namespace controller touch every kind, so its role covers all resources.
 */
const componentRoles = (): KubeObject[] => [
  clusterRole('system:kube-controller-manager', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]),
  clusterRole('system:kube-scheduler', [
    ...eventRules,
    rule(read, [''], ['nodes', 'namespaces', 'services', 'replicationcontrollers']),
    rule(['get', 'list', 'watch', 'delete'], [''], ['pods']),
    rule(['create'], [''], ['bindings', 'pods/binding']),
    rule(['patch', 'update'], [''], ['pods/status']),
    rule(['get', 'list', 'watch', 'patch', 'update'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(read, ['apps'], ['replicasets', 'statefulsets']),
    rule(read, ['policy'], ['poddisruptionbudgets']),
    rule(read, ['storage.k8s.io'], ['storageclasses', 'csinodes', 'csidrivers', 'csistoragecapacities']),
    rule(['create', 'get', 'list', 'watch', 'update'], ['coordination.k8s.io'], ['leases']),
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  ]),
  clusterRole('system:node-proxier', [
    ...eventRules,
    rule(read, [''], ['services', 'endpoints', 'nodes']),
    rule(read, ['discovery.k8s.io'], ['endpointslices']),
  ]),
  // Full use of the kubelet API and nothing else: the apiserver's kubelet client identity.
  clusterRole('system:kubelet-api-admin', [
    rule(read, [''], ['nodes']),
    rule(['proxy'], [''], ['nodes']),
    rule(
      ['*'],
      [''],
      ['nodes/proxy', 'nodes/metrics', 'nodes/stats', 'nodes/log', 'nodes/pods', 'nodes/healthz'],
    ),
  ]),
];

/**
 * TLS bootstrapping of kubelets: system:node-bootstrapper lets a joining
 * kubelet ask for a certificate and watch for it; the nodeclient and
 * selfnodeclient roles are what the controller-manager's approver checks
 * (a SubjectAccessReview for create on the subresource) before it approves
 * a first client certificate or the renewal of a node's own.
 */
const certificatesGroup = 'certificates.k8s.io';
const nodeBootstrapRoles = (): KubeObject[] => [
  clusterRole('system:node-bootstrapper', [
    rule(['create', 'get', 'list', 'watch'], [certificatesGroup], ['certificatesigningrequests']),
  ]),
  clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [
    rule(['create'], [certificatesGroup], ['certificatesigningrequests/nodeclient']),
  ]),
  clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
    rule(['create'], [certificatesGroup], ['certificatesigningrequests/selfnodeclient']),
  ]),
];

/** The bindings `kubeadm init` makes for the roles above: bootstrap tokens may join, nodes may renew. */
const nodeBootstrapBindings = (): KubeObject[] => [
  clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', ['system:bootstrappers']),
  clusterRoleBinding(
    'kubeadm:node-autoapprove-bootstrap',
    'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    ['system:bootstrappers'],
  ),
  clusterRoleBinding(
    'kubeadm:node-autoapprove-certificate-rotation',
    'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    ['system:nodes'],
  ),
];

const aggregateLabel = (to: string) => ({ [`${rbacGroup}/aggregate-to-${to}`]: 'true' });

/** The default ClusterRoles. admin, edit and view carry their aggregated rules already. */
export function defaultClusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['*'], nonResourceURLs: ['*'] },
    ]),
    clusterRole('system:discovery', [{ verbs: ['get'], nonResourceURLs: discoveryPaths }]),
    clusterRole('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: publicPaths }]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:aggregate-to-view', viewRules, { labels: aggregateLabel('view') }),
    clusterRole('system:aggregate-to-edit', editRules, { labels: aggregateLabel('edit') }),
    clusterRole('system:aggregate-to-admin', adminRules, { labels: aggregateLabel('admin') }),
    clusterRole('view', viewRules, { labels: aggregateLabel('edit'), aggregateTo: 'view' }),
    clusterRole('edit', [...editRules, ...viewRules], {
      labels: aggregateLabel('admin'),
      aggregateTo: 'edit',
    }),
    clusterRole('admin', [...adminRules, ...editRules, ...viewRules], { aggregateTo: 'admin' }),
    ...componentRoles(),
    ...nodeBootstrapRoles(),
  ];
}

export function defaultClusterRoleBindings(): KubeObject[] {
  return [
    clusterRoleBinding('cluster-admin', 'cluster-admin', ['system:masters']),
    clusterRoleBinding('system:discovery', 'system:discovery', ['system:authenticated']),
    clusterRoleBinding('system:basic-user', 'system:basic-user', ['system:authenticated']),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [
      'system:authenticated',
      'system:unauthenticated',
    ]),
    clusterRoleBinding(
      'system:kube-controller-manager',
      'system:kube-controller-manager',
      [],
      ['system:kube-controller-manager'],
    ),
    clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [], ['system:kube-scheduler']),
    clusterRoleBinding('system:node-proxier', 'system:node-proxier', [], ['system:kube-proxy']),
    clusterRoleBinding(
      'kube-apiserver-kubelet-client',
      'system:kubelet-api-admin',
      [],
      ['kube-apiserver-kubelet-client'],
    ),
    ...nodeBootstrapBindings(),
  ];
}

/** Creates every default role and binding that is missing. */
export async function ensureBootstrapPolicy(
  clusterRoles: ResourceStore,
  clusterRoleBindings: ResourceStore,
  log: Logger,
): Promise<void> {
  let created = 0;
  for (const [store, objs] of [
    [clusterRoles, defaultClusterRoles()],
    [clusterRoleBindings, defaultClusterRoleBindings()],
  ] as const) {
    for (const obj of objs) {
      try {
        await store.create(undefined, obj);
        created++;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
  }
  if (created > 0) log.info({ created }, 'created the default RBAC roles and bindings');
}
