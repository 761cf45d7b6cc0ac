/**
 * Pods: graceful deletion for pods on a node; ServiceAccount admission on
 * create; the binding, eviction, log and ephemeralcontainers subresources
 * (exec, attach and portforward are upgrades: kubelet-proxy.ts).
 */

import { newConflict, StatusError } from '../../api/status.js';
import { metaTime } from '../../api/time.js';
import { dropNonEphemeralContainerUpdates, type Pod } from '../../api/types/pod.js';
import { proxyPodLog } from '../kubelet-proxy.js';
import { decodeBody } from '../request.js';
import { successStatus } from '../rest.js';
import { serviceAccountAdmission, serviceAccountLookup } from '../serviceaccount-admission.js';
import type { DeleteOptions } from '../store.js';
import { specOf } from '../strategy.js';
import { type Subresource, wholeObject } from '../subresources.js';
import type { Kind } from './kind.js';

/** POST pods/{name}/binding: the scheduler's one write of spec.nodeName and PodScheduled. */
const binding: Subresource = {
  methods: {
    POST: async ({ req, reply, t, ns, name, w }) => {
      const { store, rt } = t;
      const body = decodeBody(req.body as Buffer, req.headers['content-type']) as {
        target?: { name?: string; kind?: string };
        metadata?: { name?: string };
      };
      const node = body?.target?.name;
      if (!node)
        throw new StatusError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`);
      const out = await store.guaranteedUpdate(ns, name, 'binding', w, undefined, (cur) => {
        const spec = cur.spec as { nodeName?: string };
        if (cur.metadata.deletionTimestamp)
          throw newConflict(store.gr, name, 'pod is being deleted, cannot be assigned to a host');
        if (spec.nodeName)
          throw newConflict(store.gr, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
        spec.nodeName = node;
        // One write, as Kubernetes does: the node and the PodScheduled condition together.
        const status = (cur.status ?? {}) as {
          conditions?: {
            type: string;
            status: string;
            lastTransitionTime?: string | null;
            lastProbeTime?: null;
          }[];
        };
        const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        conds.push({
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: metaTime(),
        });
        cur.status = { ...status, conditions: conds };
        return cur;
      });
      return reply.code(201).send(successStatus(rt, name, out.metadata.uid));
    },
  },
};

/** POST pods/{name}/eviction: a delete that the validating admission chain sees as an eviction. */
const eviction: Subresource = {
  methods: {
    POST: async ({ req, reply, t, ns, name, w }) => {
      const body = decodeBody(req.body as Buffer, req.headers['content-type']) as {
        deleteOptions?: DeleteOptions;
      };
      const res = await t.store.delete(ns, name, {
        ...(body?.deleteOptions ?? {}),
        dryRun: w.dryRun,
        user: w.user,
        subresource: 'eviction',
      });
      return reply.code(201).send(successStatus(t.rt, name, res.obj.metadata.uid));
    },
  },
};

/** GET pods/{name}/log: proxied to the kubelet of the pod's node. */
const log: Subresource = {
  passthrough: {
    GET: ({ req, reply, t, ns, name, query, kubelet, store }) =>
      proxyPodLog(req, reply, {
        pods: t.store,
        nodes: store('', 'v1', 'nodes'),
        kubelet,
        namespace: ns ?? '',
        name,
        query,
      }),
  },
};

export const pods: Kind = {
  strategy: (base) => ({
    ...base,
    subresourceUpdates: {
      ...base.subresourceUpdates,
      // Only spec.ephemeralContainers comes from the body (api/types/pod-ephemeral.ts).
      ephemeralcontainers: {
        prepare(obj, old) {
          dropNonEphemeralContainerUpdates(obj as Pod, old as Pod);
          // A new ephemeral container is a change of spec, as through the main resource.
          const gen = old.metadata.generation ?? 1;
          obj.metadata.generation = specOf(obj) === specOf(old) ? gen : gen + 1;
        },
      },
      // Binding sets spec.nodeName (which a plain update may never change) and the
      // PodScheduled condition; the binding handler built both from the current pod.
      binding: { prepare() {}, skipValidation: true },
    },
    gracePeriod(obj, requested) {
      const pod = obj as {
        spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
        status?: { phase?: string };
      };
      // A pod that never ran, or has finished, has nothing to stop: it goes at once.
      if (!pod.spec?.nodeName) return 0;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
      const grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      return Math.max(0, grace);
    },
  }),
  admission: (ctx) => ({
    mutateOnCreate: serviceAccountAdmission({
      serviceAccount: (ns, name) => serviceAccountLookup(ctx.store('', 'v1', 'serviceaccounts')!)(ns, name),
      mountServiceAccountToken: ctx.mountServiceAccountToken,
    }),
  }),
  subresources: { binding, eviction, log, ephemeralcontainers: wholeObject },
};
