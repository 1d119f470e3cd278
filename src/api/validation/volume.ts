/** Pod volume validation (`ValidateVolumes` and the sources kedge's edge nodes can mount). */
import type { DownwardAPIVolumeFile, KeyToPath, Volume, VolumeProjection } from 'kubernetes-types/core/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import { tryParseQuantityJson } from '../quantity.ts';
import { VOLUME_FIELD_PATHS, validateObjectFieldSelector, validateResourceFieldSelector } from './downward-api.ts';
import { dns1123LabelErrors } from './names.ts';
import { invalidEach, isObject, list, str } from './util.ts';

/**
 * Volume source fields in the order `validateVolumeSource` checks them: the second one present is
 * the one reported as "may not specify more than 1 volume type".
 */
export const VOLUME_SOURCES = [
  'emptyDir',
  'hostPath',
  'gitRepo',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'flocker',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'quobyte',
  'downwardAPI',
  'fc',
  'azureFile',
  'vsphereVolume',
  'photonPersistentDisk',
  'portworxVolume',
  'azureDisk',
  'storageos',
  'configMap',
  'scaleIO',
  'projected',
  'csi',
  'ephemeral',
  'image',
] as const;

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

function fileMode(mode: number | undefined, path: string): FieldError[] {
  return typeof mode === 'number' && (mode > 0o777 || mode < 0) ? [fieldErrors.invalid(path, mode, FILE_MODE_ERROR)] : [];
}

/** `validatePathNoBacksteps`. */
export function pathNoBacksteps(target: string, path: string): FieldError[] {
  return target.split('/').includes('..') ? [fieldErrors.invalid(path, target, "must not contain '..'")] : [];
}

/** `validateLocalDescendingPath`: relative, and never `..`. */
export function localDescendingPath(target: string, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (target.startsWith('/')) errors.push(fieldErrors.invalid(path, target, 'must be a relative path'));
  errors.push(...pathNoBacksteps(target, path));
  return errors;
}

/** `ValidateLocalNonReversiblePath`. */
function localNonReversiblePath(target: string, path: string): FieldError[] {
  const errors = localDescendingPath(target, path);
  if (target.startsWith('..') && !target.startsWith('../')) errors.push(fieldErrors.invalid(path, target, "must not start with '..'"));
  return errors;
}

/** `validateKeyToPath`: the items of a configMap or secret volume. */
function keyToPath(kp: KeyToPath, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (str(kp.key) === '') errors.push(fieldErrors.required(`${path}.key`));
  if (str(kp.path) === '') errors.push(fieldErrors.required(`${path}.path`));
  errors.push(...localNonReversiblePath(str(kp.path), `${path}.path`));
  errors.push(...fileMode(kp.mode, `${path}.mode`));
  return errors;
}

function downwardAPIFiles(items: unknown, path: string): FieldError[] {
  return list(items as DownwardAPIVolumeFile[]).flatMap((file, i) => {
    const at = `${path}[${i}]`;
    const errors: FieldError[] = [];
    if (str(file.path) === '') errors.push(fieldErrors.required(`${at}.path`));
    errors.push(...localNonReversiblePath(str(file.path), `${at}.path`));
    if (isObject(file.fieldRef)) {
      errors.push(...validateObjectFieldSelector(file.fieldRef, VOLUME_FIELD_PATHS, `${at}.fieldRef`));
      if (file.resourceFieldRef != null) errors.push(fieldErrors.invalid(at, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
    } else if (isObject(file.resourceFieldRef)) {
      errors.push(...validateResourceFieldSelector(file.resourceFieldRef, `${at}.resourceFieldRef`, true));
    } else {
      errors.push(fieldErrors.required(at, 'one of fieldRef and resourceFieldRef is required'));
    }
    errors.push(...fileMode(file.mode, `${at}.mode`));
    return errors;
  });
}

/** `validateProjectionSources`; `path` is the projected volume's. File paths must not collide. */
function projectionSources(sources: readonly VolumeProjection[], path: string): FieldError[] {
  const errors: FieldError[] = [];
  const seenPaths = new Set<string>();
  const items = (src: { name?: string; items?: KeyToPath[] }, at: string): void => {
    if (str(src.name) === '') errors.push(fieldErrors.required(`${at}.name`));
    list(src.items).forEach((kp, j) => {
      errors.push(...keyToPath(kp, `${at}.items[${j}]`));
      const p = str(kp.path);
      if (p === '') return;
      if (seenPaths.has(p)) errors.push(fieldErrors.invalid(path, str(src.name), 'conflicting duplicate paths'));
      seenPaths.add(p);
    });
  };
  sources.forEach((source, i) => {
    const at = `${path}.sources[${i}]`;
    let count = 0;
    if (isObject(source.secret)) {
      count++;
      items(source.secret, `${at}.secret`);
    }
    if (isObject(source.configMap)) {
      count++;
      items(source.configMap, `${at}.configMap`);
    }
    if (isObject(source.downwardAPI)) {
      count++;
      errors.push(...downwardAPIFiles(source.downwardAPI.items, `${at}.downwardAPI.items`));
    }
    if (isObject(source.serviceAccountToken)) {
      count++;
      const token = source.serviceAccountToken;
      const seconds = token.expirationSeconds;
      if (typeof seconds === 'number' && seconds < 600) {
        errors.push(fieldErrors.invalid(`${at}.serviceAccountToken.expirationSeconds`, seconds, 'may not specify a duration less than 10 minutes'));
      } else if (typeof seconds === 'number' && seconds > 2 ** 32) {
        errors.push(fieldErrors.invalid(`${at}.serviceAccountToken.expirationSeconds`, seconds, 'may not specify a duration larger than 2^32 seconds'));
      }
      if (str(token.path) === '') errors.push(fieldErrors.required(`${at}.serviceAccountToken.path`));
    }
    if (isObject(source.clusterTrustBundle)) count++;
    if (count > 1) errors.push(fieldErrors.forbidden(at, 'may not specify more than 1 volume type per source'));
  });
  return errors;
}

/** The checks of one volume source kedge understands; others are only counted. */
function volumeSource(kind: (typeof VOLUME_SOURCES)[number], vol: Volume, path: string): FieldError[] {
  const at = `${path}.${kind}`;
  switch (kind) {
    case 'emptyDir': {
      const limit = vol.emptyDir?.sizeLimit;
      if (limit === undefined) return [];
      const q = tryParseQuantityJson(limit);
      return !q.ok || q.quantity.nanos < 0n ? [fieldErrors.forbidden(`${at}.sizeLimit`, 'SizeLimit field must be a valid resource quantity')] : [];
    }
    case 'hostPath': {
      const hp = vol.hostPath!;
      if (str(hp.path) === '') return [fieldErrors.required(`${at}.path`)];
      const errors = pathNoBacksteps(str(hp.path), `${at}.path`);
      if (hp.type != null && !HOST_PATH_TYPES.includes(str(hp.type))) errors.push(fieldErrors.notSupported(`${at}.type`, hp.type, HOST_PATH_TYPES));
      return errors;
    }
    case 'secret': {
      const s = vol.secret!;
      const errors: FieldError[] = [];
      if (str(s.secretName) === '') errors.push(fieldErrors.required(`${at}.secretName`));
      errors.push(...fileMode(s.defaultMode, `${at}.defaultMode`));
      list(s.items).forEach((kp, i) => errors.push(...keyToPath(kp, `${at}.items[${i}]`)));
      return errors;
    }
    case 'configMap': {
      const c = vol.configMap!;
      const errors: FieldError[] = [];
      if (str(c.name) === '') errors.push(fieldErrors.required(`${at}.name`));
      errors.push(...fileMode(c.defaultMode, `${at}.defaultMode`));
      list(c.items).forEach((kp, i) => errors.push(...keyToPath(kp, `${at}.items[${i}]`)));
      return errors;
    }
    case 'persistentVolumeClaim':
      return str(vol.persistentVolumeClaim?.claimName) === '' ? [fieldErrors.required(`${at}.claimName`)] : [];
    case 'downwardAPI':
      return [...fileMode(vol.downwardAPI?.defaultMode, `${at}.defaultMode`), ...downwardAPIFiles(vol.downwardAPI?.items, `${at}.items`)];
    case 'projected':
      return [...fileMode(vol.projected?.defaultMode, `${at}.defaultMode`), ...projectionSources(list(vol.projected?.sources), at)];
    case 'csi':
      return str(vol.csi?.driver) === '' ? [fieldErrors.required(`${at}.driver`)] : [];
    default:
      return [];
  }
}

/** `validateVolumeSource`: exactly one source, then that source's rules. */
function validateVolumeSource(vol: Volume, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const fields = vol as unknown as Record<string, unknown>;
  let count = 0;
  for (const kind of VOLUME_SOURCES) {
    if (fields[kind] == null) continue;
    if (count > 0) {
      errors.push(fieldErrors.forbidden(`${path}.${kind}`, 'may not specify more than 1 volume type'));
      continue;
    }
    count++;
    errors.push(...volumeSource(kind, vol, path));
  }
  if (count === 0) errors.push(fieldErrors.required(path, 'must specify a volume type'));
  return errors;
}

/** What {@link validateVolumes} found: the names that mounts may refer to, and the errors. */
export interface VolumesResult {
  readonly names: ReadonlySet<string>;
  readonly errors: FieldError[];
}

/**
 * `ValidateVolumes`: unique DNS-1123 label names and one valid source each. As in Kubernetes, a
 * volume with errors is not added to the names that mounts may use.
 */
export function validateVolumes(volumes: unknown, path: string): VolumesResult {
  const names = new Set<string>();
  const errors: FieldError[] = [];
  list(volumes as Volume[]).forEach((vol, i) => {
    const at = `${path}[${i}]`;
    const name = str(vol.name);
    const own = validateVolumeSource(vol, at);
    if (name === '') own.push(fieldErrors.required(`${at}.name`));
    else own.push(...invalidEach(`${at}.name`, name, dns1123LabelErrors(name)));
    if (names.has(name)) own.push(fieldErrors.duplicate(`${at}.name`, name));
    if (own.length === 0) names.add(name);
    else errors.push(...own);
  });
  return { names, errors };
}
