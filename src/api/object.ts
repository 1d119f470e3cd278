import type { ObjectMeta } from 'kubernetes-types/meta/v1.d.ts';

/**
 * Any Kubernetes object as it travels through kedge: typed metadata, the rest kept as JSON.
 * Specific kinds use the types of `kubernetes-types` (e.g. `Pod` from `kubernetes-types/core/v1`).
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: MutableObjectMeta;
  [field: string]: unknown;
}

/**
 * ObjectMeta as the server handles it: `kubernetes-types` marks the system fields read-only (for
 * clients), but the API server is the one that sets them.
 */
export type MutableObjectMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** A JSON value, as decoded from a request body. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A plain JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** True for a non-null, non-array object. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Group, version and kind of a type, e.g. `{ group: 'apps', version: 'v1', kind: 'Deployment' }`;
 * the core group is the empty string.
 */
export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits `apps/v1` into group and version; `v1` is the core group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}
