/**
 * The downward API selectors shared by env vars and volumes: `fieldRef` (pod fields) and
 * `resourceFieldRef` (container resources).
 */
import type { ObjectFieldSelector, ResourceFieldSelector } from 'kubernetes-types/core/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import { tryParseQuantityJson } from '../quantity.ts';
import { qualifiedNameErrors } from './names.ts';
import { invalidEach, str } from './util.ts';

/** Pod fields an env var may read (`validEnvDownwardAPIFieldPathExpressions`), sorted as Kubernetes lists them. */
export const ENV_FIELD_PATHS: readonly string[] = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];

/** Pod fields a downward API volume file may hold. */
export const VOLUME_FIELD_PATHS: readonly string[] = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];

/** Every field label `ConvertDownwardAPIFieldLabel` knows for v1 pods. */
const KNOWN_FIELD_LABELS = new Set([
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.serviceAccountName',
  'spec.schedulerName',
  'status.phase',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);

/** Container resources a `resourceFieldRef` may read. */
export const RESOURCE_FIELD_PATHS: readonly string[] = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];

/** `fieldpath.SplitMaybeSubscriptedPath`: `metadata.labels['app']` → `['metadata.labels', 'app']`. */
function splitSubscript(fieldPath: string): [string, string] | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const open = fieldPath.indexOf("['");
  if (open <= 0) return undefined;
  return [fieldPath.slice(0, open), fieldPath.slice(open + 2, -2)];
}

/** `validateObjectFieldSelector` against the paths allowed in this place. */
export function validateObjectFieldSelector(fs: ObjectFieldSelector, allowed: readonly string[], path: string): FieldError[] {
  const apiVersion = str(fs.apiVersion);
  const fieldPath = str(fs.fieldPath);
  if (apiVersion === '') return [fieldErrors.required(`${path}.apiVersion`)];
  if (fieldPath === '') return [fieldErrors.required(`${path}.fieldPath`)];
  if (apiVersion !== 'v1') return [fieldErrors.invalid(`${path}.fieldPath`, fieldPath, `error converting fieldPath: unsupported pod version: ${apiVersion}`)];
  const sub = splitSubscript(fieldPath);
  if (sub !== undefined) {
    const [base, key] = sub;
    if (base === 'metadata.annotations') return invalidEach(path, key.toLowerCase(), qualifiedNameErrors(key.toLowerCase()));
    if (base === 'metadata.labels') return invalidEach(path, key, qualifiedNameErrors(key));
    return [fieldErrors.invalid(`${path}.fieldPath`, fieldPath, `error converting fieldPath: field label does not support subscript: ${fieldPath}`)];
  }
  const internal = fieldPath === 'spec.host' ? 'spec.nodeName' : fieldPath;
  if (!KNOWN_FIELD_LABELS.has(internal)) {
    return [fieldErrors.invalid(`${path}.fieldPath`, fieldPath, `error converting fieldPath: field label not supported: ${fieldPath}`)];
  }
  if (!allowed.includes(internal)) return [fieldErrors.notSupported(`${path}.fieldPath`, internal, allowed)];
  return [];
}

/** `validateContainerResourceFieldSelector`; volumes must also name the container. */
export function validateResourceFieldSelector(fs: ResourceFieldSelector, path: string, volume: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const resource = str(fs.resource);
  if (volume && str(fs.containerName) === '') errors.push(fieldErrors.required(`${path}.containerName`));
  else if (resource === '') errors.push(fieldErrors.required(`${path}.resource`));
  else if (!RESOURCE_FIELD_PATHS.includes(resource) && !resource.startsWith('limits.hugepages-') && !resource.startsWith('requests.hugepages-')) {
    errors.push(fieldErrors.notSupported(`${path}.resource`, resource, RESOURCE_FIELD_PATHS));
  }
  if (fs.divisor !== undefined) {
    const parsed = tryParseQuantityJson(fs.divisor);
    if (!parsed.ok) errors.push(fieldErrors.invalid(`${path}.divisor`, fs.divisor, parsed.message));
  }
  return errors;
}
