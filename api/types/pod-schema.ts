/**
 * core/v1 Pod schemas: scheduling constraints, PodSpec, PodStatus, Pod and
 * PodTemplateSpec. Re-exported from `pod.ts`; import from there.
 */
import type { Static } from '@sinclair/typebox';
import { LabelSelector, LocalObjectReference, ObjectMeta, TypeMeta } from '../meta.js';
import {
  AtomicList,
  Bool,
  Int,
  Int64,
  List,
  MapList,
  Open,
  ResourceList,
  Str,
  StrMap,
  Struct,
  T,
  Time,
} from '../schema.js';
import {
  AppArmorProfile,
  Container,
  EphemeralContainer,
  ResourceRequirements,
  SELinuxOptions,
  SeccompProfile,
  WindowsSecurityContextOptions,
} from './pod-container.js';
import { Volume } from './pod-volume.js';

/** metav1.Time fields that are structs in Go marshal as null when zero. */
const MaybeTime = (description?: string) => T.Union([Time(), T.Null()], description ? { description } : {});

// ---- scheduling ----

export const NodeSelectorRequirement = Struct(
  {
    key: Str('Label (or field) key.'),
    operator: Str('In, NotIn, Exists, DoesNotExist, Gt or Lt.'),
    values: List(Str(), 'Values to compare with.'),
  },
  'A requirement on a node label: key, operator and values.',
);

export const NodeSelectorTerm = Struct(
  {
    matchExpressions: List(NodeSelectorRequirement, 'Requirements on node labels.'),
    matchFields: List(NodeSelectorRequirement, 'Requirements on node fields (metadata.name).'),
  },
  'Requirements that must all hold; an empty term matches no node.',
);

export const NodeSelector = Struct(
  { nodeSelectorTerms: List(NodeSelectorTerm, 'Terms of which at least one must hold.') },
  'A selection of nodes.',
);

export const PreferredSchedulingTerm = Struct(
  {
    weight: Int('Weight 1-100 added to a node score when the preference holds.'),
    preference: NodeSelectorTerm,
  },
  'A weighted node preference.',
);

export const NodeAffinity = Struct(
  {
    requiredDuringSchedulingIgnoredDuringExecution: NodeSelector,
    preferredDuringSchedulingIgnoredDuringExecution: List(PreferredSchedulingTerm),
  },
  'Rules on which nodes the pod may or should run.',
);

export const PodAffinityTerm = Struct(
  {
    labelSelector: LabelSelector,
    namespaceSelector: LabelSelector,
    namespaces: List(Str(), 'Namespaces the selector applies to; the pod namespace when empty.'),
    topologyKey: Str('Node label whose equal values define "together".'),
    matchLabelKeys: List(Str(), 'Pod label keys whose values are added to the selector.'),
    mismatchLabelKeys: List(Str(), 'Pod label keys whose values are excluded by the selector.'),
  },
  'A set of pods and the topology domain to be (or not be) in with them.',
);

export const WeightedPodAffinityTerm = Struct(
  {
    weight: Int('Weight 1-100.'),
    podAffinityTerm: PodAffinityTerm,
  },
  'A weighted pod (anti-)affinity preference.',
);

export const PodAffinity = Struct(
  {
    requiredDuringSchedulingIgnoredDuringExecution: List(PodAffinityTerm),
    preferredDuringSchedulingIgnoredDuringExecution: List(WeightedPodAffinityTerm),
  },
  'Rules to place the pod in the same domain as other pods.',
);

export const Affinity = Struct(
  { nodeAffinity: NodeAffinity, podAffinity: PodAffinity, podAntiAffinity: PodAffinity },
  'Scheduling constraints on nodes and on other pods.',
);
export type Affinity = Static<typeof Affinity>;

export const Toleration = Struct(
  {
    key: Str('Taint key to tolerate; empty with Exists tolerates every taint.'),
    operator: Str('Equal or Exists; Equal by default.'),
    value: Str('Taint value to match, for Equal.'),
    effect: Str('NoSchedule, PreferNoSchedule or NoExecute; empty matches all.'),
    tolerationSeconds: Int64('For NoExecute: how long the pod stays bound after the taint appears.'),
  },
  'Lets the pod be scheduled onto (or stay on) nodes with a matching taint.',
);
export type Toleration = Static<typeof Toleration>;

export const TopologySpreadConstraint = Struct(
  {
    maxSkew: Int('Largest allowed difference in matching pods between domains.'),
    topologyKey: Str('Node label that defines the domains.'),
    whenUnsatisfiable: Str('DoNotSchedule or ScheduleAnyway.'),
    labelSelector: LabelSelector,
    minDomains: Int('Least number of eligible domains.'),
    nodeAffinityPolicy: Str('Honor or Ignore.'),
    nodeTaintsPolicy: Str('Honor or Ignore.'),
    matchLabelKeys: List(Str(), 'Pod label keys whose values are added to the selector.'),
  },
  'How to spread matching pods across topology domains.',
);

// ---- the rest of the spec ----

export const PodSecurityContext = Struct(
  {
    seLinuxOptions: SELinuxOptions,
    windowsOptions: WindowsSecurityContextOptions,
    runAsUser: Int64('UID for the entrypoint of every container.'),
    runAsGroup: Int64('GID for the entrypoint of every container.'),
    runAsNonRoot: Bool('Refuse to start containers that would run as UID 0.'),
    supplementalGroups: List(Int64(), 'Extra GIDs for the first process of every container.'),
    supplementalGroupsPolicy: Str('Merge or Strict.'),
    fsGroup: Int64('GID that owns volumes and is added to every container.'),
    sysctls: List(Struct({ name: Str('Sysctl name.'), value: Str('Value to set.') })),
    fsGroupChangePolicy: Str('OnRootMismatch or Always.'),
    seccompProfile: SeccompProfile,
    appArmorProfile: AppArmorProfile,
    seLinuxChangePolicy: Str('MountOption or Recursive.'),
  },
  'Security settings for every container of the pod.',
);

export const HostAlias = Struct(
  {
    ip: Str('IP address.'),
    hostnames: List(Str(), 'Host names for the address.'),
  },
  'An extra /etc/hosts entry of the pod.',
);

export const PodDNSConfig = Struct(
  {
    nameservers: List(Str(), 'Extra DNS server IPs.'),
    searches: List(Str(), 'Extra search domains.'),
    options: List(Struct({ name: Str('Option name.'), value: Str('Option value.') })),
  },
  'Extra DNS settings merged into the generated resolv.conf.',
);

export const PodResourceClaim = Struct(
  {
    name: Str('Name of the claim within the pod.'),
    resourceClaimName: Str('Name of an existing ResourceClaim.'),
    resourceClaimTemplateName: Str('Name of a ResourceClaimTemplate to make a claim from.'),
  },
  'A dynamically allocated resource the pod needs.',
);

export const PodSpec = Struct(
  {
    volumes: MapList(Volume, ['name'], 'Volumes containers of the pod can mount.', { retainKeys: true }),
    initContainers: MapList(
      Container,
      ['name'],
      'Containers run in order, each to completion, before the app containers.',
    ),
    containers: MapList(Container, ['name'], 'The app containers; at least one.'),
    ephemeralContainers: MapList(EphemeralContainer, ['name'], 'Debug containers added to the running pod.'),
    restartPolicy: Str('Always, OnFailure or Never; Always by default.'),
    terminationGracePeriodSeconds: Int64('Seconds between SIGTERM and SIGKILL on deletion; 30 by default.'),
    activeDeadlineSeconds: Int64('Seconds the pod may be active before it is failed.'),
    dnsPolicy: Str('ClusterFirst, ClusterFirstWithHostNet, Default or None.'),
    nodeSelector: StrMap('Labels a node must have to run the pod.'),
    serviceAccountName: Str('ServiceAccount the pod runs as.'),
    serviceAccount: Str('Deprecated alias of serviceAccountName.'),
    automountServiceAccountToken: Bool('Whether to mount a service account token.'),
    nodeName: Str('Node the pod is bound to; set by the scheduler.'),
    hostNetwork: Bool("Use the node's network namespace."),
    hostPID: Bool("Use the node's process namespace."),
    hostIPC: Bool("Use the node's IPC namespace."),
    shareProcessNamespace: Bool('Share one process namespace between the containers.'),
    securityContext: PodSecurityContext,
    imagePullSecrets: MapList(LocalObjectReference, ['name'], 'Secrets used to pull images.'),
    hostname: Str('Host name of the pod; the pod name by default.'),
    subdomain: Str('Subdomain: the pod gets <hostname>.<subdomain>.<ns>.svc.<domain>.'),
    affinity: Affinity,
    schedulerName: Str('Scheduler that places the pod; default-scheduler by default.'),
    tolerations: AtomicList(Toleration, 'Taints the pod tolerates.'),
    hostAliases: MapList(HostAlias, ['ip'], 'Extra /etc/hosts entries.'),
    priorityClassName: Str('PriorityClass that gives the pod its priority.'),
    priority: Int('Priority, resolved from priorityClassName at admission.'),
    dnsConfig: PodDNSConfig,
    readinessGates: List(
      Struct({ conditionType: Str('Pod condition type.') }),
      'Extra conditions for Ready.',
    ),
    runtimeClassName: Str('RuntimeClass to run the pod with.'),
    enableServiceLinks: Bool('Inject service environment variables; true by default.'),
    preemptionPolicy: Str('PreemptLowerPriority or Never.'),
    overhead: ResourceList('Resources the sandbox itself uses.'),
    topologySpreadConstraints: MapList(
      TopologySpreadConstraint,
      ['topologyKey', 'whenUnsatisfiable'],
      'How matching pods are spread across topology domains.',
    ),
    setHostnameAsFQDN: Bool('Make the kernel host name the fully qualified domain name.'),
    os: Struct({ name: Str('linux or windows.') }, 'The operating system the pod needs.'),
    hostUsers: Bool("Use the node's user namespace; true by default."),
    schedulingGates: MapList(
      Struct({ name: Str('Gate name.') }),
      ['name'],
      'Gates that hold the pod back from scheduling.',
    ),
    resourceClaims: MapList(PodResourceClaim, ['name'], 'Dynamically allocated resources the pod needs.', {
      retainKeys: true,
    }),
    resources: ResourceRequirements,
    hostnameOverride: Str('Host name to use instead of the generated one.'),
  },
  'The desired state of a pod: its containers, volumes and how it is scheduled and run.',
);
export type PodSpec = Static<typeof PodSpec>;

// ---- status ----

export const ContainerState = Struct(
  {
    waiting: Struct({
      reason: Str('Why the container is not running yet.'),
      message: Str('Details of the reason.'),
    }),
    running: Struct({ startedAt: MaybeTime('When the container last started.') }),
    terminated: Struct({
      exitCode: Int('Exit code of the last termination.'),
      signal: Int('Signal that ended the container.'),
      reason: Str('Why it terminated.'),
      message: Str('Details of the termination.'),
      startedAt: MaybeTime('When it started.'),
      finishedAt: MaybeTime('When it ended.'),
      containerID: Str('Runtime id of the container.'),
    }),
  },
  'State of a container: one of waiting, running or terminated.',
);

export const ContainerStatus = Struct(
  {
    name: Str('Container name.'),
    state: ContainerState,
    lastState: ContainerState,
    ready: Bool('Whether the container passes its readiness probe.'),
    restartCount: Int('Number of times the container restarted.'),
    image: Str('Image the container runs.'),
    imageID: Str('Image id the runtime resolved.'),
    containerID: Str('<runtime>://<id> of the container.'),
    started: Bool('Whether the container has started and passed its startup probe.'),
    allocatedResources: ResourceList('Resources allocated to the container.'),
    resources: ResourceRequirements,
    volumeMounts: List(
      Struct({
        name: Str('Volume name.'),
        mountPath: Str('Path inside the container.'),
        readOnly: Bool('Mounted read-only.'),
        recursiveReadOnly: Str('Disabled or Enabled.'),
      }),
    ),
    user: Open('User identity of the first process.'),
    allocatedResourcesStatus: List(Open()),
    stopSignal: Str('Signal used to stop the container.'),
  },
  'Observed state of one container.',
);
export type ContainerStatus = Static<typeof ContainerStatus>;

export const PodCondition = Struct(
  {
    type: Str('PodScheduled, Initialized, ContainersReady, Ready, ...'),
    observedGeneration: Int64(),
    status: Str('True, False or Unknown.'),
    lastProbeTime: MaybeTime(),
    lastTransitionTime: MaybeTime(),
    reason: Str(),
    message: Str(),
  },
  'One condition of the pod: its type, status and why.',
);
export type PodCondition = Static<typeof PodCondition>;

const PodIP = Struct({ ip: Str('IP address.') });

export const PodStatus = Struct(
  {
    observedGeneration: Int64('Generation of the pod this status was written for.'),
    phase: Str('Pending, Running, Succeeded, Failed or Unknown.'),
    conditions: MapList(PodCondition, ['type'], 'Current conditions of the pod.'),
    message: Str('Why the pod is in this state, for people.'),
    reason: Str('Why the pod is in this state, one CamelCase word (e.g. Evicted).'),
    nominatedNodeName: Str('Node the pod may run on once preemption ends.'),
    hostIP: Str('IP of the node the pod runs on.'),
    hostIPs: List(PodIP, 'IPs of the node.'),
    podIP: Str('IP of the pod.'),
    podIPs: MapList(PodIP, ['ip'], 'IPs of the pod; the first equals podIP.'),
    startTime: Time('When the kubelet accepted the pod.'),
    initContainerStatuses: List(ContainerStatus, 'Observed state of each init container.'),
    containerStatuses: List(ContainerStatus, 'Observed state of each app container.'),
    ephemeralContainerStatuses: List(ContainerStatus, 'Observed state of each ephemeral container.'),
    qosClass: Str('Guaranteed, Burstable or BestEffort, from the resources.'),
    resize: Str('Status of a pending in-place resize.'),
    resourceClaimStatuses: List(Struct({ name: Str(), resourceClaimName: Str() })),
    extendedResourceClaimStatus: Open(),
  },
  'The observed state of a pod.',
);
export type PodStatus = Static<typeof PodStatus>;

export const Pod = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: PodSpec, status: PodStatus },
  'A pod: one or more containers that share a network namespace and volumes and run together on a node.',
);
export type Pod = Static<typeof Pod>;

export const PodTemplateSpec = Struct(
  { metadata: ObjectMeta, spec: PodSpec },
  'A template for pods that controllers create.',
);
export type PodTemplateSpec = Static<typeof PodTemplateSpec>;
