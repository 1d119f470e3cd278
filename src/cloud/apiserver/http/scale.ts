import { apiErrors } from '../../../api/errors.ts';
import { isJsonObject, type KubeObject } from '../../../api/object.ts';
import { labelSelectorString } from './selection.ts';
import type { ScaleSubresource } from '../resources/resource-type.ts';

function readPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.replace(/^\./, '').split('.')) {
    if (!isJsonObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function writePath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isJsonObject(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** The autoscaling/v1 Scale view of an object with a scale subresource. */
export function scaleOf(obj: KubeObject, spec: ScaleSubresource): KubeObject {
  const m = obj.metadata;
  const replicas = readPath(obj, spec.specReplicasPath);
  const statusReplicas = readPath(obj, spec.statusReplicasPath);
  let selector = spec.labelSelectorPath === undefined ? undefined : readPath(obj, spec.labelSelectorPath);
  // apps types keep a structured selector in spec; Scale shows it as a string.
  if (selector === undefined && isJsonObject(obj['spec']) && isJsonObject(obj['spec']['selector'])) selector = labelSelectorString(obj['spec']['selector']);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: typeof replicas === 'number' ? replicas : 0 },
    status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' ? { selector } : {}) },
  };
}

/** The object with the replicas a Scale asks for. @throws ApiError 400/409/422 */
export function applyScale(current: KubeObject, scale: KubeObject, spec: ScaleSubresource, currentScale: KubeObject): KubeObject {
  const s = scale['spec'];
  const replicas = isJsonObject(s) ? s['replicas'] : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw apiErrors.invalid('Scale', 'autoscaling', current.metadata.name ?? '', [
      { type: 'FieldValueInvalid', field: 'spec.replicas', value: replicas, detail: 'must be greater than or equal to 0' },
    ]);
  }
  const rv = scale.metadata?.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== currentScale.metadata.resourceVersion) {
    throw apiErrors.conflict({ group: 'autoscaling', resource: 'scale', name: current.metadata.name ?? '' }, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  const next = structuredClone(current);
  writePath(next, spec.specReplicasPath, replicas);
  return next;
}
