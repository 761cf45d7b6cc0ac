import { describe, expect, it } from 'vitest';
import { describePodTemplate } from './pod-template.js';

describe('describePodTemplate', () => {
  it('writes a template as kubectl does: levels of two spaces, a tab before each value', () => {
    const text = describePodTemplate({
      metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nanokube/busybox:1',
            command: ['sh', '-c'],
            args: ['exec httpd -f'],
            ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }],
            resources: { limits: { memory: '64Mi', cpu: '100m' } },
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            env: [
              { name: 'A', value: '1' },
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
        nodeSelector: { disk: 'ssd' },
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
      },
    });
    expect(text).toBe(
      [
        'Pod Template:',
        '  Labels:\tapp=web',
        '\tpod-template-hash=abc',
        '  Containers:',
        '   web:',
        '    Image:\tnanokube/busybox:1',
        '    Port:\t8080/TCP (http)',
        '    Host Port:\t0/TCP (http)',
        '    Command:',
        '      sh',
        '      -c',
        '    Args:',
        '      exec httpd -f',
        '    Limits:',
        '      cpu:\t100m',
        '      memory:\t64Mi',
        '    Readiness:\ttcp-socket :8080 delay=0s timeout=1s period=1s #success=1 #failure=3',
        '    Environment:',
        '      A:\t1',
        '      POD:\t (v1:metadata.name)',
        '    Mounts:',
        '      /data from data (ro)',
        '  Volumes:',
        '   data:',
        "    Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)",
        '    Medium:\t',
        '    SizeLimit:\t<unset>',
        '  Node-Selectors:\tdisk=ssd',
        '  Tolerations:\tk:NoSchedule op=Exists',
        '',
      ].join('\n'),
    );
  });

  it('says <none> where a template has nothing', () => {
    expect(describePodTemplate({ spec: { containers: [] } })).toBe(
      'Pod Template:\n  Labels:\t<none>\n  Containers: <none>\n  Volumes:\t<none>\n  Node-Selectors:\t<none>\n  Tolerations:\t<none>\n',
    );
  });
});
