import { fieldErrors, type FieldError } from '../field-error.ts';
import { emptyResolver } from './resolver.ts';
import type { SchemaNode } from './schema-node.ts';
import { validateValue } from './validate.ts';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'] as const;
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;

/**
 * JSON Schema keywords a CRD schema may carry in Kubernetes' JSONSchemaProps but that apiextensions
 * v1 rejects. They are not part of {@link SchemaNode}, so they are looked up on the raw object.
 */
const UNSUPPORTED = ['$ref', 'definitions', 'dependencies', 'patternProperties', 'additionalItems', 'id', '$schema'] as const;

/** Extensions that shape the structural schema, and therefore may not appear in value validations. */
const STRUCTURAL_KEYS = [
  'type',
  'description',
  'default',
  'nullable',
  'additionalProperties',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Checks that a CRD version's `openAPIV3Schema` is a structural schema that apiextensions.k8s.io/v1
 * accepts: every field has a `type` (unless `x-kubernetes-int-or-string` or
 * `x-kubernetes-preserve-unknown-fields` says otherwise), arrays have `items`, objects have either
 * `properties` or `additionalProperties`, junctors (`allOf`/`anyOf`/`oneOf`/`not`) only add value
 * validations to fields the structural part declares, no `$ref` or other unsupported keywords, the
 * root is an object whose `metadata` restricts at most `name` and `generateName`, list and map
 * extensions are consistent, and every `default` validates and has no unknown fields.
 *
 * @param path where the schema sits in the CRD, prefixed to every error, e.g.
 *   `spec.versions[0].schema.openAPIV3Schema`.
 * @returns the problems found; empty when the schema is acceptable.
 */
export function validateStructuralSchema(schema: SchemaNode, path = ''): FieldError[] {
  const errors: FieldError[] = [];
  structural(schema, path, 'root', errors);
  return errors;
}

type Position = 'root' | 'property' | 'items' | 'additionalProperties';

function structural(node: SchemaNode, path: string, position: Position, errors: FieldError[]): void {
  unsupported(node, path, errors);

  const type = node.type;
  if (type !== undefined && !(TYPES as readonly string[]).includes(type)) {
    errors.push(fieldErrors.notSupported(child(path, 'type'), type, TYPES));
  }
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'];
  if (preserve === false) {
    errors.push(fieldErrors.invalid(child(path, 'x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'));
  }
  if (intOrString && type !== undefined) {
    errors.push(fieldErrors.forbidden(child(path, 'type'), 'must be empty if x-kubernetes-int-or-string is true'));
  }
  if (type === undefined && !intOrString && preserve !== true) {
    const where = position === 'root' ? 'at the root' : position === 'items' ? 'for specified array items' : position === 'additionalProperties' ? 'if additionalProperties is specified' : 'for specified object fields';
    errors.push(fieldErrors.required(child(path, 'type'), `must not be empty ${where}`));
  }
  if (position === 'root' && type !== undefined && type !== 'object') {
    errors.push(fieldErrors.invalid(child(path, 'type'), type, 'must be object at the root'));
  }

  if (node.properties !== undefined && type !== undefined && type !== 'object') {
    errors.push(fieldErrors.forbidden(child(path, 'properties'), `must be empty for type "${type}"`));
  }
  if (node.additionalProperties !== undefined) {
    if (node.additionalProperties === false) {
      errors.push(fieldErrors.forbidden(child(path, 'additionalProperties'), 'additionalProperties cannot be set to false'));
    } else if (node.properties !== undefined) {
      errors.push(fieldErrors.forbidden(child(path, 'additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
    }
    if (type !== undefined && type !== 'object') errors.push(fieldErrors.forbidden(child(path, 'additionalProperties'), `must be empty for type "${type}"`));
  }
  if (type === 'array' && node.items === undefined) errors.push(fieldErrors.required(child(path, 'items'), 'must be specified'));
  if (node.items !== undefined && type !== undefined && type !== 'array') errors.push(fieldErrors.forbidden(child(path, 'items'), `must be empty for type "${type}"`));
  if (node.uniqueItems === true) {
    errors.push(fieldErrors.forbidden(child(path, 'uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  }

  if (node['x-kubernetes-embedded-resource'] === true) {
    if (type !== 'object') errors.push(fieldErrors.invalid(child(path, 'type'), type ?? '', 'must be object if x-kubernetes-embedded-resource is true'));
    if (node.properties === undefined && preserve !== true) {
      errors.push(fieldErrors.required(child(path, 'properties'), 'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'));
    }
  }
  listAndMapTypes(node, path, errors);

  if (position === 'root') rootFields(node, path, errors);
  if (node.default !== undefined) defaultValue(node, path, errors);

  for (const [name, prop] of Object.entries(node.properties ?? {})) {
    structural(prop, `${child(path, 'properties')}[${name}]`, 'property', errors);
  }
  if (typeof node.additionalProperties === 'object') structural(node.additionalProperties, child(path, 'additionalProperties'), 'additionalProperties', errors);
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) errors.push(fieldErrors.forbidden(child(path, 'items'), 'items must be a schema object and not an array'));
    else structural(node.items, child(path, 'items'), 'items', errors);
  }

  for (const junctor of JUNCTORS) {
    (node[junctor] ?? []).forEach((branch, i) => valueValidation(branch, node, `${child(path, junctor)}[${i}]`, path, errors, intOrString && junctor === 'anyOf'));
  }
  if (node.not !== undefined) valueValidation(node.not, node, child(path, 'not'), path, errors, false);
}

function unsupported(node: SchemaNode, path: string, errors: FieldError[]): void {
  for (const key of UNSUPPORTED) {
    if (Object.hasOwn(node, key)) errors.push(fieldErrors.forbidden(child(path, key), `${key} is not supported`));
  }
}

/**
 * A junctor branch: it may restrict values, but may not change the shape of the schema, and every
 * field it names must exist in the structural part (`counterpart`) so that pruning keeps it.
 */
function valueValidation(branch: SchemaNode, counterpart: SchemaNode | undefined, path: string, structuralPath: string, errors: FieldError[], intOrStringBranch: boolean): void {
  unsupported(branch, path, errors);
  for (const key of STRUCTURAL_KEYS) {
    // `anyOf: [{type: integer}, {type: string}]` is how x-kubernetes-int-or-string spells itself.
    if (key === 'type' && intOrStringBranch && (branch.type === 'integer' || branch.type === 'string')) continue;
    if (Object.hasOwn(branch, key)) errors.push(fieldErrors.forbidden(child(path, key), 'must be empty to be structural'));
  }
  for (const [name, prop] of Object.entries(branch.properties ?? {})) {
    const target = counterpart?.properties?.[name] ?? (typeof counterpart?.additionalProperties === 'object' ? counterpart.additionalProperties : undefined);
    const propPath = `${child(path, 'properties')}[${name}]`;
    if (target === undefined && counterpart?.['x-kubernetes-preserve-unknown-fields'] !== true) {
      errors.push(fieldErrors.required(`${child(structuralPath, 'properties')}[${name}]`, `because it is defined in ${propPath}`));
    }
    valueValidation(prop, target, propPath, `${child(structuralPath, 'properties')}[${name}]`, errors, false);
  }
  if (typeof branch.additionalProperties === 'object') {
    valueValidation(branch.additionalProperties, typeof counterpart?.additionalProperties === 'object' ? counterpart.additionalProperties : undefined, child(path, 'additionalProperties'), child(structuralPath, 'additionalProperties'), errors, false);
  }
  if (branch.items !== undefined) {
    if (counterpart !== undefined && counterpart.items === undefined && counterpart['x-kubernetes-preserve-unknown-fields'] !== true) {
      errors.push(fieldErrors.required(child(structuralPath, 'items'), `because it is defined in ${child(path, 'items')}`));
    }
    valueValidation(branch.items, counterpart?.items, child(path, 'items'), child(structuralPath, 'items'), errors, false);
  }
  for (const junctor of JUNCTORS) {
    (branch[junctor] ?? []).forEach((nested, i) => valueValidation(nested, counterpart, `${child(path, junctor)}[${i}]`, structuralPath, errors, false));
  }
  if (branch.not !== undefined) valueValidation(branch.not, counterpart, child(path, 'not'), structuralPath, errors, false);
}

function listAndMapTypes(node: SchemaNode, path: string, errors: FieldError[]): void {
  const listType = node['x-kubernetes-list-type'];
  const keys = node['x-kubernetes-list-map-keys'];
  if (listType !== undefined) {
    if (!['atomic', 'set', 'map'].includes(listType)) errors.push(fieldErrors.notSupported(child(path, 'x-kubernetes-list-type'), listType, ['atomic', 'set', 'map']));
    if (node.type !== 'array') errors.push(fieldErrors.invalid(child(path, 'x-kubernetes-list-type'), listType, 'must only be used if type is array'));
  }
  if (keys !== undefined && listType !== 'map') {
    errors.push(fieldErrors.forbidden(child(path, 'x-kubernetes-list-map-keys'), 'must only be used if x-kubernetes-list-type is "map"'));
  }
  const items = node.items;
  if (listType === 'map') {
    if (keys === undefined || keys.length === 0) {
      errors.push(fieldErrors.required(child(path, 'x-kubernetes-list-map-keys'), 'must not be empty if x-kubernetes-list-type is "map"'));
    }
    if (items !== undefined && items.type !== 'object') {
      errors.push(fieldErrors.invalid(child(path, 'items.type'), items.type ?? '', 'must be object if parent array\'s x-kubernetes-list-type is "map"'));
    }
    (keys ?? []).forEach((key, i) => {
      const keyPath = `${child(path, 'x-kubernetes-list-map-keys')}[${i}]`;
      const prop = items?.properties?.[key];
      if (prop === undefined) {
        errors.push(fieldErrors.invalid(keyPath, key, 'entries must all be names of item properties'));
      } else {
        if (prop.type === 'object' || prop.type === 'array' || prop.type === undefined) {
          errors.push(fieldErrors.invalid(keyPath, key, 'must be a scalar property of the items'));
        }
        if (!(items?.required ?? []).includes(key) && prop.default === undefined) {
          errors.push(fieldErrors.invalid(keyPath, key, 'all map keys must be required or have a default value'));
        }
      }
    });
  }
  if (listType === 'set' && items !== undefined) {
    const scalar = items.type !== 'object' && items.type !== 'array';
    const atomic = (items.type === 'object' && items['x-kubernetes-map-type'] === 'atomic') || (items.type === 'array' && items['x-kubernetes-list-type'] === 'atomic');
    if (!scalar && !atomic) {
      errors.push(fieldErrors.invalid(child(path, 'items.type'), items.type ?? '', 'must be a scalar, an atomic object or an atomic array for x-kubernetes-list-type "set"'));
    }
  }
  const mapType = node['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (mapType !== 'atomic' && mapType !== 'granular') errors.push(fieldErrors.notSupported(child(path, 'x-kubernetes-map-type'), mapType, ['atomic', 'granular']));
    if (node.type !== 'object') errors.push(fieldErrors.invalid(child(path, 'x-kubernetes-map-type'), mapType, 'must only be used if type is object'));
  }
}

/** At the root, apiVersion and kind are strings and metadata is implicitly an ObjectMeta. */
function rootFields(node: SchemaNode, path: string, errors: FieldError[]): void {
  for (const key of ['apiVersion', 'kind'] as const) {
    const prop = node.properties?.[key];
    if (prop?.type !== undefined && prop.type !== 'string') {
      errors.push(fieldErrors.invalid(`${child(path, 'properties')}[${key}].type`, prop.type, 'must be string'));
    }
  }
  const metadata = node.properties?.metadata;
  if (metadata === undefined) return;
  const metadataPath = `${child(path, 'properties')}[metadata]`;
  const allowedKeys = new Set(['type', 'properties', 'description']);
  const allowedProps = new Set(['name', 'generateName']);
  const extraKey = Object.keys(metadata).some((k) => !allowedKeys.has(k));
  const extraProp = Object.keys(metadata.properties ?? {}).some((k) => !allowedProps.has(k));
  if (extraKey || extraProp || (metadata.type !== undefined && metadata.type !== 'object')) {
    errors.push(fieldErrors.forbidden(metadataPath, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
  }
  for (const name of allowedProps) {
    const prop = metadata.properties?.[name];
    if (prop?.type !== undefined && prop.type !== 'string') {
      errors.push(fieldErrors.invalid(`${child(metadataPath, 'properties')}[${name}].type`, prop.type, 'must be string'));
    }
  }
}

/** A default must itself be valid and must not carry fields that pruning would drop. */
function defaultValue(node: SchemaNode, path: string, errors: FieldError[]): void {
  const field = child(path, 'default');
  const result = validateValue(structuredClone(node.default), node, emptyResolver, { unknownFields: 'strict', uniqueListItems: true, path: field });
  if (result.unknownFields.length > 0) {
    errors.push(fieldErrors.invalid(field, node.default, `must not have unknown fields: ${result.unknownFields.join(', ')}`));
  }
  for (const e of result.errors) errors.push(e);
}
