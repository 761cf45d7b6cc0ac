/**
 * Runs a probe or lifecycle hook handler against a container: exec in it,
 * an HTTP GET or a TCP connect to the pod's IP (or the given host), or a
 * sleep (hooks only). Success is exit code 0, an HTTP status from 200 to
 * 399, or an accepted connection; anything else, a timeout included, is a
 * failure with a message for Events.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Clock } from '../client/clock.js';
import type { Runtime } from './runtime/runtime.js';

export interface Handler {
  exec?: { command?: string[] };
  httpGet?: {
    path?: string;
    port?: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name?: string; value?: string }[];
  };
  tcpSocket?: { port?: number | string; host?: string };
  sleep?: { seconds?: number };
}

export interface HandlerTarget {
  runtime: Runtime;
  containerId: string;
  podIP: string;
  /** The container's named ports, to resolve a port given by name. */
  ports: { name?: string; containerPort?: number }[];
  clock: Clock;
}

export interface HandlerResult {
  ok: boolean;
  message: string;
}

function resolvePort(port: number | string | undefined, ports: HandlerTarget['ports']): number {
  if (typeof port === 'number') return port;
  const n = Number(port);
  if (port && Number.isInteger(n)) return n;
  const named = ports.find((p) => p.name === port)?.containerPort;
  if (named === undefined) throw new Error(`port "${port}" is not a named port of the container`);
  return named;
}

export async function runHandler(h: Handler, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  try {
    if (h.exec) return await execHandler(h.exec.command ?? [], t, timeoutMs);
    if (h.httpGet) return await httpHandler(h.httpGet, t, timeoutMs);
    if (h.tcpSocket) return await tcpHandler(h.tcpSocket, t, timeoutMs);
    if (h.sleep) {
      await t.clock.sleep(Math.min((h.sleep.seconds ?? 0) * 1000, timeoutMs));
      return { ok: true, message: '' };
    }
    return { ok: false, message: 'the handler has no action' };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

async function execHandler(command: string[], t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  const r = await t.runtime.exec(t.containerId, command, { timeoutMs, maxOutput: 10 * 1024 });
  if (r.timedOut) return { ok: false, message: `command ${JSON.stringify(command)} timed out` };
  if (r.exitCode === 0) return { ok: true, message: r.output };
  return {
    ok: false,
    message: `command ${JSON.stringify(command)} exited with ${r.exitCode}: ${r.output.trim()}`,
  };
}

function httpHandler(
  g: NonNullable<Handler['httpGet']>,
  t: HandlerTarget,
  timeoutMs: number,
): Promise<HandlerResult> {
  const port = resolvePort(g.port, t.ports);
  const scheme = (g.scheme ?? 'HTTP').toLowerCase();
  const host = g.host || t.podIP;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${g.path || '/'}`;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
  for (const h of g.httpHeaders ?? []) if (h.name) headers[h.name.toLowerCase()] = h.value ?? '';
  return new Promise((resolve) => {
    const mod = scheme === 'https' ? https : http;
    const req = mod.get(
      url,
      { headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        const code = res.statusCode ?? 0;
        res.resume();
        res.on('end', () =>
          resolve(
            code >= 200 && code < 400
              ? { ok: true, message: '' }
              : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
          ),
        );
        res.on('error', (e) => resolve({ ok: false, message: `Get "${url}": ${e.message}` }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded (timeout)')));
    req.on('error', (e) => resolve({ ok: false, message: `Get "${url}": ${e.message}` }));
  });
}

function tcpHandler(
  s: NonNullable<Handler['tcpSocket']>,
  t: HandlerTarget,
  timeoutMs: number,
): Promise<HandlerResult> {
  const port = resolvePort(s.port, t.ports);
  const host = s.host || t.podIP;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => {
      sock.destroy();
      resolve({ ok: true, message: '' });
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    sock.once('error', (e) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}
