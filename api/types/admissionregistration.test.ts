import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../status.js';
import {
  defaultWebhooks,
  type MutatingWebhook,
  validateWebhookConfiguration,
} from './admissionregistration.js';

const good = (): MutatingWebhook => ({
  name: 'keys.example.com',
  clientConfig: { service: { namespace: 'default', name: 'hook', path: '/validate' } },
  rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
});

function errors(
  change: (w: MutatingWebhook) => void,
  mutating = false,
  extra: MutatingWebhook[] = [],
): string[] {
  const w = good();
  change(w);
  const obj = { webhooks: [w, ...extra] };
  defaultWebhooks(obj, mutating);
  return validateWebhookConfiguration(obj, mutating).map(formatFieldError);
}

describe('webhook configuration defaults', () => {
  it('fills what Kubernetes v1 fills', () => {
    const obj = { webhooks: [good()] };
    defaultWebhooks(obj, true);
    expect(obj.webhooks[0]).toMatchObject({
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      namespaceSelector: {},
      objectSelector: {},
      timeoutSeconds: 10,
      reinvocationPolicy: 'Never',
      rules: [{ scope: '*' }],
      clientConfig: { service: { port: 443 } },
    });
  });

  it('gives validating webhooks no reinvocationPolicy', () => {
    const obj = { webhooks: [good()] };
    defaultWebhooks(obj, false);
    expect(obj.webhooks[0].reinvocationPolicy).toBeUndefined();
  });
});

describe('webhook configuration validation', () => {
  it('accepts a good webhook', () => {
    expect(errors(() => {})).toEqual([]);
    expect(errors(() => {}, true)).toEqual([]);
  });

  it.each([
    {
      name: 'name with too few segments',
      change: (w: MutatingWebhook) => {
        w.name = 'example.com';
      },
      want: 'webhooks[0].name: Invalid value: "example.com": should be a domain with at least three segments separated by dots',
    },
    {
      name: 'missing name',
      change: (w: MutatingWebhook) => {
        delete w.name;
      },
      want: 'webhooks[0].name: Required value',
    },
    {
      name: 'both url and service',
      change: (w: MutatingWebhook) => {
        w.clientConfig!.url = 'https://x.example.com';
      },
      want: 'webhooks[0].clientConfig: Required value: exactly one of url or service is required',
    },
    {
      name: 'http url',
      change: (w: MutatingWebhook) => {
        w.clientConfig = { url: 'http://x.example.com/hook' };
      },
      want: `webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme`,
    },
    {
      name: 'url with a query',
      change: (w: MutatingWebhook) => {
        w.clientConfig = { url: 'https://x.example.com/hook?a=b' };
      },
      want: 'webhooks[0].clientConfig.url.query: Invalid value: "a=b": query parameters are not permitted in the URL',
    },
    {
      name: 'service port out of range',
      change: (w: MutatingWebhook) => {
        w.clientConfig!.service!.port = 70000;
      },
      want: 'webhooks[0].clientConfig.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive',
    },
    {
      name: 'no operations',
      change: (w: MutatingWebhook) => {
        w.rules![0].operations = [];
      },
      want: 'webhooks[0].rules[0].operations: Required value',
    },
    {
      name: 'an unknown operation',
      change: (w: MutatingWebhook) => {
        w.rules![0].operations = ['PATCH'];
      },
      want: 'webhooks[0].rules[0].operations[0]: Unsupported value: "PATCH": supported values: "*", "CREATE", "UPDATE", "DELETE", "CONNECT"',
    },
    {
      name: '* with other groups',
      change: (w: MutatingWebhook) => {
        w.rules![0].apiGroups = ['*', 'apps'];
      },
      want: `webhooks[0].rules[0].apiGroups: Invalid value: ["*","apps"]: if '*' is present, must not specify other API groups`,
    },
    {
      name: '*/* with other resources',
      change: (w: MutatingWebhook) => {
        w.rules![0].resources = ['*/*', 'pods'];
      },
      want: `webhooks[0].rules[0].resources: Invalid value: ["*/*","pods"]: if '*/*' is present, must not specify other resources`,
    },
    {
      name: 'a bad scope',
      change: (w: MutatingWebhook) => {
        w.rules![0].scope = 'Everywhere';
      },
      want: 'webhooks[0].rules[0].scope: Unsupported value: "Everywhere": supported values: "Cluster", "Namespaced", "*"',
    },
    {
      name: 'timeout over 30',
      change: (w: MutatingWebhook) => {
        w.timeoutSeconds = 31;
      },
      want: 'webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds',
    },
    {
      name: 'sideEffects Some (v1beta1 only)',
      change: (w: MutatingWebhook) => {
        w.sideEffects = 'Some';
      },
      want: 'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
    },
    {
      name: 'sideEffects missing',
      change: (w: MutatingWebhook) => {
        delete w.sideEffects;
      },
      want: 'webhooks[0].sideEffects: Required value',
    },
    {
      name: 'no admissionReviewVersions',
      change: (w: MutatingWebhook) => {
        delete w.admissionReviewVersions;
      },
      want: 'webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
    },
    {
      name: 'only unknown review versions',
      change: (w: MutatingWebhook) => {
        w.admissionReviewVersions = ['v2'];
      },
      want: 'webhooks[0].admissionReviewVersions: Invalid value: ["v2"]: must include at least one of v1, v1beta1',
    },
    {
      name: 'a bad failurePolicy',
      change: (w: MutatingWebhook) => {
        w.failurePolicy = 'Maybe';
      },
      want: 'webhooks[0].failurePolicy: Unsupported value: "Maybe": supported values: "Ignore", "Fail"',
    },
    {
      name: 'a bad selector operator',
      change: (w: MutatingWebhook) => {
        w.objectSelector = { matchExpressions: [{ key: 'a', operator: 'Near' }] };
      },
      want: 'webhooks[0].objectSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
    },
  ])('refuses $name', ({ change, want }) => {
    expect(errors(change)).toContain(want);
  });

  it('refuses two webhooks of one name', () => {
    expect(errors(() => {}, false, [good()])).toEqual([
      'webhooks[1].name: Duplicate value: "keys.example.com"',
    ]);
  });

  it('refuses a bad reinvocationPolicy on mutating webhooks only', () => {
    const set = (w: MutatingWebhook) => {
      w.reinvocationPolicy = 'Always';
    };
    expect(errors(set, true)).toEqual([
      'webhooks[0].reinvocationPolicy: Unsupported value: "Always": supported values: "Never", "IfNeeded"',
    ]);
  });
});
