/**
 * core/v1 Container and the pieces it is made of: ports, environment,
 * resources, mounts, probes, lifecycle hooks and the security context.
 * Re-exported from `pod.ts`; import from there.
 */
import type { Static } from '@sinclair/typebox';
import {
  Bool,
  Int,
  Int64,
  IntOrString,
  List,
  MapList,
  Quantity,
  ResourceList,
  Str,
  Struct,
} from '../schema.js';

// ---- environment ----

export const ObjectFieldSelector = Struct(
  {
    apiVersion: Str('Version of the schema fieldPath is written in; v1 by default.'),
    fieldPath: Str('Path of the field to select, e.g. metadata.name or status.podIP.'),
  },
  'Selects a field of the pod.',
);

export const ResourceFieldSelector = Struct(
  {
    containerName: Str('Container whose resources are read; required for volumes.'),
    resource: Str('The resource to select, e.g. limits.cpu or requests.memory.'),
    divisor: Quantity('Unit the value is divided by; 1 by default.'),
  },
  'Selects a request or limit of a container.',
);

export const ConfigMapKeySelector = Struct(
  {
    name: Str('Name of the ConfigMap.'),
    key: Str('The key to read.'),
    optional: Bool('Whether the ConfigMap or key may be missing.'),
  },
  'Selects a key of a ConfigMap.',
);

export const SecretKeySelector = Struct(
  {
    name: Str('Name of the Secret.'),
    key: Str('The key to read.'),
    optional: Bool('Whether the Secret or key may be missing.'),
  },
  'Selects a key of a Secret.',
);

export const FileKeySelector = Struct(
  {
    volumeName: Str('Name of the emptyDir volume holding the file.'),
    path: Str('Path of the env file inside the volume.'),
    key: Str('The key to read from the file.'),
    optional: Bool('Whether the file or key may be missing.'),
  },
  'Selects a key of an env file in a volume.',
);

export const EnvVarSource = Struct(
  {
    fieldRef: ObjectFieldSelector,
    resourceFieldRef: ResourceFieldSelector,
    configMapKeyRef: ConfigMapKeySelector,
    secretKeyRef: SecretKeySelector,
    fileKeyRef: FileKeySelector,
  },
  'Where the value of an environment variable comes from; exactly one source.',
);

export const EnvVar = Struct(
  {
    name: Str('Name of the variable.'),
    value: Str('Literal value; $(VAR) references to earlier variables are expanded.'),
    valueFrom: EnvVarSource,
  },
  'An environment variable of a container.',
);
export type EnvVar = Static<typeof EnvVar>;

const OptionalRef = Struct(
  {
    name: Str('Name of the referent.'),
    optional: Bool('Whether it may be missing.'),
  },
  'Names a ConfigMap or Secret whose keys all become environment variables.',
);

export const EnvFromSource = Struct(
  {
    prefix: Str('Prefix added to every key.'),
    configMapRef: OptionalRef,
    secretRef: OptionalRef,
  },
  'A ConfigMap or Secret whose keys all become environment variables.',
);

// ---- ports, resources, mounts ----

export const ContainerPort = Struct(
  {
    name: Str('IANA service name for the port, unique within the pod.'),
    hostPort: Int('Port to expose on the host.'),
    containerPort: Int('Port number the container listens on.'),
    protocol: { ...Str('TCP, UDP or SCTP; TCP by default.'), default: 'TCP' },
    hostIP: Str('Host IP to bind the host port to.'),
  },
  'A network port of a container.',
);

export const ResourceClaim = Struct(
  {
    name: Str('Name of an entry in the pod spec resourceClaims.'),
    request: Str('Name of a request within that claim.'),
  },
  'A claim of the pod that this container uses.',
);

export const ResourceRequirements = Struct(
  {
    limits: ResourceList('Most of each resource the container may use.'),
    requests: ResourceList('Least of each resource the container needs; used for scheduling.'),
    claims: List(ResourceClaim, 'Dynamically allocated resources the container uses.'),
  },
  'Compute resources a container needs and may use.',
);
export type ResourceRequirements = Static<typeof ResourceRequirements>;

export const ContainerResizePolicy = Struct(
  {
    resourceName: Str('cpu or memory.'),
    restartPolicy: Str('NotRequired or RestartContainer.'),
  },
  'How a container reacts when a resource is resized in place.',
);

export const VolumeMount = Struct(
  {
    name: Str('Name of a volume of the pod.'),
    readOnly: Bool('Mount read-only.'),
    recursiveReadOnly: Str('Disabled, IfPossible or Enabled.'),
    mountPath: Str('Path inside the container.'),
    subPath: Str('Path within the volume to mount instead of its root.'),
    mountPropagation: Str('None, HostToContainer or Bidirectional.'),
    subPathExpr: Str('Like subPath, with $(VAR) expanded from the environment.'),
  },
  'Mounts a volume into a container.',
);

export const VolumeDevice = Struct(
  {
    name: Str('Name of a PersistentVolumeClaim volume of the pod.'),
    devicePath: Str('Path of the block device inside the container.'),
  },
  'A raw block device mapped into the container.',
);

// ---- probes and hooks ----

export const ExecAction = Struct(
  {
    command: List(Str(), 'Command to run in the container; exit 0 means healthy.'),
  },
  'Runs a command inside the container; exit code 0 means success.',
);

export const HTTPHeader = Struct({ name: Str('Header name.'), value: Str('Header value.') });

export const HTTPGetAction = Struct(
  {
    path: Str('Path to request.'),
    port: IntOrString('Port number or name.'),
    host: Str('Host to connect to; the pod IP by default.'),
    scheme: Str('HTTP or HTTPS; HTTP by default.'),
    httpHeaders: List(HTTPHeader, 'Extra request headers.'),
  },
  'Sends an HTTP GET; a status from 200 to 399 means success.',
);

export const TCPSocketAction = Struct(
  {
    port: IntOrString('Port number or name.'),
    host: Str('Host to connect to; the pod IP by default.'),
  },
  'Opens a TCP connection; success if it connects.',
);

export const GRPCAction = Struct(
  {
    port: Int('Port of the gRPC health service.'),
    service: Str('Service name sent in the health check request.'),
  },
  'Calls the gRPC health checking service.',
);

export const SleepAction = Struct({ seconds: Int64('Seconds to sleep.') }, 'Sleeps for a number of seconds.');

export const Probe = Struct(
  {
    exec: ExecAction,
    httpGet: HTTPGetAction,
    tcpSocket: TCPSocketAction,
    grpc: GRPCAction,
    initialDelaySeconds: Int('Seconds after start before the first probe.'),
    timeoutSeconds: Int('Seconds before a probe times out; 1 by default.'),
    periodSeconds: Int('Seconds between probes; 10 by default.'),
    successThreshold: Int('Successes in a row to count as passing; 1 by default.'),
    failureThreshold: Int('Failures in a row to count as failing; 3 by default.'),
    terminationGracePeriodSeconds: Int64('Grace period used when a failed probe kills the container.'),
  },
  'A health check the kubelet runs against a container.',
);
export type Probe = Static<typeof Probe>;

export const LifecycleHandler = Struct(
  { exec: ExecAction, httpGet: HTTPGetAction, tcpSocket: TCPSocketAction, sleep: SleepAction },
  'An action run at a point of the container lifecycle.',
);

export const Lifecycle = Struct(
  {
    postStart: LifecycleHandler,
    preStop: LifecycleHandler,
    stopSignal: Str('Signal sent to stop the container.'),
  },
  'Actions the kubelet runs after start and before stop.',
);

// ---- security ----

export const Capabilities = Struct(
  {
    add: List(Str(), 'Capabilities to add.'),
    drop: List(Str(), 'Capabilities to drop.'),
  },
  'Linux capabilities to add to or drop from the container.',
);

export const SELinuxOptions = Struct(
  {
    user: Str('SELinux user label.'),
    role: Str('SELinux role label.'),
    type: Str('SELinux type label.'),
    level: Str('SELinux level label.'),
  },
  'SELinux labels for the container.',
);

export const WindowsSecurityContextOptions = Struct(
  {
    gmsaCredentialSpecName: Str('Name of the GMSA credential spec to use.'),
    gmsaCredentialSpec: Str('Contents of the GMSA credential spec.'),
    runAsUserName: Str('Windows user to run the entrypoint as.'),
    hostProcess: Bool('Run as a Windows host process container.'),
  },
  'Windows-specific settings; ignored on Linux nodes.',
);

export const SeccompProfile = Struct(
  {
    type: Str('RuntimeDefault, Unconfined or Localhost.'),
    localhostProfile: Str('Profile file on the node, for Localhost.'),
  },
  'The seccomp profile the container runs with.',
);

export const AppArmorProfile = Struct(
  {
    type: Str('RuntimeDefault, Unconfined or Localhost.'),
    localhostProfile: Str('Profile loaded on the node, for Localhost.'),
  },
  'The AppArmor profile the container runs with.',
);

export const SecurityContext = Struct(
  {
    capabilities: Capabilities,
    privileged: Bool('Run privileged: like root on the host.'),
    seLinuxOptions: SELinuxOptions,
    windowsOptions: WindowsSecurityContextOptions,
    runAsUser: Int64('UID to run the entrypoint as.'),
    runAsGroup: Int64('GID to run the entrypoint as.'),
    runAsNonRoot: Bool('Refuse to start if the image would run as UID 0.'),
    readOnlyRootFilesystem: Bool('Mount the root filesystem read-only.'),
    allowPrivilegeEscalation: Bool('Whether a process may gain more privileges than its parent.'),
    procMount: Str('Default or Unmasked.'),
    seccompProfile: SeccompProfile,
    appArmorProfile: AppArmorProfile,
  },
  'Security settings of a container; they override the pod security context.',
);

export const ContainerRestartRule = Struct(
  {
    action: Str('Restart.'),
    exitCodes: Struct({
      operator: Str('In or NotIn.'),
      values: List(Int(), 'Exit codes.'),
    }),
  },
  'A rule that decides whether a container is restarted on a given exit code.',
);

/** The fields of Container, shared with EphemeralContainer. */
const containerFields = {
  name: Str('Name of the container, a DNS label unique within the pod.'),
  image: Str('Container image reference.'),
  command: List(Str(), 'Entrypoint; the image ENTRYPOINT when empty.'),
  args: List(Str(), 'Arguments to the entrypoint; the image CMD when empty.'),
  workingDir: Str('Working directory; the image default when empty.'),
  ports: MapList(ContainerPort, ['containerPort', 'protocol'], 'Ports the container exposes.'),
  envFrom: List(EnvFromSource, 'Sources whose keys all become environment variables.'),
  env: MapList(EnvVar, ['name'], 'Environment variables.'),
  resources: ResourceRequirements,
  resizePolicy: List(ContainerResizePolicy, 'How each resource may be resized in place.'),
  restartPolicy: Str('Only Always, for init containers that run as sidecars.'),
  restartPolicyRules: List(ContainerRestartRule, 'Per-exit-code restart rules.'),
  volumeMounts: MapList(VolumeMount, ['mountPath'], 'Volumes to mount into the filesystem.'),
  volumeDevices: MapList(VolumeDevice, ['devicePath'], 'Block devices to expose.'),
  livenessProbe: Probe,
  readinessProbe: Probe,
  startupProbe: Probe,
  lifecycle: Lifecycle,
  terminationMessagePath: Str('File the termination message is read from; /dev/termination-log by default.'),
  terminationMessagePolicy: Str('File, or FallbackToLogsOnError.'),
  imagePullPolicy: Str('Always, Never or IfNotPresent.'),
  securityContext: SecurityContext,
  stdin: Bool('Keep a stdin buffer open for the container.'),
  stdinOnce: Bool('Close stdin after the first attach ends.'),
  tty: Bool('Allocate a TTY; needs stdin.'),
};

export const Container = Struct(containerFields, 'A single application container of a pod.');
export type Container = Static<typeof Container>;

export const EphemeralContainer = Struct(
  {
    ...containerFields,
    targetContainerName: Str('Container whose namespaces (e.g. process) to share.'),
  },
  'A temporary container added to a running pod, e.g. for debugging.',
);
export type EphemeralContainer = Static<typeof EphemeralContainer>;
