/**
 * The PersistentVolume binder (`persistentvolume-binder`): binds each
 * Pending claim to the best fitting Available volume (pvmatch.ts), or asks
 * the provisioner of its class for a new one; gives a claim without a
 * storageClassName the default class; and when a bound claim goes away,
 * marks its volume Released and reclaims it by its policy (Delete: the
 * provisioner removes the storage and the volume is deleted; Retain: it
 * stays Released). At start it makes sure the default class `standard` of
 * the built-in local-path provisioner exists.
 *
 * Keys: `claim/<ns>/<name>`, `volume/<name>`, `class/standard`.
 * Claims of a WaitForFirstConsumer class wait for the
 * `volume.kubernetes.io/selected-node` annotation, which nothing here sets.
 */
import { isAlreadyExists, isNotFound } from '../api/status.js';
import { defaultClassAnnotation, isDefaultClass } from '../api/types/storageclass.js';
import { keyOf } from '../client/indexer.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  type Class,
  defaultLocalPathRoot,
  LocalPathProvisioner,
  localPathProvisionerName,
  type Provisioner,
  type PV,
  type PVC,
  provisionedByAnnotation,
} from './localpath.js';
import { claimReference, findBestVolume, refersTo } from './pvmatch.js';

export const defaultClassName = 'standard';
const boundByController = 'pv.kubernetes.io/bound-by-controller';
const bindCompleted = 'pv.kubernetes.io/bind-completed';
const selectedNode = 'volume.kubernetes.io/selected-node';

export class PersistentVolumeBinder extends QueueController {
  private readonly claims;
  private readonly volumes;
  private readonly classes;
  private readonly pvs: ResourceClient<PV>;
  private readonly pvcs: ResourceClient<PVC>;
  private readonly scs: ResourceClient<Class>;
  private readonly recorder;
  readonly provisioners = new Map<string, Provisioner>();

  constructor(ctx: ControllerContext) {
    super('persistentvolume-binder', ctx);
    const rt = (group: string, version: string, plural: string) => ctx.registry.get(group, version, plural)!;
    this.pvs = new ResourceClient<PV>(ctx.rest, rt('', 'v1', 'persistentvolumes'));
    this.pvcs = new ResourceClient<PVC>(ctx.rest, rt('', 'v1', 'persistentvolumeclaims'));
    this.scs = new ResourceClient<Class>(ctx.rest, rt('storage.k8s.io', 'v1', 'storageclasses'));
    this.recorder = ctx.recorder('persistentvolume-controller');
    const local = new LocalPathProvisioner(ctx.config.localPathRoot ?? defaultLocalPathRoot);
    this.provisioners.set(local.name, local);

    this.claims = this.informer<PVC>('persistentvolumeclaims');
    this.volumes = this.informer<PV>('persistentvolumes');
    this.classes = this.informer<Class>('storageclasses');
    const onClaim = (c: PVC) => {
      this.enqueue(`claim/${keyOf(c)}`);
      if (c.spec?.volumeName) this.enqueue(`volume/${c.spec.volumeName}`);
    };
    this.claims.addEventHandler({ onAdd: onClaim, onUpdate: (_o, c) => onClaim(c), onDelete: onClaim });
    const onVolume = (v: PV) => {
      this.enqueue(`volume/${v.metadata.name}`);
      const ref = v.spec?.claimRef;
      if (ref) this.enqueue(`claim/${ref.namespace}/${ref.name}`);
      else this.enqueuePending();
    };
    this.volumes.addEventHandler({ onAdd: onVolume, onUpdate: (_o, v) => onVolume(v), onDelete: onVolume });
    this.classes.addEventHandler({
      onAdd: () => this.enqueuePending(),
      onUpdate: () => this.enqueuePending(),
    });
    this.enqueue(`class/${defaultClassName}`);
  }

  /** Claims still waiting for a volume: a new volume or class may serve them. */
  private enqueuePending(): void {
    for (const c of this.claims.store.list()) if (!c.spec?.volumeName) this.enqueue(`claim/${keyOf(c)}`);
  }

  async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const [kind, rest] = [key.slice(0, slash), key.slice(slash + 1)];
    if (kind === 'claim') return this.syncClaim(rest);
    if (kind === 'volume') return this.syncVolume(rest);
    if (kind === 'class') return this.ensureDefaultClass(rest);
  }

  private async ensureDefaultClass(name: string): Promise<void> {
    if (this.classes.store.getByName(undefined, name)) return;
    const otherDefault = this.classes.store.list().some(isDefaultClass);
    try {
      await this.scs.create({
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name, annotations: otherDefault ? {} : { [defaultClassAnnotation]: 'true' } },
        provisioner: localPathProvisionerName,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
      });
      this.log.info({ storageClass: name }, 'created the default storage class');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  /** The default class: the newest one annotated as default, as Kubernetes picks. */
  private defaultClass(): Class | undefined {
    const defaults = this.classes.store.list().filter(isDefaultClass);
    defaults.sort((a, b) =>
      (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
    );
    return defaults[0];
  }

  private async syncClaim(key: string): Promise<void> {
    const claim = this.claims.store.get(key);
    if (!claim || claim.metadata.deletionTimestamp) return;
    const ns = claim.metadata.namespace!;
    if (claim.spec?.storageClassName === undefined && !claim.spec?.volumeName) {
      const cls = this.defaultClass();
      if (cls) {
        await this.pvcs
          .in(ns)
          .patch(claim.metadata.name!, 'merge', { spec: { storageClassName: cls.metadata.name } });
        return; // the update brings the claim back with its class
      }
    }
    if (claim.spec?.volumeName) return this.syncBoundClaim(claim, claim.spec.volumeName);
    const pv = findBestVolume(this.volumes.store.list(), claim);
    if (pv) {
      await this.bindVolume(pv, claim);
      await this.bindClaim(claim, pv);
      return;
    }
    const className = claim.spec?.storageClassName ?? '';
    const cls = className ? this.classes.store.getByName(undefined, className) : undefined;
    const provisioner = cls && this.provisioners.get(cls.provisioner ?? '');
    if (!cls || !provisioner) {
      if (claim.status?.phase !== 'Pending') await this.claimStatus(claim, { phase: 'Pending' });
      const why = !className
        ? 'no persistent volumes available for this claim and no storage class is set'
        : !cls
          ? `storageclass.storage.k8s.io "${className}" not found`
          : `waiting for a volume to be created by the external provisioner "${cls.provisioner}"`;
      this.recorder.event(
        claim,
        cls ? 'Normal' : 'Warning',
        cls ? 'ExternalProvisioning' : 'FailedBinding',
        why,
      );
      return;
    }
    if (cls.volumeBindingMode === 'WaitForFirstConsumer' && !claim.metadata.annotations?.[selectedNode]) {
      this.recorder.event(
        claim,
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      );
      return;
    }
    const pvName = `pvc-${claim.metadata.uid}`;
    if (this.volumes.store.getByName(undefined, pvName)) return; // made already; binds on its event
    const volume = await provisioner.provision(claim, cls, pvName);
    try {
      await this.pvs.create(volume);
    } catch (err) {
      if (isAlreadyExists(err)) return;
      await provisioner.delete(volume).catch(() => {});
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', (err as Error).message);
      throw err;
    }
    this.log.info({ claim: key, volume: pvName }, 'provisioned a volume');
    this.recorder.event(
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${pvName}`,
    );
  }

  /** A claim naming its volume: finish the binding from whichever side is missing. */
  private async syncBoundClaim(claim: PVC, volumeName: string): Promise<void> {
    const pv = this.volumes.store.getByName(undefined, volumeName);
    if (!pv) {
      if (claim.status?.phase === 'Bound') {
        await this.claimStatus(claim, { phase: 'Lost' });
        this.recorder.event(
          claim,
          'Warning',
          'ClaimLost',
          'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
        );
      }
      return;
    }
    if (!pv.spec?.claimRef) await this.bindVolume(pv, claim);
    else if (!refersTo(pv, claim)) {
      this.recorder.event(
        claim,
        'Warning',
        'FailedBinding',
        `volume "${volumeName}" already bound to a different claim.`,
      );
      return;
    }
    await this.bindClaim(claim, pv);
  }

  /** Points the volume at the claim (guarded by its resourceVersion) and marks it Bound. */
  private async bindVolume(pv: PV, claim: PVC): Promise<void> {
    const name = pv.metadata.name!;
    if (!refersTo(pv, claim) || !pv.spec?.claimRef?.uid) {
      await this.pvs.patch(name, 'merge', {
        metadata: {
          resourceVersion: pv.metadata.resourceVersion,
          annotations: { [boundByController]: 'yes' },
        },
        spec: { claimRef: claimReference(claim) },
      });
    }
    if (pv.status?.phase !== 'Bound') await this.volumeStatus(pv, { phase: 'Bound' });
  }

  /** Points the claim at the volume and copies the volume's capacity and access modes to its status. */
  private async bindClaim(claim: PVC, pv: PV): Promise<void> {
    const ns = claim.metadata.namespace!;
    const name = claim.metadata.name!;
    if (claim.spec?.volumeName !== pv.metadata.name || !claim.metadata.annotations?.[bindCompleted]) {
      await this.pvcs.in(ns).patch(name, 'merge', {
        metadata: { annotations: { [bindCompleted]: 'yes', [boundByController]: 'yes' } },
        spec: { volumeName: pv.metadata.name },
      });
      this.log.info({ claim: keyOf(claim), volume: pv.metadata.name }, 'bound claim to volume');
    }
    const want = {
      phase: 'Bound',
      capacity: pv.spec?.capacity ?? {},
      accessModes: pv.spec?.accessModes ?? [],
    };
    const s = claim.status ?? {};
    const same =
      s.phase === want.phase &&
      JSON.stringify(s.capacity ?? {}) === JSON.stringify(want.capacity) &&
      JSON.stringify(s.accessModes ?? []) === JSON.stringify(want.accessModes);
    if (!same) await this.claimStatus(claim, want);
  }

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.store.getByName(undefined, name);
    if (!pv || pv.metadata.deletionTimestamp) return;
    const ref = pv.spec?.claimRef;
    if (!ref) {
      if (pv.status?.phase !== 'Available') await this.volumeStatus(pv, { phase: 'Available' });
      return;
    }
    const claim = this.claims.store.get(`${ref.namespace}/${ref.name}`);
    if (claim && refersTo(pv, claim)) {
      if (claim.spec?.volumeName === name) {
        if (pv.status?.phase !== 'Bound') await this.volumeStatus(pv, { phase: 'Bound' });
      } else if (claim.spec?.volumeName && pv.metadata.annotations?.[boundByController]) {
        // The claim went to another volume: free this one.
        await this.pvs.patch(name, 'merge', { spec: { claimRef: null } });
      } else this.enqueue(`claim/${keyOf(claim)}`);
      return;
    }
    if (!ref.uid) {
      // Pre-bound by name to a claim that does not exist yet: it waits, available to that claim only.
      if (pv.status?.phase !== 'Available') await this.volumeStatus(pv, { phase: 'Available' });
      return;
    }
    // The cache may lag a new claim: only a live read decides that the claim is gone.
    try {
      const live = await this.pvcs.in(ref.namespace).get(ref.name ?? '');
      if (live.metadata.uid === ref.uid) return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.reclaim(pv);
  }

  /** The claim is gone: Released, then Delete or Retain as the volume says. */
  private async reclaim(pv: PV): Promise<void> {
    const name = pv.metadata.name!;
    const phase = pv.status?.phase;
    if (phase !== 'Released' && phase !== 'Failed') {
      await this.volumeStatus(pv, { phase: 'Released' });
      this.log.info({ volume: name }, 'volume released');
    }
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain' || phase === 'Failed') return;
    const provisioner =
      policy === 'Delete' && this.provisioners.get(pv.metadata.annotations?.[provisionedByAnnotation] ?? '');
    if (!provisioner) {
      const message =
        policy === 'Delete'
          ? `no provisioner can delete volume ${name}: it was not provisioned by nanokube`
          : `reclaim policy ${policy} is not supported`;
      await this.volumeStatus(pv, { phase: 'Failed', message });
      this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', message);
      return;
    }
    await provisioner.delete(pv);
    try {
      await this.pvs.delete(name, { preconditions: { uid: pv.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.log.info({ volume: name }, 'deleted released volume');
  }

  private async volumeStatus(pv: PV, status: { phase: string; message?: string }): Promise<void> {
    await this.pvs.patch(pv.metadata.name!, 'merge', { status }, { subresource: 'status' });
  }

  private async claimStatus(claim: PVC, status: Record<string, unknown>): Promise<void> {
    await this.pvcs
      .in(claim.metadata.namespace)
      .patch(claim.metadata.name!, 'merge', { status }, { subresource: 'status' });
  }
}

export const newPersistentVolumeBinder = (ctx: ControllerContext) => new PersistentVolumeBinder(ctx);
