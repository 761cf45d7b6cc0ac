#!/usr/bin/env python3
"""Writes apiserver/protobuf-tables.ts: the protobuf field numbers of the kinds
nanokube serves, read from the `protobuf:"..."` struct tags of Kubernetes'
types.go files (k8s.io/api and k8s.io/apimachinery meta/v1).

Usage: gen-protobuf-tables.py API_REPO APIMACHINERY_REPO 'ROOT ...' > apiserver/protobuf-tables.ts
(roots such as core/v1.Pod: the served kinds, meta/v1.DeleteOptions and policy/v1.Eviction)
(each a git directory; files are read from HEAD with `git show`).
"""
import re, subprocess, sys

api, machinery = sys.argv[1], sys.argv[2]
packages = {
    'core/v1': (api, 'core/v1/types.go'),
    'apps/v1': (api, 'apps/v1/types.go'),
    'batch/v1': (api, 'batch/v1/types.go'),
    'networking.k8s.io/v1': (api, 'networking/v1/types.go'),
    'coordination.k8s.io/v1': (api, 'coordination/v1/types.go'),
    'discovery.k8s.io/v1': (api, 'discovery/v1/types.go'),
    'policy/v1': (api, 'policy/v1/types.go'),
    'rbac.authorization.k8s.io/v1': (api, 'rbac/v1/types.go'),
    'authorization.k8s.io/v1': (api, 'authorization/v1/types.go'),
    'authentication.k8s.io/v1': (api, 'authentication/v1/types.go'),
    'certificates.k8s.io/v1': (api, 'certificates/v1/types.go'),
    'storage.k8s.io/v1': (api, 'storage/v1/types.go'),
    'meta/v1': (machinery, 'pkg/apis/meta/v1/types.go'),
}
aliases = {'v1': 'core/v1', 'corev1': 'core/v1', 'metav1': 'meta/v1'}
special = {
    'metav1.Time': 'T', 'metav1.MicroTime': 'M', 'metav1.Duration': 'D', 'resource.Quantity': 'Q',
    'intstr.IntOrString': 'I', 'runtime.RawExtension': 'R', 'metav1.FieldsV1': 'F', 'types.UID': 's',
    'Time': 'T', 'MicroTime': 'M', 'Duration': 'D', 'FieldsV1': 'F',
}
scalars = {'string': 's', 'bool': 'b', 'int32': 'i', 'int64': 'i', 'int': 'i', 'uint32': 'i',
           'uint64': 'i', 'float64': 'd', 'byte': 'y'}

structs, named = {}, {}
for pkg, (repo, path) in packages.items():
    src = subprocess.run(['git', '-C', repo, 'show', f'HEAD:{path}'], capture_output=True, text=True,
                         check=True).stdout
    for m in re.finditer(r'^type (\w+) (?!struct)(\S[^\n]*)$', src, re.M):
        named[(pkg, m.group(1))] = m.group(2).strip()
    for m in re.finditer(r'^type (\w+) struct \{\n(.*?)^\}', src, re.M | re.S):
        fields = []
        for line in m.group(2).split('\n'):
            f = re.match(r'\s*(?:(\w+)\s+)?([\w.*\[\]]+(?:\[[\w.]+\][\w.*\[\]]+)?)\s+`(.*)`', line)
            if not f or 'protobuf:"' not in f.group(3):
                continue
            tag = re.search(r'protobuf:"([^"]*)"', f.group(3)).group(1).split(',')
            js = re.search(r'json:"([^"]*)"', f.group(3))
            jname = js.group(1).split(',')[0] if js else ''
            inline = jname == '' or (js and ',inline' in js.group(1))
            fields.append((f.group(2), int(tag[1]), tag[2] == 'rep', jname, inline))
        structs[(pkg, m.group(1))] = fields

def qualify(pkg, name):
    if '.' in name:
        alias, base = name.split('.', 1)
        return aliases.get(alias), base
    return pkg, name

used, queue = {}, []

def code(pkg, t):
    if t in special:
        return special[t]
    if t.startswith('map['):
        k, v = re.match(r'map\[([\w.]+)\](.+)', t).groups()
        return '{' + str(code(pkg, k)) + ',' + str(code(pkg, v)) + '}'
    if t == '[]byte':
        return 'y'
    if t in scalars:
        return scalars[t]
    p, base = qualify(pkg, t)
    if (p, base) in structs:
        ref = f'{p}.{base}'
        if ref not in used:
            used[ref] = None
            queue.append((p, base))
        return '@' + ref
    if (p, base) in named:
        return code(p, named[(p, base)])
    return None  # a type of a package we do not serve (alpha APIs): the field is skipped

def field(pkg, gotype, num, rep, jname, inline):
    # Repeated-ness comes from the Go type: a few tags say rep for a single value (PodStatus.qosClass).
    t, flags, rep = gotype, '', False
    if t.startswith('*'):
        t, flags = t[1:], '?'
    if t.startswith('[]') and t != '[]byte':
        t = t[2:]
        rep = True
    if t.startswith('*'):
        t = t[1:]
    c = code(pkg, t)
    if c is None or 'None' in c:
        return None
    if rep and not c.startswith('{'):
        flags += '*'
    if inline:
        flags += '^'
        jname = '_'
    return f'{jname}={num}{c}{flags}'

roots = sys.argv[3].split() if len(sys.argv) > 3 else []
for r in roots:
    pkg, kind = r.rsplit('.', 1)
    used[f'{pkg}.{kind}'] = None
    queue.append((pkg, kind))
out = {}
while queue:
    pkg, name = queue.pop(0)
    out[f'{pkg}.{name}'] = ' '.join(x for x in (field(pkg, *f) for f in structs[(pkg, name)]) if x)

print('''/**
 * Protobuf field numbers of the kinds nanokube serves, one message per line:
 * `json=<number><type><flags>`. Types: s string, y bytes (base64 in JSON),
 * i integer, b bool, d double, @message, {key,value} a map, and the
 * well-known T Time, M MicroTime, D Duration, Q Quantity, I IntOrString,
 * R RawExtension, F FieldsV1. Flags: ? a pointer (a zero value is kept),
 * * repeated, ^ embedded inline (its fields are the parent's).
 *
 * Generated by apiserver/tools/gen-protobuf-tables.py from the protobuf
 * struct tags of k8s.io/api and k8s.io/apimachinery; do not edit by hand.
 */
export const messages: Record<string, string> = {''')
for k in sorted(out):
    print(f"  '{k}': '{out[k]}',")
print('};')
