/**
 * Pure pieces the workload controllers share: the pod-template-hash (and
 * controller-revision-hash) of a template, and int-or-percent scaling.
 * No I/O here.
 */
import { stableJson } from '../api/stable-json.js';
import type { PodTemplateSpec } from '../api/types/pod.js';

/** 32-bit FNV-1a of a string. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString's alphabet: no vowels, no look-alikes, so hashes never spell words. */
const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncode(n: number): string {
  const s = String(n);
  let out = '';
  for (let i = 0; i < s.length; i++) out += safeAlphabet[s.charCodeAt(i) % safeAlphabet.length];
  return out;
}

/**
 * The pod-template-hash (and controller-revision-hash): a short stable hash
 * of a pod template, with the collision count mixed in when there is one.
 */
export function templateHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  const seed = stableJson(template ?? {}) + (collisionCount ? `#${collisionCount}` : '');
  return safeEncode(fnv32a(seed));
}

/**
 * Resolves an int-or-percent against a total, rounding percents up or down,
 * as intstr.GetScaledValueFromIntOrPercent.
 */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid int-or-percent "${v}"`);
  }
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}
