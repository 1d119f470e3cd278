/**
 * CustomResourceDefinition validation (`apiextensions-apiserver/pkg/apis/apiextensions/validation`),
 * without the structural-schema checks, which live with the schema engine.
 */
import type { CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionSpec } from 'kubernetes-types/apiextensions/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { dns1035LabelErrors, dns1123SubdomainErrors } from './names.ts';
import { immutable, isObject, list, shape, str } from './util.ts';

/** `printerColumnDatatypes`, sorted. */
export const PRINTER_COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
/** `customResourceColumnDefinitionFormats`, sorted. */
export const PRINTER_COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

function enumString(value: unknown, accepted: readonly string[], path: string): FieldError[] {
  const v = str(value);
  if (v === '') return [fieldErrors.required(path)];
  return accepted.includes(v) ? [] : [fieldErrors.notSupported(path, v, accepted)];
}

/** `validateSimpleJSONPath`: printer columns take `.spec.foo`-style paths. */
function simpleJSONPath(s: string, path: string): FieldError[] {
  if (s === '') return [fieldErrors.invalid(path, s, 'must not be empty')];
  if (!s.startsWith('.')) return [fieldErrors.invalid(path, s, 'must be a simple json path starting with .')];
  return [];
}

/**
 * `ValidateCustomResourceColumnDefinition`. The jsonPath field is reported as `JSONPath`, the
 * internal field name Kubernetes' messages use.
 */
export function validatePrinterColumn(col: CustomResourceColumnDefinition, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (str(col.name) === '') errors.push(fieldErrors.required(`${path}.name`));
  const oneOfTypes = `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`;
  if (str(col.type) === '') errors.push(fieldErrors.required(`${path}.type`, oneOfTypes));
  else if (!PRINTER_COLUMN_TYPES.includes(col.type)) errors.push(fieldErrors.invalid(`${path}.type`, col.type, oneOfTypes));
  if (str(col.format) !== '' && !PRINTER_COLUMN_FORMATS.includes(str(col.format))) {
    errors.push(fieldErrors.invalid(`${path}.format`, col.format, `must be one of ${PRINTER_COLUMN_FORMATS.join(',')}`));
  }
  if (str(col.jsonPath) === '') errors.push(fieldErrors.required(`${path}.JSONPath`));
  else errors.push(...simpleJSONPath(col.jsonPath, `${path}.JSONPath`));
  return errors;
}

/** `ValidateCustomResourceDefinitionNames`: DNS-1035 labels; kind and listKind may be mixed case. */
export function validateCRDNames(names: CustomResourceDefinitionNames, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const label = (field: 'plural' | 'singular'): void => {
    const v = str(names[field]);
    const msgs = dns1035LabelErrors(v);
    if (v !== '' && msgs.length > 0) errors.push(fieldErrors.invalid(`${path}.${field}`, v, msgs.join(',')));
  };
  const kindLike = (field: 'kind' | 'listKind'): void => {
    const v = str(names[field]);
    const msgs = dns1035LabelErrors(v.toLowerCase());
    if (v !== '' && msgs.length > 0) errors.push(fieldErrors.invalid(`${path}.${field}`, v, `may have mixed case, but should otherwise match: ${msgs.join(',')}`));
  };
  label('plural');
  label('singular');
  kindLike('kind');
  kindLike('listKind');
  list(names.shortNames).forEach((s, i) => {
    const msgs = dns1035LabelErrors(str(s));
    if (msgs.length > 0) errors.push(fieldErrors.invalid(`${path}.shortNames[${i}]`, s, msgs.join(',')));
  });
  if (str(names.kind) !== '' && names.kind === names.listKind) errors.push(fieldErrors.invalid(`${path}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  list(names.categories).forEach((c, i) => {
    const msgs = dns1035LabelErrors(str(c));
    if (msgs.length > 0) errors.push(fieldErrors.invalid(`${path}.categories[${i}]`, c, msgs.join(',')));
  });
  return errors;
}

function validateCRDSpec(spec: CustomResourceDefinitionSpec): FieldError[] {
  const errors: FieldError[] = [];
  const group = str(spec.group);
  if (group === '') errors.push(fieldErrors.required('spec.group'));
  else {
    const msgs = dns1123SubdomainErrors(group);
    if (msgs.length > 0) errors.push(fieldErrors.invalid('spec.group', group, msgs.join(',')));
    else if (!group.includes('.')) errors.push(fieldErrors.invalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  errors.push(...enumString(spec.scope, ['Cluster', 'Namespaced'], 'spec.scope'));
  const versions = list(spec.versions);
  const seen = new Set<string>();
  let unique = true;
  let storage = 0;
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (v.storage === true) storage++;
    const name = str(v.name);
    if (seen.has(name)) unique = false;
    seen.add(name);
    const msgs = dns1035LabelErrors(name);
    if (msgs.length > 0) errors.push(fieldErrors.invalid(`${at}.name`, name, msgs.join(',')));
    if (!isObject(v.schema?.openAPIV3Schema)) errors.push(fieldErrors.required(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
    list(v.additionalPrinterColumns).forEach((col, j) => errors.push(...validatePrinterColumn(col, `${at}.additionalPrinterColumns[${j}]`)));
  });
  if (!unique) errors.push(fieldErrors.invalid('spec.versions', versions, 'must contain unique version names'));
  if (storage !== 1) errors.push(fieldErrors.invalid('spec.versions', versions, 'must have exactly one version marked as storage version'));
  const names = spec.names ?? ({} as CustomResourceDefinitionNames);
  for (const field of ['plural', 'singular', 'kind', 'listKind'] as const) {
    if (str(names[field]) === '') errors.push(fieldErrors.required(`spec.names.${field}`));
  }
  errors.push(...validateCRDNames(names, 'spec.names'));
  if (spec.conversion != null) {
    const conversion = spec.conversion;
    errors.push(...enumString(conversion.strategy, ['None', 'Webhook'], 'spec.conversion.strategy'));
    if (conversion.strategy === 'Webhook' && conversion.webhook?.clientConfig == null) {
      errors.push(fieldErrors.required('spec.conversion.webhookClientConfig', 'required when strategy is set to Webhook'));
    } else if (conversion.strategy !== 'Webhook' && conversion.webhook != null) {
      errors.push(fieldErrors.forbidden('spec.conversion.webhookClientConfig', 'should not be set when strategy is not set to Webhook'));
    }
  }
  return errors;
}

/** `ValidateCustomResourceDefinition`: the name is `<plural>.<group>`, and the spec is consistent. */
export function validateCRD(obj: KubeObject): FieldError[] {
  const crd = shape<CustomResourceDefinition>(obj);
  const spec = shape<CustomResourceDefinitionSpec>(crd.spec);
  const errors = validateObjectMeta(obj.metadata, { namespaced: false, nameRule: 'dns1123Subdomain' });
  const name = str(obj.metadata.name);
  if (name !== '' && name !== `${str(spec.names?.plural)}.${str(spec.group)}`) {
    errors.push(fieldErrors.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  errors.push(...validateCRDSpec(spec));
  if (crd.status?.acceptedNames != null) errors.push(...validateCRDNames(crd.status.acceptedNames, 'status.acceptedNames'));
  return errors;
}

/** True when the CRD has been established, after which its scope and kind are fixed. */
function established(crd: CustomResourceDefinition): boolean {
  return list(crd.status?.conditions).some((c) => c.type === 'Established' && c.status === 'True');
}

/** `ValidateCustomResourceDefinitionUpdate`: group and plural never change; scope and kind not once established. */
export function validateCRDUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const crd = shape<CustomResourceDefinition>(obj);
  const old = shape<CustomResourceDefinition>(oldObj);
  const errors = [...validateObjectMetaUpdate(obj.metadata, oldObj.metadata), ...validateCRD(obj)];
  if (established(old)) {
    errors.push(...immutable(crd.spec?.scope, old.spec?.scope, 'spec.scope'));
    errors.push(...immutable(crd.spec?.names?.kind, old.spec?.names?.kind, 'spec.names.kind'));
  }
  errors.push(...immutable(crd.spec?.group, old.spec?.group, 'spec.group'));
  errors.push(...immutable(crd.spec?.names?.plural, old.spec?.names?.plural, 'spec.names.plural'));
  return errors;
}

/** `ValidateUpdateCustomResourceDefinitionStatus`. */
export function validateCRDStatusUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const crd = shape<CustomResourceDefinition>(obj);
  const errors = validateObjectMetaUpdate(obj.metadata, oldObj.metadata);
  if (crd.status?.acceptedNames != null) errors.push(...validateCRDNames(crd.status.acceptedNames, 'status.acceptedNames'));
  return errors;
}
