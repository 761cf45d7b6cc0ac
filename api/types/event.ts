/**
 * core/v1 Event: schema, validation, field labels and the columns of
 * `kubectl get events`. Components write Events for what a user would want
 * to see in `describe`; the involvedObject says which object it is about.
 */
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { age, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Int, Str, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import { invalidError, isDNS1123Subdomain, isQualifiedName, requiredError } from '../validation.js';
import { checkName, MaybeTime, ObjectReference } from './core-common.js';

export const Event = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    involvedObject: ObjectReference,
    reason: Str('Short CamelCase reason, e.g. Scheduled, Pulled, BackOff.'),
    message: Str('What happened, for people.'),
    source: Struct(
      { component: Str('Component that reported it.'), host: Str('Node it was reported on.') },
      'Who reported the event (older clients).',
    ),
    firstTimestamp: MaybeTime('When the event was first recorded.'),
    lastTimestamp: MaybeTime('When the most recent occurrence was recorded.'),
    count: Int('How many times it has happened.'),
    type: Str('Normal or Warning.'),
    eventTime: MaybeTime('When the event was first observed, with microseconds (newer clients).'),
    series: Struct(
      {
        count: Int('Occurrences up to the last heartbeat.'),
        lastObservedTime: MaybeTime('Time of the last occurrence observed.'),
      },
      'Set when the event stands for a series of repeated occurrences.',
    ),
    action: Str('What was done, or failed, about the object.'),
    related: ObjectReference,
    reportingComponent: Str('Controller that emitted the event, e.g. kubernetes.io/kubelet.'),
    reportingInstance: Str('Instance of that controller, e.g. kubelet-node1.'),
  },
  'A report of something that happened to an object: a state change, an error, a decision.',
);
export type Event = Static<typeof Event>;

const lengthLimit = { reportingInstance: 128, action: 128, reason: 128, message: 1024 } as const;

/**
 * Kubernetes' legacy Event checks, which core/v1 keeps for compatibility.
 * Events without eventTime (the old style) only need a matching namespace;
 * events with one also need reportingComponent, reportingInstance, action
 * and reason.
 */
export function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const involvedNs = ev.involvedObject?.namespace ?? '';
  const mismatch = () =>
    invalidError('involvedObject.namespace', involvedNs, 'does not match event.namespace');
  if (!ev.eventTime) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs) errs.push(mismatch());
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') errs.push(mismatch());
    if (!ev.reportingComponent) errs.push(requiredError('reportingComponent'));
    else errs.push(...checkName('reportingComponent', ev.reportingComponent, isQualifiedName));
    if (!ev.reportingInstance) errs.push(requiredError('reportingInstance'));
    if (!ev.action) errs.push(requiredError('action'));
    if (!ev.reason) errs.push(requiredError('reason'));
    for (const f of ['reportingInstance', 'action', 'reason', 'message'] as const) {
      const v = ev[f];
      if (v && v.length > lengthLimit[f])
        errs.push(invalidError(f, '', `can have at most ${lengthLimit[f]} characters`));
    }
  }
  if (ns) errs.push(...checkName('namespace', ns, isDNS1123Subdomain));
  return errs;
}

/** kubectl's LAST SEEN: the series' last observation, else lastTimestamp, else first seen. */
export function eventLastSeen(ev: Event, now: Date): string {
  if (ev.series) return age(ev.series.lastObservedTime, now);
  if (ev.lastTimestamp) return age(ev.lastTimestamp, now);
  return eventFirstSeen(ev, now);
}

export function eventFirstSeen(ev: Event, now: Date): string {
  return age(ev.firstTimestamp || ev.eventTime, now);
}

export function eventCount(ev: Event): number {
  if (ev.series) return ev.series.count ?? 0;
  return ev.count || 1; // singleton events of the newer API carry no count
}

/** kubectl's OBJECT: `pod/web-1`, lower-case kind. */
export function eventObject(ev: Event): string {
  const kind = (ev.involvedObject?.kind ?? '').toLowerCase();
  return ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
}

export function eventSource(ev: Event): string {
  const component = ev.source?.component || ev.reportingComponent || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

const e = (o: unknown) => o as Event;

export const eventType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  categories: [],
  namespaced: true,
  subresources: [],
  schema: Event,
  validate: (obj) => validateEvent(obj as Event),
  fieldLabels: (obj) => {
    const ev = e(obj);
    const ref = ev.involvedObject ?? {};
    return {
      'involvedObject.kind': ref.kind ?? '',
      'involvedObject.namespace': ref.namespace ?? '',
      'involvedObject.name': ref.name ?? '',
      'involvedObject.uid': ref.uid ?? '',
      'involvedObject.apiVersion': ref.apiVersion ?? '',
      'involvedObject.resourceVersion': ref.resourceVersion ?? '',
      'involvedObject.fieldPath': ref.fieldPath ?? '',
      reason: ev.reason ?? '',
      reportingComponent: ev.reportingComponent ?? '',
      source: ev.source?.component || ev.reportingComponent || '',
      type: ev.type ?? '',
    };
  },
  // kubectl's event table has no Age: Last Seen and (wide) First Seen take its place.
  columns: [
    column('Last Seen', 'Time since the event was last seen.', (o, now) => eventLastSeen(e(o), now)),
    column('Type', 'Normal or Warning.', (o) => e(o).type ?? ''),
    column('Reason', 'Short reason for the event.', (o) => e(o).reason ?? ''),
    column('Object', 'Object the event is about.', (o) => eventObject(e(o))),
    column(
      'Subobject',
      'Part of the object, e.g. a container.',
      (o) => e(o).involvedObject?.fieldPath ?? '',
      {
        priority: 1,
      },
    ),
    column('Source', 'Component (and host) that reported it.', (o) => eventSource(e(o)), { priority: 1 }),
    column('Message', 'What happened.', (o) => (e(o).message ?? '').trim()),
    column('First Seen', 'Time since the event was first seen.', (o, now) => eventFirstSeen(e(o), now), {
      priority: 1,
    }),
    column('Count', 'How many times it happened.', (o) => eventCount(e(o)), { type: 'integer', priority: 1 }),
    column('Name', 'Name of the event.', (o) => o.metadata.name ?? '', { priority: 1, format: 'name' }),
  ],
};
