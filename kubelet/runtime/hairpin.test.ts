import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enableHairpin, findHostVeth } from './hairpin.js';

let root: string;
let procRoot: string;
let netRoot: string;

/** A fake /sys/class/net entry; `bridge` makes it a port of that bridge. */
function iface(name: string, ifindex: number, bridge?: string) {
  const dir = path.join(netRoot, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'ifindex'), `${ifindex}\n`);
  if (bridge) {
    mkdirSync(path.join(dir, 'brport'));
    writeFileSync(path.join(dir, 'brport/hairpin_mode'), '0\n');
    symlinkSync(`../${bridge}`, path.join(dir, 'master'));
  }
}

function container(pid: number, iflink: number) {
  const dir = path.join(procRoot, String(pid), 'root/sys/class/net/eth0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'iflink'), `${iflink}\n`);
}

const hairpin = (veth: string) =>
  readFileSync(path.join(netRoot, veth, 'brport/hairpin_mode'), 'utf8').trim();

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'nk-hairpin-'));
  procRoot = path.join(root, 'proc');
  netRoot = path.join(root, 'net');
  iface('lo', 1);
  iface('br-abc', 5);
  iface('vethaaa', 41, 'br-abc');
  iface('vethbbb', 42, 'br-abc');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('enableHairpin', () => {
  it('turns hairpin on for the veth whose ifindex is the container eth0 iflink, and no other', async () => {
    container(100, 42);
    expect(await enableHairpin(100, { procRoot, netRoot })).toEqual({ veth: 'vethbbb', bridge: 'br-abc' });
    expect(hairpin('vethbbb')).toBe('1');
    expect(hairpin('vethaaa')).toBe('0');
  });

  it('is idempotent', async () => {
    container(100, 41);
    await enableHairpin(100, { procRoot, netRoot });
    await enableHairpin(100, { procRoot, netRoot });
    expect(hairpin('vethaaa')).toBe('1');
  });

  it.each([
    { name: 'no process', pid: 0, iflink: undefined, error: /no process/ },
    { name: 'no peer with that index', pid: 100, iflink: 99, error: /ifindex 99/ },
    { name: 'peer on no bridge', pid: 100, iflink: 1, error: /on no bridge/ },
    { name: 'no eth0 in the container', pid: 101, iflink: undefined, error: /ENOENT/ },
  ])('fails with the reason: $name', async ({ pid, iflink, error }) => {
    if (iflink !== undefined) container(pid, iflink);
    await expect(enableHairpin(pid, { procRoot, netRoot })).rejects.toThrow(error);
  });
});

describe('findHostVeth', () => {
  it('finds the interface by index', async () => {
    expect(await findHostVeth(41, netRoot)).toBe('vethaaa');
    expect(await findHostVeth(7, netRoot)).toBeUndefined();
  });
});
