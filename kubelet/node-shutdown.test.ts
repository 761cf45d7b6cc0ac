import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Pod } from '../api/types/pod.js';
import { realClock } from '../client/clock.js';
import { shutdownMessage, shutdownStatus, terminatePodsForShutdown } from './node-shutdown.js';

const pod = (name: string, phase: string, extra: Partial<Pod['metadata']> = {}): Pod => ({
  metadata: { name, namespace: 'default', ...extra },
  status: {
    phase,
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-11-24T00:00:00Z' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2026-11-24T00:00:00Z' },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: '2026-11-24T00:00:00Z' },
    ],
    containerStatuses: [
      { name: 'web', image: 'x', imageID: '', ready: true, started: true, restartCount: 0 },
    ],
  },
});

describe('graceful node shutdown', () => {
  it('fails a running pod and takes it out of Ready, keeping its other conditions', () => {
    const s = shutdownStatus(pod('web', 'Running'), '2026-11-24T10:00:00Z');
    expect(s?.phase).toBe('Failed');
    expect(s?.reason).toBe('Terminated');
    expect(s?.message).toBe(shutdownMessage);
    const byType = Object.fromEntries((s?.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.PodScheduled.status).toBe('True');
    expect(byType.Ready).toMatchObject({ status: 'False', lastTransitionTime: '2026-11-24T10:00:00Z' });
    expect(byType.ContainersReady.status).toBe('False');
    expect(s?.containerStatuses?.[0]).toMatchObject({ ready: false, started: false });
  });

  it('marks only pods that run, not finished or static ones', async () => {
    const written: string[] = [];
    const n = await terminatePodsForShutdown({
      pods: [
        pod('web', 'Running'),
        pod('done', 'Succeeded'),
        pod('static', 'Running', { annotations: { 'kubernetes.io/config.source': 'file' } }),
        pod('starting', 'Pending'),
      ],
      writeStatus: async (p, s) => {
        written.push(`${p.metadata?.name}:${s?.phase}`);
      },
      clock: realClock,
      logger: pino({ level: 'silent' }),
      drainMs: 0,
    });
    expect(n).toBe(2);
    expect(written).toEqual(['web:Failed', 'starting:Failed']);
  });
});
