import { describe, expect, it } from 'vitest';
import type { PodTemplateSpec } from '../api/types/pod.js';
import { scaledValue, templateHash } from './workload-util.js';

describe('templateHash', () => {
  const template: PodTemplateSpec = {
    metadata: { labels: { app: 'web', Tier: 'x' } },
    spec: { containers: [{ name: 'c', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
  };

  it('stays what earlier releases computed, so running ReplicaSets keep their names', () => {
    expect(templateHash(template)).toBe('568c596df4');
    expect(templateHash(template, 2)).toBe('7b6b8fbccf');
    expect(templateHash(undefined)).toBe('5859f96865');
  });

  it('does not depend on key order', () => {
    const reordered = { spec: template.spec, metadata: { labels: { Tier: 'x', app: 'web' } } };
    expect(templateHash(reordered)).toBe(templateHash(template));
  });
});

describe('scaledValue', () => {
  it('rounds percents up or down and passes ints through', () => {
    expect(scaledValue('25%', 10, true)).toBe(3);
    expect(scaledValue('25%', 10, false)).toBe(2);
    expect(scaledValue(4, 10, true)).toBe(4);
    expect(scaledValue(undefined, 10, true)).toBe(0);
  });
});
