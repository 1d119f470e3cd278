/**
 * ObjectMeta validation (`apimachinery/pkg/api/validation/objectmeta.go`), shared by every kind and
 * by custom resources.
 */
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import { isJsonObject, parseApiVersion } from '../object.ts';
import { byteLength, labelValueErrors, nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, pathSegmentNameErrors, qualifiedNameErrors } from './names.ts';
import { FIELD_IMMUTABLE, invalidEach, list, nonNegative, record, semanticEqual, sortedEntries, str } from './util.ts';

/** Which rule names of a kind follow. */
export type NameRule = 'dns1123Subdomain' | 'dns1123Label' | 'dns1035Label' | 'pathSegment';

/** How {@link validateObjectMeta} treats one kind. */
export interface ObjectMetaOptions {
  /** Namespaced kinds require `metadata.namespace`; cluster-scoped ones forbid it. */
  readonly namespaced: boolean;
  readonly nameRule: NameRule;
}

/** `TotalAnnotationSizeLimitB`: keys and values of all annotations together. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** The name check of a rule: `(name, isPrefix) => messages`. */
export function nameValidator(rule: NameRule): (name: string, prefix: boolean) => string[] {
  switch (rule) {
    case 'dns1123Subdomain':
      return nameIsDNSSubdomain;
    case 'dns1123Label':
      return nameIsDNSLabel;
    case 'dns1035Label':
      return nameIsDNS1035Label;
    case 'pathSegment':
      return pathSegmentNameErrors;
  }
}

/** `v1validation.ValidateLabels`: keys are qualified names, values label values; errors sit on `path` itself. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [k, v] of sortedEntries(record(labels))) {
    errors.push(...invalidEach(path, k, qualifiedNameErrors(k)));
    errors.push(...invalidEach(path, v, labelValueErrors(str(v))));
  }
  return errors;
}

/** `ValidateAnnotations`: keys are case-insensitive qualified names, 256 KiB in total. */
export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  let total = 0;
  for (const [k, v] of sortedEntries(record(annotations))) {
    errors.push(...invalidEach(path, k, qualifiedNameErrors(k.toLowerCase())));
    total += byteLength(k) + byteLength(str(v));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errors.push(fieldErrors.tooLong(path, undefined, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errors;
}

/** `ValidateFinalizers`: qualified names, and not both orphan and foreground deletion. */
export function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  const names = list(finalizers as string[]).map(str);
  const errors = names.flatMap((f) => invalidEach(path, f, qualifiedNameErrors(f)));
  if (names.includes('orphan') && names.includes('foregroundDeletion')) {
    errors.push(fieldErrors.invalid(path, names, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errors;
}

/** Owners that can never own anything (`BannedOwners`). */
const BANNED_OWNERS = new Set(['/v1, Kind=Event', 'events.k8s.io/v1, Kind=Event']);

/**
 * `ValidateOwnerReferences`. As in Kubernetes the paths are not indexed
 * (`metadata.ownerReferences.uid`), and only one reference may be the controller.
 */
export function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  let firstController = '';
  for (const ref of list(refs as OwnerReference[])) {
    const apiVersion = str(ref.apiVersion);
    const { group, version } = parseApiVersion(apiVersion);
    if (version === '') errors.push(fieldErrors.invalid(`${path}.apiVersion`, apiVersion, 'version must not be empty'));
    if (str(ref.kind) === '') errors.push(fieldErrors.invalid(`${path}.kind`, str(ref.kind), 'must not be empty'));
    if (str(ref.name) === '') errors.push(fieldErrors.invalid(`${path}.name`, str(ref.name), 'must not be empty'));
    if (str(ref.uid) === '') errors.push(fieldErrors.invalid(`${path}.uid`, str(ref.uid), 'must not be empty'));
    const gvk = `${group}/${version}, Kind=${str(ref.kind)}`;
    if (BANNED_OWNERS.has(gvk)) errors.push(fieldErrors.invalid(path, ref, `${gvk} is disallowed from being an owner`));
    if (ref.controller === true) {
      const current = `${str(ref.kind)}/${str(ref.name)}`;
      if (firstController === '') firstController = current;
      else {
        errors.push(
          fieldErrors.invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${current}`),
        );
      }
    }
  }
  return errors;
}

/**
 * `ValidateObjectMetaAccessor`: name (or generateName), namespace, generation, labels,
 * annotations, owner references and finalizers. `path` is `metadata` for objects and
 * `spec.template.metadata`-like paths are not used: pod templates check only labels and
 * annotations, as Kubernetes does.
 *
 * A missing name is accepted when generateName is set, so callers may validate before or after
 * the server generates the name.
 */
export function validateObjectMeta(meta: unknown, options: ObjectMetaOptions, path = 'metadata'): FieldError[] {
  if (!isJsonObject(meta)) return [fieldErrors.required(`${path}.name`, 'name or generateName is required')];
  const m = meta as ObjectMeta;
  const errors: FieldError[] = [];
  const validName = nameValidator(options.nameRule);
  const generateName = str(m.generateName);
  const name = str(m.name);
  if (generateName !== '') errors.push(...invalidEach(`${path}.generateName`, generateName, validName(generateName, true)));
  if (name === '') {
    if (generateName === '') errors.push(fieldErrors.required(`${path}.name`, 'name or generateName is required'));
  } else {
    errors.push(...invalidEach(`${path}.name`, name, validName(name, false)));
  }
  const namespace = str(m.namespace);
  if (options.namespaced) {
    if (namespace === '') errors.push(fieldErrors.required(`${path}.namespace`));
    else errors.push(...invalidEach(`${path}.namespace`, namespace, nameIsDNSLabel(namespace, false)));
  } else if (namespace !== '') {
    errors.push(fieldErrors.forbidden(`${path}.namespace`, 'not allowed on this type'));
  }
  errors.push(...nonNegative(m.generation, `${path}.generation`));
  errors.push(...validateLabels(m.labels, `${path}.labels`));
  errors.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  errors.push(...validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`));
  errors.push(...validateFinalizers(m.finalizers, `${path}.finalizers`));
  return errors;
}

/**
 * `ValidateObjectMetaAccessorUpdate`: identity fields may not change, generation may not go back,
 * a deleting object accepts no new finalizers, and the new labels, annotations and owner
 * references must be valid.
 *
 * `resourceVersion`, `deletionTimestamp` and `deletionGracePeriodSeconds` are not checked: the
 * server carries them over from the stored object before validating, as `rest.BeforeUpdate` does.
 * An absent `uid` or `creationTimestamp` likewise means "unchanged".
 */
export function validateObjectMetaUpdate(meta: unknown, old: unknown, path = 'metadata'): FieldError[] {
  const m = record(meta) as ObjectMeta;
  const o = record(old) as ObjectMeta;
  const errors: FieldError[] = [];
  if (o.deletionTimestamp != null) {
    const before = new Set(list(o.finalizers));
    const added = list(m.finalizers).filter((f) => !before.has(f));
    if (added.length > 0) {
      errors.push(fieldErrors.forbidden(`${path}.finalizers`, `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
    }
  }
  if (typeof m.generation === 'number' && typeof o.generation === 'number' && m.generation < o.generation) {
    errors.push(fieldErrors.invalid(`${path}.generation`, m.generation, 'must not be decremented'));
  }
  for (const field of ['name', 'namespace', 'uid', 'creationTimestamp'] as const) {
    if ((field === 'uid' || field === 'creationTimestamp') && m[field] === undefined) continue;
    if (!semanticEqual(m[field] ?? '', o[field] ?? '')) errors.push(fieldErrors.invalid(`${path}.${field}`, m[field] ?? '', FIELD_IMMUTABLE));
  }
  errors.push(...validateLabels(m.labels, `${path}.labels`));
  errors.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  errors.push(...validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`));
  return errors;
}
