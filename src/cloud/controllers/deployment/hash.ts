import type { PodTemplateSpec } from 'kubernetes-types/core/v1.d.ts';

/** `apps.DefaultDeploymentUniqueLabelKey`: on a Deployment's replica sets, their selectors and their pods. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

// `rand.SafeEncodeString`'s alphabet: no vowels (no words), no 0/1/3 (no look-alikes).
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * `controller.ComputeHash`: a short, stable name for a pod template (and the Deployment's
 * `collisionCount`), the suffix of the replica set's name and its `pod-template-hash` label. Like
 * Kubernetes it is FNV-32a, printed in decimal and mapped onto a safe alphabet; it hashes the
 * template's canonical JSON (keys sorted), where Kubernetes hashes Go's printed struct, so the values
 * differ from a kube-controller-manager's but are as stable: the same template always gets the same
 * hash, across restarts and processes.
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount: number | undefined): string {
  let h = fnv32a(0x811c9dc5, Buffer.from(canonicalJson(template ?? {}), 'utf8'));
  if (collisionCount !== undefined) {
    // Kubernetes appends the count as 8 little-endian bytes (a uint32 in the first four).
    const bytes = Buffer.alloc(8);
    bytes.writeUInt32LE(collisionCount >>> 0, 0);
    h = fnv32a(h, bytes);
  }
  let out = '';
  for (const ch of String(h)) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

function fnv32a(seed: number, bytes: Uint8Array): number {
  let h = seed;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** JSON with object keys sorted at every level, so equal templates print equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
