"""The three-client scenarios, as a user of the official Python client writes them.

Run by e2e/clients-python.test.ts with /usr/bin/python3 (Debian's python3-kubernetes):
    python3 scenarios.py ADMIN_KUBECONFIG ROBOT_KUBECONFIG FIXTURES_JSON
Prints one JSON object: for each scenario the observations whose shapes and
expected values are in e2e/clients/expected.ts. A scenario that raises reports
{"raised": "..."} instead, so one failure does not hide the others.
"""

import json
import signal
import sys
import traceback

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

ADMIN, ROBOT, FIXTURES = sys.argv[1:4]
with open(FIXTURES) as f:
    FX = json.load(f)
NS = FX['namespace']


def api_client(kubeconfig, content_type=None):
    c = config.new_client_from_config(config_file=kubeconfig)
    if content_type:
        # The generated patch methods always pick the first patch type; users choose another
        # this way (the default headers override the method's).
        c.set_default_header('Content-Type', content_type)
    return c


admin = api_client(ADMIN)
core = client.CoreV1Api(admin)
apps = client.AppsV1Api(admin)
rbac = client.RbacAuthorizationV1Api(admin)


def plain(obj):
    """A model as the JSON it stands for."""
    return admin.sanitize_for_serialization(obj)


def error_seen(e):
    body = json.loads(e.body) if e.body else {}
    details = body.get('details') or {}
    return {
        'code': e.status,
        'reason': body.get('reason'),
        'statusCode': body.get('code'),
        'name': details.get('name'),
        'kind': details.get('kind'),
        'causes': [[c.get('reason'), c.get('field')] for c in details.get('causes') or []],
    }


def expect_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        return error_seen(e)
    raise AssertionError('no error')


def snake(kind):
    return {'ConfigMap': 'config_map', 'ClusterRole': 'cluster_role'}.get(kind, kind.lower())


def typed_api(kind):
    api = {'Deployment': apps, 'ClusterRole': rbac}.get(kind, core)
    return api


def verb(kind, namespaced, name):
    """The generated method for `name` (create, read, replace, delete) of a kind, bound to its scope."""
    api = typed_api(kind)
    if namespaced:
        fn = getattr(api, '%s_namespaced_%s' % (name, snake(kind)))
        return lambda *a, **kw: fn(*a, namespace=NS, **kw)
    return getattr(api, '%s_%s' % (name, snake(kind)))


def crud():
    out = {}
    for k in FX['kinds']:
        for variant in ('typed', 'bare'):
            kind, ns = k['kind'], k['namespaced']
            name = '%s-%s' % (kind.lower(), variant)
            body = dict(k['body'], metadata={'name': name})
            if variant == 'typed':
                body = dict(body, apiVersion=k['apiVersion'], kind=kind)
            created = verb(kind, ns, 'create')(body=body)
            status = plain(getattr(created, 'status', None))
            read = verb(kind, ns, 'read')(name)
            read.metadata.labels = {'updated': 'yes'}
            replacement = plain(read)
            if variant == 'bare':
                del replacement['apiVersion'], replacement['kind']
            updated = verb(kind, ns, 'replace')(name, body=replacement)
            deleted = verb(kind, ns, 'delete')(name)
            try:
                after = verb(kind, ns, 'read')(name).status.phase
            except ApiException as e:
                after = e.status
            out['%s/%s' % (kind, variant)] = {
                'created': [created.api_version, created.kind],
                'status': status,
                'read': [read.api_version, read.kind],
                'updated': [updated.api_version, updated.kind, updated.metadata.labels['updated']],
                'deleted': deleted.kind,
                'after': after,
            }
    return out


def discovery():
    version = client.VersionApi(admin).get_code()
    groups = [g.name for g in client.ApisApi(admin).get_api_versions().groups]
    r = next(r for r in core.get_api_resources().resources if r.name == 'configmaps')
    return {
        'major': version.major,
        'core': client.CoreApi(admin).get_api_versions().versions,
        'apps': 'apps' in groups,
        'configmaps': {'singularName': r.singular_name, 'namespaced': r.namespaced, 'kind': r.kind,
                       'verbs': sorted(r.verbs), 'shortNames': r.short_names},
    }


def cm(name, labels=None, data=None):
    body = {'metadata': {'name': name}}
    if labels:
        body['metadata']['labels'] = labels
    if data:
        body['data'] = data
    return body


def seen(w, *args, **kwargs):
    """Events (type, name) of a watch until a DELETED event or the stream's end; bookmarks skipped."""
    events = []
    for e in w.stream(*args, **kwargs):
        if e['type'] == 'BOOKMARK':
            continue
        events.append([e['type'], e['object'].metadata.name])
        if e['type'] == 'DELETED':
            w.stop()
    return events


def watch_scenario():
    listed = core.list_namespaced_config_map(NS, label_selector='watched=yes')
    core.create_namespaced_config_map(NS, cm('w-hidden'))
    core.create_namespaced_config_map(NS, cm('w-1', {'watched': 'yes'}))
    core.create_namespaced_config_map(NS, cm('w-skip', {'watched': 'yes'}))
    core.patch_namespaced_config_map('w-1', NS, {'data': {'x': 'y'}})
    core.delete_namespaced_config_map('w-1', NS)
    events = seen(watch.Watch(), core.list_namespaced_config_map, NS,
                  label_selector='watched=yes', field_selector='metadata.name!=w-skip',
                  resource_version=listed.metadata.resource_version,
                  allow_watch_bookmarks=True, timeout_seconds=10)
    return {'events': events}


def gone():
    out = {}
    try:
        # Without a timeout the client retries once after a 410, then raises it.
        for _ in watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version='1'):
            pass
        raise AssertionError('no 410')
    except ApiException as e:
        out['code'] = e.status
        out['reason'] = e.reason.split(':')[0]
    listed = core.list_namespaced_config_map(NS)
    core.create_namespaced_config_map(NS, cm('w-after'))
    w = watch.Watch()
    out['resumed'] = []
    for e in w.stream(core.list_namespaced_config_map, NS, field_selector='metadata.name=w-after',
                      resource_version=listed.metadata.resource_version, timeout_seconds=10):
        out['resumed'].append([e['type'], e['object'].metadata.name])
        w.stop()
    return out


def patch():
    core.create_namespaced_config_map(NS, cm('p-1', data={'a': '1'}))
    out = {}
    # A list body is sent as a JSON patch.
    out['json'] = core.patch_namespaced_config_map(
        'p-1', NS, [{'op': 'add', 'path': '/data/b', 'value': '2'}]).data
    merge = client.CoreV1Api(api_client(ADMIN, 'application/merge-patch+json'))
    out['merge'] = merge.patch_namespaced_config_map('p-1', NS, {'data': {'a': None, 'c': '3'}}).data
    apps.create_namespaced_deployment(NS, {'metadata': {'name': 'p-web'}, **FX['deployment']})
    # A dict body is sent as a strategic merge patch.
    d = apps.patch_namespaced_deployment('p-web', NS, {'spec': {'template': {'spec': {
        'containers': [{'name': 'side', 'image': 'nanokube/busybox:1'}]}}}})
    out['strategic'] = [c.name for c in d.spec.template.spec.containers]
    apply = client.CoreV1Api(api_client(ADMIN, 'application/apply-patch+yaml'))
    body = json.dumps({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'p-1'},
                       'data': {'d': '4'}})
    out['apply'] = apply.patch_namespaced_config_map('p-1', NS, body, field_manager='patcher').data
    return out


def delete_collection():
    for n in ('dc-1', 'dc-2', 'dc-3'):
        core.create_namespaced_config_map(NS, cm(n, {'group': 'dc'}))
    core.create_namespaced_config_map(NS, cm('dc-keep'))
    # The answer is the deleted ConfigMapList, which the generated method reads as a V1Status.
    res = core.delete_collection_namespaced_config_map(NS, label_selector='group=dc')
    names = [c.metadata.name for c in core.list_namespaced_config_map(NS).items]
    return {'kind': res.kind, 'resourceVersion': bool(res.metadata.resource_version),
            'remaining': [n for n in names if n.startswith('dc-')]}


def scale():
    apps.create_namespaced_deployment(NS, {'metadata': {'name': 's-web'}, **FX['deployment']})
    s = apps.read_namespaced_deployment_scale('s-web', NS)
    out = {'read': {'apiVersion': s.api_version, 'kind': s.kind, 'spec': s.spec.replicas,
                    'status': s.status.replicas, 'selector': s.status.selector}}
    out['patched'] = apps.patch_namespaced_deployment_scale(
        's-web', NS, {'spec': {'replicas': 3}}).spec.replicas
    s = apps.read_namespaced_deployment_scale('s-web', NS)
    s.spec.replicas = 2
    out['replaced'] = apps.replace_namespaced_deployment_scale('s-web', NS, s).spec.replicas
    out['deployment'] = apps.read_namespaced_deployment('s-web', NS).spec.replicas
    return out


def server_side_apply():
    api = client.CoreV1Api(api_client(ADMIN, 'application/apply-patch+yaml'))

    def apply(value, manager, **kw):
        body = json.dumps({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'ssa-1'},
                           'data': {'a': value}})
        return api.patch_namespaced_config_map('ssa-1', NS, body, field_manager=manager, **kw)

    out = {'first': apply('1', 'mgr-a').data}
    out['conflict'] = expect_error(apply, '2', 'mgr-b')
    forced = apply('2', 'mgr-b', force=True)
    out['forced'] = forced.data
    out['managers'] = sorted([m.manager, m.operation] for m in forced.metadata.managed_fields)
    return out


def dry_run():
    out = {}
    c = core.create_namespaced_config_map(NS, cm('dry-1', data={'a': '1'}), dry_run='All')
    out['created'] = {'name': c.metadata.name, 'resourceVersion': c.metadata.resource_version,
                      'uid': bool(c.metadata.uid)}
    out['afterCreate'] = expect_error(core.read_namespaced_config_map, 'dry-1', NS)['code']
    core.create_namespaced_config_map(NS, cm('dry-2', data={'a': '1'}))
    cur = core.read_namespaced_config_map('dry-2', NS)
    cur.data = {'a': '2'}
    out['updated'] = core.replace_namespaced_config_map('dry-2', NS, cur, dry_run='All').data['a']
    out['afterUpdate'] = core.read_namespaced_config_map('dry-2', NS).data['a']
    out['deleted'] = core.delete_namespaced_config_map('dry-2', NS, dry_run='All').kind
    core.read_namespaced_config_map('dry-2', NS)
    out['afterDelete'] = 200
    return out


def list_scenario():
    core.create_namespaced_config_map(NS, cm('l-1'))
    listed = core.list_namespaced_config_map(NS, field_selector='metadata.name=l-1')
    return {'kind': listed.kind, 'apiVersion': listed.api_version,
            'items': [[i.metadata.name, i.api_version, i.kind] for i in listed.items]}


def pagination():
    pages_ns = FX['pagesNamespace']
    for i in range(1, 6):
        core.create_namespaced_config_map(pages_ns, cm('pg-%d' % i))
    pages, token = [], None
    while True:
        kw = {'_continue': token} if token else {}
        page = core.list_namespaced_config_map(pages_ns, limit=2, **kw)
        token = page.metadata._continue
        pages.append([[c.metadata.name for c in page.items],
                      page.metadata.remaining_item_count, bool(token)])
        if not token or len(pages) > 5:
            return {'pages': pages}


def errors():
    out = {'notFound': expect_error(core.read_namespaced_config_map, 'missing', NS)}
    core.create_namespaced_config_map(NS, cm('e-dup'))
    out['alreadyExists'] = expect_error(core.create_namespaced_config_map, NS, cm('e-dup'))
    stale = core.read_namespaced_config_map('e-dup', NS)
    core.replace_namespaced_config_map('e-dup', NS, cm('e-dup', data={'v': '1'}))
    stale.data = {'v': '2'}
    out['conflict'] = expect_error(core.replace_namespaced_config_map, 'e-dup', NS, stale)
    out['invalid'] = expect_error(core.create_namespaced_config_map, NS, cm('Not_A_Name'))
    robot = client.CoreV1Api(api_client(ROBOT))
    out['forbidden'] = expect_error(robot.list_namespaced_config_map, NS)
    return out


SCENARIOS = {
    'crud': crud,
    'discovery': discovery,
    'watch': watch_scenario,
    'gone': gone,
    'patch': patch,
    'deleteCollection': delete_collection,
    'scale': scale,
    'apply': server_side_apply,
    'dryRun': dry_run,
    'list': list_scenario,
    'pagination': pagination,
    'errors': errors,
}


def overdue(signum, frame):
    raise TimeoutError('the scenario took longer than 30 s')


signal.signal(signal.SIGALRM, overdue)
results = {}
for scenario, run in SCENARIOS.items():
    print('scenario %s' % scenario, file=sys.stderr, flush=True)
    signal.alarm(30)
    try:
        results[scenario] = run()
    except Exception as e:  # noqa: BLE001 - reported to the test, which shows it
        detail = e.body if isinstance(e, ApiException) else ''
        results[scenario] = {'raised': '%s: %s %s\n%s' % (
            type(e).__name__, e, detail, traceback.format_exc())}
    finally:
        signal.alarm(0)
print(json.dumps(results))
