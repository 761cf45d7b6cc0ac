/**
 * The streaming scenarios of the three-client layer, written once: what
 * kubectl, @kubernetes/client-node and the Python client (e2e/clients/streams.py)
 * must each observe through the apiserver and a real kubelet on Docker
 * (e2e/clients-streams.test.ts). Every client reports observations of exactly
 * these shapes, compared with `toEqual`; the values are what Kubernetes gives.
 */

/** The pods the scenarios use; every client gets the same ones. */
export const streamPods = {
  /** exec: a container that only sleeps. */
  shell: { name: 'shell', container: 'app', command: ['sleep', '3600'] },
  /** attach: a container started with stdin that answers each line it reads. */
  echo: {
    name: 'echo',
    container: 'app',
    command: ['sh', '-c', 'while read l; do echo got:$l; done'],
  },
  /**
   * logs: numbered lines, one each 0.2 s, until /tmp/stop exists; then `bye`
   * and the container ends. One pod per client (`counter-<client>`).
   */
  counter: {
    container: 'app',
    command: [
      'sh',
      '-c',
      'i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); echo line $i; sleep 0.2; done; echo bye',
    ],
  },
} as const;

/** The exec command: output on both streams and a non-zero exit. */
export const execCommand = ['sh', '-c', 'echo out; echo err >&2; exit 3'];

/** What an exec left: the text of each stream and the exit code (from the Status on channel 3). */
export interface ExecSeen {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** An interactive session: the line that came back before stdin was closed (null: none in 5 s), and how it ended. */
export interface ReplySeen {
  reply: string | null;
  exitCode?: number;
}

export interface PortForwardSeen {
  status: number;
  body: string;
}

export interface LogsSeen {
  /** The first lines, received while the container was still writing. */
  first: string[];
  /** The last line, written after the test let the container finish. */
  last: string;
  /** The follow ended by itself once the container had exited. */
  ended: boolean;
}

export const clientNames = ['kubectl', 'client-node', 'python'] as const;
export type ClientName = (typeof clientNames)[number];

export const streamExpected = {
  /** `sh -c 'echo out; echo err >&2; exit 3'`, no stdin. */
  exec: { stdout: 'out\n', stderr: 'err\n', exitCode: 3 } satisfies ExecSeen,
  /**
   * The same with stdout=false asked (kubectl always asks for stdout, so it
   * has no row): the process's stdout goes nowhere, as a CRI exec without
   * stdout drops it; nothing arrives on channel 1.
   */
  execWithoutStdout: { stdout: '', stderr: 'err\n', exitCode: 3 } satisfies ExecSeen,
  /** `/bin/sh` with stdin: `echo hi` answered while stdin is open, then `exit 0`. */
  execStdin: { reply: 'hi', exitCode: 0 } satisfies ReplySeen,
  /** attach with stdin to the echo pod: `hello` sent, its answer read. */
  attach: { reply: 'got:hello' } satisfies ReplySeen,
  /** port-forward to pod `web` port 8080: GET / through the tunnel. */
  portForward: { status: 200, body: 'hello-from-pod\n' } satisfies PortForwardSeen,
  /** logs --follow of a counter pod. */
  logsFollow: { first: ['line 1', 'line 2', 'line 3'], last: 'bye', ended: true } satisfies LogsSeen,
};

export type StreamScenario = keyof typeof streamExpected;

/** The clients that can ask for each scenario. */
export const scenarioClients: Record<StreamScenario, readonly ClientName[]> = {
  exec: clientNames,
  execWithoutStdout: ['client-node', 'python'],
  execStdin: clientNames,
  attach: clientNames,
  portForward: clientNames,
  logsFollow: clientNames,
};
