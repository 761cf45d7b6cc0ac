"""The streaming scenarios of the three-client layer, as a user of the official Python client writes them.

Run by e2e/clients-streams.test.ts with /usr/bin/python3 (Debian's python3-kubernetes), once per scenario:
    python3 streams.py KUBECONFIG SCENARIO ARGS_JSON
ARGS_JSON names the pod, container and command (e2e/clients/streams.ts). Prints one JSON
object: the observation whose shape and expected value are in e2e/clients/streams.ts.
Every wait is bounded; a scenario that cannot finish raises, and the test shows the traceback.
"""

import json
import socket
import sys

from kubernetes import client, config
from kubernetes.stream import portforward, stream

KUBECONFIG, SCENARIO, ARGS = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
NS = 'default'
config.load_kube_config(config_file=KUBECONFIG)
core = client.CoreV1Api()


def exit_code(ws):
    """The code Kubernetes reports on the error channel once the session is closed."""
    if ws.is_open():
        raise RuntimeError('the session is still open')
    return ws.returncode


def exec_(stdout=True):
    ws = stream(core.connect_get_namespaced_pod_exec, ARGS['pod'], NS, container=ARGS['container'],
                command=ARGS['command'], stdin=False, stdout=stdout, stderr=True, tty=False,
                _preload_content=False)
    ws.run_forever(timeout=20)
    return {'stdout': ws.read_stdout(), 'stderr': ws.read_stderr(), 'exitCode': exit_code(ws)}


def exec_stdin():
    ws = stream(core.connect_get_namespaced_pod_exec, ARGS['pod'], NS, container=ARGS['container'],
                command=['/bin/sh'], stdin=True, stdout=True, stderr=True, tty=False,
                _preload_content=False)
    ws.write_stdin('echo hi\n')
    # None when nothing came back within 5 s (the bug of issue 22).
    reply = ws.readline_stdout(timeout=5)
    ws.write_stdin('exit 0\n')
    ws.run_forever(timeout=10)
    return {'reply': reply, 'exitCode': exit_code(ws)}


def attach():
    ws = stream(core.connect_get_namespaced_pod_attach, ARGS['pod'], NS, container=ARGS['container'],
                stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False)
    ws.write_stdin('hello\n')
    reply = ws.readline_stdout(timeout=5)
    ws.close()
    return {'reply': reply}


def port_forward():
    pf = portforward(core.connect_get_namespaced_pod_portforward, ARGS['pod'], NS, ports=str(ARGS['port']))
    sock = pf.socket(ARGS['port'])
    sock.settimeout(10)
    sock.sendall(b'GET / HTTP/1.0\r\nHost: web\r\n\r\n')
    data = b''
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    if pf.error(ARGS['port']):
        raise RuntimeError(pf.error(ARGS['port']))
    head, _, body = data.partition(b'\r\n\r\n')
    return {'status': int(head.split(b' ')[1]), 'body': body.decode()}


def logs_follow():
    resp = core.read_namespaced_pod_log(ARGS['pod'], NS, container=ARGS['container'], follow=True,
                                        _preload_content=False, _request_timeout=30)
    lines = iter(resp)
    first = [next(lines).decode().rstrip('\n') for _ in range(3)]
    # Let the container finish: it writes `bye` and exits, and the follow must end.
    stream(core.connect_get_namespaced_pod_exec, ARGS['pod'], NS, container=ARGS['container'],
           command=['touch', '/tmp/stop'], stdin=False, stdout=True, stderr=True, tty=False)
    rest = [line.decode().rstrip('\n') for line in lines]
    resp.release_conn()
    return {'first': first, 'last': rest[-1] if rest else None, 'ended': True}


scenarios = {
    'exec': exec_,
    'execWithoutStdout': lambda: exec_(stdout=False),
    'execStdin': exec_stdin,
    'attach': attach,
    'portForward': port_forward,
    'logsFollow': logs_follow,
}

socket.setdefaulttimeout(30)
print(json.dumps(scenarios[SCENARIO]()))
