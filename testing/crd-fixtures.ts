/**
 * CustomResourceDefinitions of the size and shape widely used operators
 * ship, written here (not copied): a certificate kind in the style of
 * cert-manager's (issuer reference, key options with enums and defaults,
 * keystores, conditions as a map list, printer columns) and a scrape
 * monitor in the style of the Prometheus operator's ServiceMonitor (a list
 * of endpoints each with relabelings, TLS, secret key selectors marked
 * atomic, int-or-string ports, patterns), each with long descriptions as
 * generated CRDs carry, so a manifest is tens of kilobytes.
 */

type Schema = Record<string, unknown>;

/** A description of about `words` words, as controller-gen copies Go doc comments. */
function doc(subject: string, words = 70): string {
  const filler =
    'This field is read by the controller on every reconcile and copied into the generated configuration; when it is left empty the documented default applies, and changing it later takes effect on the next sync without a restart.';
  const parts = filler.split(' ');
  const out = [subject];
  for (let i = 0; out.length < words; i++) out.push(parts[i % parts.length]);
  return out.join(' ');
}

const str = (subject: string, extra: Schema = {}): Schema => ({
  type: 'string',
  description: doc(subject),
  ...extra,
});
const bool = (subject: string): Schema => ({ type: 'boolean', description: doc(subject) });
const int = (subject: string, extra: Schema = {}): Schema => ({
  type: 'integer',
  description: doc(subject),
  ...extra,
});

function object(subject: string, properties: Record<string, Schema>, extra: Schema = {}): Schema {
  return { type: 'object', description: doc(subject), properties, ...extra };
}

const secretKeySelector = (subject: string): Schema =>
  object(
    subject,
    {
      key: str('The key of the secret to select from.'),
      name: str('Name of the referent.', { default: '' }),
      optional: bool('Whether the Secret or its key must exist.'),
    },
    { required: ['key'], 'x-kubernetes-map-type': 'atomic' },
  );

const labelSelector = (subject: string): Schema =>
  object(
    subject,
    {
      matchLabels: {
        type: 'object',
        description: doc('Labels to match.'),
        additionalProperties: { type: 'string' },
      },
      matchExpressions: {
        type: 'array',
        description: doc('Label selector requirements.'),
        items: object(
          'A requirement.',
          {
            key: str('The label key.'),
            operator: str('How the key relates to the values.', {
              enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
            }),
            values: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic' },
          },
          { required: ['key', 'operator'] },
        ),
        'x-kubernetes-list-type': 'atomic',
      },
    },
    { 'x-kubernetes-map-type': 'atomic' },
  );

const conditions: Schema = {
  type: 'array',
  description: doc('The latest observations of the object.'),
  items: object(
    'One condition.',
    {
      type: str('The condition type.'),
      status: str('The condition status.', { enum: ['True', 'False', 'Unknown'] }),
      reason: str('Machine-readable reason.'),
      message: str('Human-readable message.'),
      lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
      observedGeneration: int('The generation observed.', { format: 'int64', minimum: 0 }),
    },
    { required: ['type', 'status'] },
  ),
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

const keystore = (subject: string): Schema =>
  object(
    subject,
    {
      create: bool('Whether the keystore is written.'),
      passwordSecretRef: secretKeySelector('The password of the keystore.'),
      alias: str('The alias of the key in the keystore.'),
      profile: str('The encryption profile.', { enum: ['LegacyRC2', 'LegacyDES', 'Modern2023'] }),
    },
    { required: ['create'] },
  );

/** A certificate kind in the style of cert-manager's Certificate. */
export function certificateCrd(group = 'certs.nanokube.test'): Schema {
  const spec = object(
    'The desired state of the certificate.',
    {
      secretName: str('The Secret the signed certificate is stored in.'),
      commonName: str('The common name.', { maxLength: 64 }),
      dnsNames: {
        type: 'array',
        description: doc('DNS subject alternative names.'),
        items: { type: 'string' },
      },
      ipAddresses: {
        type: 'array',
        description: doc('IP subject alternative names.'),
        items: { type: 'string' },
      },
      uris: { type: 'array', items: { type: 'string' } },
      emailAddresses: { type: 'array', items: { type: 'string' } },
      duration: str('How long the certificate is valid.', {
        pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$',
      }),
      renewBefore: str('How long before expiry it is renewed.'),
      renewBeforePercentage: int('Renew at this percentage of the lifetime.', { format: 'int32' }),
      revisionHistoryLimit: int('How many CertificateRequests are kept.', { format: 'int32', minimum: 1 }),
      isCA: bool('Whether the certificate is a CA.'),
      usages: {
        type: 'array',
        description: doc('Key usages requested.'),
        items: {
          type: 'string',
          enum: [
            'signing',
            'digital signature',
            'content commitment',
            'key encipherment',
            'key agreement',
            'data encipherment',
            'cert sign',
            'crl sign',
            'encipher only',
            'decipher only',
            'any',
            'server auth',
            'client auth',
            'code signing',
            'email protection',
            'timestamping',
            'ocsp signing',
          ],
        },
      },
      issuerRef: object(
        'The issuer that signs the certificate.',
        { name: str('The issuer name.'), kind: str('The issuer kind.'), group: str('The issuer group.') },
        { required: ['name'] },
      ),
      privateKey: object('Options of the private key.', {
        algorithm: str('The key algorithm.', { enum: ['RSA', 'ECDSA', 'Ed25519'] }),
        encoding: str('The key encoding.', { enum: ['PKCS1', 'PKCS8'], default: 'PKCS1' }),
        rotationPolicy: str('When the key is rotated.', { enum: ['Never', 'Always'], default: 'Always' }),
        size: int('The key size in bits.'),
      }),
      keystores: object('Additional output formats.', {
        jks: keystore('A JKS keystore.'),
        pkcs12: keystore('A PKCS#12 keystore.'),
      }),
      subject: object(
        'The X.509 subject.',
        Object.fromEntries(
          [
            'countries',
            'localities',
            'organizationalUnits',
            'organizations',
            'postalCodes',
            'provinces',
            'streetAddresses',
          ].map((f) => [
            f,
            { type: 'array', description: doc(`The subject's ${f}.`), items: { type: 'string' } },
          ]),
        ),
      ),
      secretTemplate: object('Labels and annotations copied to the Secret.', {
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      }),
      nameConstraints: object('Name constraints of a CA.', {
        critical: bool('Whether the extension is critical.'),
        permitted: object('Permitted names.', { dnsDomains: { type: 'array', items: { type: 'string' } } }),
        excluded: object('Excluded names.', { dnsDomains: { type: 'array', items: { type: 'string' } } }),
      }),
    },
    { required: ['issuerRef', 'secretName'] },
  );
  const status = object('The observed state of the certificate.', {
    conditions,
    notAfter: str('When the certificate expires.', { format: 'date-time' }),
    notBefore: str('When the certificate became valid.', { format: 'date-time' }),
    renewalTime: str('When renewal is due.', { format: 'date-time' }),
    revision: int('The revision of the certificate.'),
    failedIssuanceAttempts: int('Failed attempts in a row.'),
    nextPrivateKeySecretName: str('The Secret of the next key.'),
  });
  return crd(
    group,
    'Certificate',
    'certificates',
    ['cert', 'certs'],
    ['certs-example'],
    {
      type: 'object',
      description: doc('A Certificate asks an issuer for a signed X.509 certificate.'),
      required: ['spec'],
      properties: {
        apiVersion: str('APIVersion.'),
        kind: str('Kind.'),
        metadata: { type: 'object' },
        spec,
        status,
      },
    },
    [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
      { name: 'Issuer', type: 'string', jsonPath: '.spec.issuerRef.name', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  );
}

const relabelConfig: Schema = object('A relabeling rule.', {
  action: str('What the rule does.', {
    default: 'replace',
    enum: [
      'replace',
      'Replace',
      'keep',
      'Keep',
      'drop',
      'Drop',
      'hashmod',
      'HashMod',
      'labelmap',
      'LabelMap',
      'labeldrop',
      'LabelDrop',
      'labelkeep',
      'LabelKeep',
      'lowercase',
      'Lowercase',
      'uppercase',
      'Uppercase',
    ],
  }),
  modulus: int('The modulus for hashmod.', { format: 'int64' }),
  regex: str('The regular expression matched.'),
  replacement: str('The replacement value.'),
  separator: str('The separator of source labels.'),
  sourceLabels: {
    type: 'array',
    description: doc('The source labels.'),
    items: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' },
  },
  targetLabel: str('The label written.'),
});

const tlsConfig: Schema = object('TLS options of the scrape.', {
  ca: object('The CA.', {
    secret: secretKeySelector('A Secret holding the CA.'),
    configMap: secretKeySelector('A ConfigMap holding the CA.'),
  }),
  cert: object('The client certificate.', { secret: secretKeySelector('A Secret holding the certificate.') }),
  keySecret: secretKeySelector('A Secret holding the client key.'),
  insecureSkipVerify: bool('Skip verification of the target.'),
  serverName: str('The server name checked.'),
  minVersion: str('The lowest TLS version.', { enum: ['TLS10', 'TLS11', 'TLS12', 'TLS13'] }),
  maxVersion: str('The highest TLS version.', { enum: ['TLS10', 'TLS11', 'TLS12', 'TLS13'] }),
});

const endpoint: Schema = object('One endpoint scraped.', {
  port: str('The name of the Service port.'),
  targetPort: {
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    description: doc('The target port.'),
  },
  path: str('The HTTP path scraped.'),
  scheme: str('The scheme.', { enum: ['http', 'https', 'HTTP', 'HTTPS'] }),
  params: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
  interval: str('How often the target is scraped.', {
    pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
  }),
  scrapeTimeout: str('The scrape timeout.', {
    pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
  }),
  honorLabels: bool('Keep the target labels on collision.'),
  honorTimestamps: bool('Keep the target timestamps.'),
  followRedirects: bool('Follow HTTP redirects.'),
  enableHttp2: bool('Allow HTTP/2.'),
  filterRunning: bool('Drop pods that are not running.'),
  bearerTokenSecret: secretKeySelector('A Secret holding a bearer token.'),
  authorization: object('Authorization header credentials.', {
    type: str('The type.'),
    credentials: secretKeySelector('The credentials.'),
  }),
  basicAuth: object('Basic authentication.', {
    username: secretKeySelector('The user name.'),
    password: secretKeySelector('The password.'),
  }),
  tlsConfig,
  relabelings: { type: 'array', description: doc('Relabelings of the target.'), items: relabelConfig },
  metricRelabelings: { type: 'array', description: doc('Relabelings of the samples.'), items: relabelConfig },
  proxyUrl: str('A proxy URL.', { pattern: '^(http|https|socks5)://.+$' }),
});

/** A scrape monitor in the style of the Prometheus operator's ServiceMonitor. */
export function scrapeMonitorCrd(group = 'monitoring.nanokube.test'): Schema {
  const spec = object(
    'Which services are scraped, and how.',
    {
      jobLabel: str('The label whose value names the job.'),
      targetLabels: { type: 'array', items: { type: 'string' } },
      podTargetLabels: { type: 'array', items: { type: 'string' } },
      endpoints: { type: 'array', description: doc('The endpoints scraped.'), items: endpoint },
      selector: labelSelector('The Services selected.'),
      namespaceSelector: object('The namespaces searched.', {
        any: bool('Every namespace.'),
        matchNames: { type: 'array', items: { type: 'string' } },
      }),
      sampleLimit: int('The most samples accepted per scrape.', { format: 'int64', minimum: 0 }),
      targetLimit: int('The most targets accepted.', { format: 'int64', minimum: 0 }),
      labelLimit: int('The most labels per sample.', { format: 'int64', minimum: 0 }),
      bodySizeLimit: str('The largest body accepted.', {
        pattern: '(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$',
      }),
      attachMetadata: object('Metadata attached to targets.', { node: bool('Attach node metadata.') }),
      scrapeProtocols: {
        type: 'array',
        items: {
          type: 'string',
          enum: ['PrometheusProto', 'OpenMetricsText0.0.1', 'OpenMetricsText1.0.0', 'PrometheusText0.0.4'],
        },
        'x-kubernetes-list-type': 'set',
      },
    },
    { required: ['selector'] },
  );
  return crd(
    group,
    'ScrapeMonitor',
    'scrapemonitors',
    ['smon'],
    ['monitoring-example'],
    {
      type: 'object',
      description: doc('A ScrapeMonitor says which Services a monitoring system scrapes.'),
      required: ['spec'],
      properties: { apiVersion: str('APIVersion.'), kind: str('Kind.'), metadata: { type: 'object' }, spec },
    },
    [],
  );
}

function crd(
  group: string,
  kind: string,
  plural: string,
  shortNames: string[],
  categories: string[],
  schema: Schema,
  columns: Schema[],
): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List`, shortNames, categories },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          ...(columns.length ? { additionalPrinterColumns: columns } : {}),
          ...(kind === 'Certificate' ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  };
}
