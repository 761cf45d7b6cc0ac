/**
 * A pod template described as kubectl's DescribePodTemplate writes it
 * (`kubectl rollout history --revision N` prints one): two spaces per
 * level and a tab between a field and its value, as kubectl's prefix
 * writer leaves them. Pure.
 */
import type { Container, EnvVar, PodTemplateSpec, Probe, Volume } from '../../api/types/pod.js';

class Lines {
  text = '';
  write(level: number, s: string): void {
    this.text += '  '.repeat(level) + s;
  }
}

function labelsMultiline(w: Lines, title: string, labels: Record<string, string> | undefined): void {
  const keys = Object.keys(labels ?? {}).sort();
  w.write(0, `${title}:\t`);
  if (keys.length === 0) w.write(0, '<none>\n');
  for (const [i, k] of keys.entries()) w.write(0, `${i ? '\t' : ''}${k}=${labels?.[k]}\n`);
}

const maxAnnotationLen = 140;

function annotationsMultiline(w: Lines, title: string, annotations: Record<string, string>): void {
  const keys = Object.keys(annotations)
    .filter((k) => k !== 'kubectl.kubernetes.io/last-applied-configuration')
    .sort();
  w.write(0, `${title}:\t`);
  if (keys.length === 0) w.write(0, '<none>\n');
  const shorten = (s: string) =>
    s.length > maxAnnotationLen - 2 ? `${s.slice(0, maxAnnotationLen - 2)}...` : s;
  for (const [i, k] of keys.entries()) {
    if (i) w.write(0, '\t');
    const value = annotations[k].replace(/\n$/, '');
    if (value.length + k.length + 2 <= maxAnnotationLen && !value.includes('\n')) {
      w.write(0, `${k}: ${value}\n`);
      continue;
    }
    w.write(0, `${k}:\n`);
    for (const s of value.split('\n')) w.write(0, `\t  ${shorten(s)}\n`);
  }
}

function describeProbe(p: Probe): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const g = p.httpGet;
    return `http-get ${(g.scheme ?? 'HTTP').toLowerCase()}://${g.host ?? ''}:${g.port}${g.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

function envLine(e: EnvVar): string {
  const from = e.valueFrom;
  if (!from)
    return (e.value ?? '')
      .split('\n')
      .map((s, i) => (i ? `\t${s}` : `${e.name}:\t${s}`))
      .join('\n      ');
  if (from.fieldRef) return `${e.name}:\t (${from.fieldRef.apiVersion ?? 'v1'}:${from.fieldRef.fieldPath})`;
  if (from.resourceFieldRef) return `${e.name}:\t (${from.resourceFieldRef.resource})`;
  if (from.secretKeyRef)
    return `${e.name}:\t<set to the key '${from.secretKeyRef.key}' in secret '${from.secretKeyRef.name}'>\tOptional: ${!!from.secretKeyRef.optional}`;
  if (from.configMapKeyRef)
    return `${e.name}:\t<set to the key '${from.configMapKeyRef.key}' of config map '${from.configMapKeyRef.name}'>\tOptional: ${!!from.configMapKeyRef.optional}`;
  return `${e.name}:\t`;
}

function describeContainer(w: Lines, c: Container): void {
  w.write(1, ` ${c.name}:\n`);
  w.write(2, `Image:\t${c.image ?? ''}\n`);
  const ports = (c.ports ?? []).map(
    (p) => `${p.containerPort}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}`,
  );
  const hostPorts = (c.ports ?? []).map(
    (p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}`,
  );
  w.write(2, ports.length > 1 ? `Ports:\t${ports.join(', ')}\n` : `Port:\t${ports[0] ?? '<none>'}\n`);
  w.write(
    2,
    hostPorts.length > 1
      ? `Host Ports:\t${hostPorts.join(', ')}\n`
      : `Host Port:\t${hostPorts[0] ?? '<none>'}\n`,
  );
  for (const [title, words] of [
    ['Command', c.command],
    ['Args', c.args],
  ] as const) {
    if (!words?.length) continue;
    w.write(2, `${title}:\n`);
    for (const word of words) for (const s of word.split('\n')) w.write(3, `${s}\n`);
  }
  for (const kind of ['limits', 'requests'] as const) {
    const list = c.resources?.[kind] ?? {};
    const names = Object.keys(list).sort();
    if (names.length) w.write(2, `${kind === 'limits' ? 'Limits' : 'Requests'}:\n`);
    for (const n of names) w.write(3, `${n}:\t${list[n]}\n`);
  }
  if (c.livenessProbe) w.write(2, `Liveness:\t${describeProbe(c.livenessProbe)}\n`);
  if (c.readinessProbe) w.write(2, `Readiness:\t${describeProbe(c.readinessProbe)}\n`);
  if (c.startupProbe) w.write(2, `Startup:\t${describeProbe(c.startupProbe)}\n`);
  if (c.envFrom?.length) {
    w.write(2, 'Environment Variables from:\n');
    for (const e of c.envFrom) {
      const [from, ref] = e.configMapRef ? ['ConfigMap', e.configMapRef] : ['Secret', e.secretRef];
      const kind = e.prefix ? `${from} with prefix '${e.prefix}'` : from;
      w.write(3, `${ref?.name ?? ''}\t${kind}\tOptional: ${!!ref?.optional}\n`);
    }
  }
  w.write(2, `Environment:${c.env?.length ? '' : '\t<none>'}\n`);
  for (const e of c.env ?? []) w.write(3, `${envLine(e)}\n`);
  w.write(2, `Mounts:${c.volumeMounts?.length ? '' : '\t<none>'}\n`);
  const mounts = [...(c.volumeMounts ?? [])].sort((a, b) =>
    (a.mountPath ?? '').localeCompare(b.mountPath ?? ''),
  );
  for (const m of mounts) {
    const flags = [m.readOnly ? 'ro' : 'rw', ...(m.subPath ? [`path="${m.subPath}"`] : [])];
    w.write(3, `${m.mountPath} from ${m.name} (${flags.join(',')})\n`);
  }
}

function describeVolume(w: Lines, v: Volume): void {
  w.write(1, ` ${v.name}:\n`);
  const field = (name: string, value: unknown) => `    ${name}:\t${value}\n`;
  if (v.emptyDir)
    w.write(
      2,
      `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n${field('Medium', v.emptyDir.medium ?? '')}${field('SizeLimit', v.emptyDir.sizeLimit ?? '<unset>')}`,
    );
  else if (v.hostPath)
    w.write(
      2,
      `Type:\tHostPath (bare host directory volume)\n${field('Path', v.hostPath.path)}${field('HostPathType', v.hostPath.type ?? '<none>')}`,
    );
  else if (v.configMap)
    w.write(
      2,
      `Type:\tConfigMap (a volume populated by a ConfigMap)\n${field('Name', v.configMap.name)}${field('Optional', !!v.configMap.optional)}`,
    );
  else if (v.secret)
    w.write(
      2,
      `Type:\tSecret (a volume populated by a Secret)\n${field('SecretName', v.secret.secretName)}${field('Optional', !!v.secret.optional)}`,
    );
  else if (v.persistentVolumeClaim)
    w.write(
      2,
      `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n${field('ClaimName', v.persistentVolumeClaim.claimName)}${field('ReadOnly', !!v.persistentVolumeClaim.readOnly)}`,
    );
  else w.write(1, '<unknown>\n');
}

export function describePodTemplate(t: PodTemplateSpec): string {
  const w = new Lines();
  w.write(0, 'Pod Template:\n');
  labelsMultiline(w, '  Labels', t.metadata?.labels);
  if (Object.keys(t.metadata?.annotations ?? {}).length)
    annotationsMultiline(w, '  Annotations', t.metadata!.annotations!);
  const spec = t.spec ?? {};
  if (spec.serviceAccountName) w.write(1, `Service Account:\t${spec.serviceAccountName}\n`);
  for (const [label, containers] of [
    ['Init Containers', spec.initContainers],
    ['Containers', spec.containers],
  ] as const) {
    if (label === 'Init Containers' && !containers?.length) continue;
    w.write(0, `  ${label}:${containers?.length ? '' : ' <none>'}\n`);
    for (const c of containers ?? []) describeContainer(w, c);
  }
  if (!spec.volumes?.length) w.write(0, '  Volumes:\t<none>\n');
  else {
    w.write(0, '  Volumes:\n');
    for (const v of spec.volumes) describeVolume(w, v);
  }
  if (spec.priorityClassName) w.write(1, `Priority Class Name:\t${spec.priorityClassName}\n`);
  labelsMultiline(w, '  Node-Selectors', spec.nodeSelector);
  const tolerations = [...(spec.tolerations ?? [])].sort((a, b) => (a.key ?? '').localeCompare(b.key ?? ''));
  w.write(0, '  Tolerations:\t');
  if (tolerations.length === 0) w.write(0, '<none>\n');
  for (const [i, t] of tolerations.entries()) {
    let s = `${i ? '\t' : ''}${t.key ?? ''}${t.value ? `=${t.value}` : ''}${t.effect ? `:${t.effect}` : ''}`;
    if (t.operator === 'Exists' && !t.value) s += t.key || t.effect ? ' op=Exists' : 'op=Exists';
    if (t.tolerationSeconds !== undefined) s += ` for ${t.tolerationSeconds}s`;
    w.write(0, `${s}\n`);
  }
  return w.text;
}
