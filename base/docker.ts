/**
 * The Docker engine as a host sees it, shared by the kubelet's runtime
 * (kubelet/runtime/docker.ts) and nkctl's node set-up and clean-up: the
 * one place a dockerode client is made, a node's pod network, and removal
 * of what a node left behind. Everything goes through the engine API
 * (dockerode); `docker` the command is only run where a user-facing tool
 * is wanted (image builds, Compose).
 */
import Docker from 'dockerode';

export const defaultDockerSocket = '/var/run/docker.sock';

/** A client of the engine at `socketPath`. */
export const dockerClient = (socketPath = defaultDockerSocket): Docker => new Docker({ socketPath });

/** The label on every container and network a node's kubelet makes: the node's name. */
export const nodeLabel = 'nanokube.io/node';

type DockerError = Error & { statusCode?: number; json?: { message?: string } };

/** The engine's HTTP status in a dockerode error (404: no such object). */
export function dockerStatus(err: unknown): number | undefined {
  return (err as DockerError)?.statusCode;
}

/** The engine's own message in a dockerode error (it carries it in `json`). */
export function dockerMessage(err: unknown): string {
  const e = err as DockerError;
  return e?.json?.message ?? e?.message ?? String(err);
}

/** The first host address of an IPv4 CIDR: the gateway of a pod network. */
export function firstHost(cidr: string): string {
  const [ip] = cidr.split('/');
  const parts = ip.split('.').map(Number);
  parts[3] += 1;
  return parts.join('.');
}

/**
 * The bridge network `name` with `subnet` (its first address the gateway,
 * which the host then holds), made if missing; throws if it exists with
 * another subnet.
 */
export async function ensureNetwork(
  docker: Docker,
  name: string,
  subnet: string,
  labels: Record<string, string>,
): Promise<void> {
  const found = await docker.listNetworks({ filters: { name: [name] } });
  const net = found.find((n) => n.Name === name);
  if (net) {
    const have = net.IPAM?.Config?.map((c) => c.Subnet) ?? [];
    if (!have.includes(subnet))
      throw new Error(`docker network ${name} has subnet ${have.join(',')}, not ${subnet}`);
    return;
  }
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: labels,
      IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: firstHost(subnet) }] },
    });
  } catch (err) {
    throw new Error(`create network ${name} (${subnet}): ${dockerMessage(err)}`);
  }
}

/** Removes the network; one already gone is no error. */
export async function removeNetwork(docker: Docker, name: string): Promise<void> {
  try {
    await docker.getNetwork(name).remove();
  } catch (err) {
    if (dockerStatus(err) !== 404) throw new Error(`remove network ${name}: ${dockerMessage(err)}`);
  }
}

/** Removes a container, running or not, with its anonymous volumes; one gone or going is no error. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    // 409: removal already in progress.
    const code = dockerStatus(err);
    if (code !== 404 && code !== 409)
      throw new Error(`remove container ${id.slice(0, 12)}: ${dockerMessage(err)}`);
  }
}

/** The ids of every container, running or not, with all these labels. */
export async function containersLabelled(docker: Docker, labels: Record<string, string>): Promise<string[]> {
  const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return (await docker.listContainers({ all: true, filters: { label } })).map((c) => c.Id);
}
