import { ApiError, apiErrors } from '../../../api/errors.ts';
import type { KubeObject, GroupVersionKind } from '../../../api/object.ts';
import type { FieldError } from '../../../api/field-error.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { builtinResolver } from '../../../api/schema/builtin.ts';
import { validateValue, strictDecodingMessage, unknownFieldWarning } from '../../../api/schema/validate.ts';
import { applyDefaults } from '../../../api/defaults/index.ts';
import { validateCreate, validateObjectMeta, validateStatusUpdate, validateUpdate } from '../../../api/validation/index.ts';
import type { ResourceType } from '../resources/resource-type.ts';
import type { FieldValidation, ObjectPolicy } from './policy.ts';

/**
 * Unknown fields: Strict rejects them (400, as kube-apiserver's strict decoding), Warn drops them
 * with a warning each, Ignore drops them silently.
 */
function unknownFieldsOutcome(rt: ResourceType, unknown: readonly string[], mode: FieldValidation): string[] {
  if (unknown.length === 0 || mode === 'Ignore') return [];
  if (mode === 'Strict') {
    throw apiErrors.badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${strictDecodingMessage(unknown)}`);
  }
  return unknown.map(unknownFieldWarning);
}

function schemaErrors(kind: string, group: string, obj: KubeObject, errors: readonly FieldError[]): void {
  if (errors.length > 0) throw apiErrors.invalid(kind, group, obj.metadata.name ?? '', errors);
}

/** Built-in types: their OpenAPI definition for types and unknown fields, then Kubernetes' defaulting and validation. */
export function builtinPolicy(rt: ResourceType, definition: string): ObjectPolicy {
  const gvk: GroupVersionKind = { group: rt.group, version: rt.version, kind: rt.kind };
  const schema = builtinResolver.definition(definition);
  if (schema === undefined) throw new Error(`no OpenAPI definition ${definition} for ${rt.plural}`);
  return {
    checkSchema(obj, mode) {
      const r = validateValue(obj, schema, builtinResolver, { unknownFields: mode === 'Strict' ? 'strict' : 'prune' });
      schemaErrors(rt.kind, rt.group, obj, r.errors);
      return unknownFieldsOutcome(rt, r.unknownFields, mode);
    },
    applyDefaults: (obj) => applyDefaults(gvk, obj),
    validateCreate: (obj) => validateCreate(gvk, obj),
    validateUpdate: (obj, old) => validateUpdate(gvk, obj, old),
    validateStatusUpdate: (obj, old) => validateStatusUpdate(gvk, obj, old),
    patchSchema: { schema, resolver: builtinResolver },
  };
}

/**
 * Custom resources: the CRD version's structural schema prunes unknown fields (or rejects them
 * under Strict), applies defaults and checks values; metadata is checked as for any object.
 */
export function customResourcePolicy(rt: ResourceType, schema: SchemaNode | undefined, preserveUnknownFields: boolean): ObjectPolicy {
  const check = (obj: KubeObject, mode: FieldValidation): string[] => {
    if (schema === undefined) return [];
    const r = validateValue(obj, schema, builtinResolver, { unknownFields: preserveUnknownFields ? 'ignore' : mode === 'Strict' ? 'strict' : 'prune', resource: true, uniqueListItems: true });
    schemaErrors(rt.kind, rt.group, obj, r.errors);
    return unknownFieldsOutcome(rt, r.unknownFields, mode);
  };
  const meta = (obj: KubeObject): FieldError[] => validateObjectMeta(obj.metadata, { namespaced: rt.namespaced, nameRule: 'dns1123Subdomain' });
  return {
    checkSchema: check,
    // The schema's defaults are applied by checkSchema, which every write passes first.
    applyDefaults() {},
    validateCreate: meta,
    validateUpdate: meta,
    validateStatusUpdate: meta,
    // Custom resources merge by their schema's list types in server-side apply (not by strategic merge patch).
    patchSchema: { schema: schema ?? PERMISSIVE, resolver: builtinResolver },
  };
}

const PERMISSIVE: SchemaNode = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** The policy for any served type. */
export function policyFor(rt: ResourceType): ObjectPolicy {
  if ('definition' in rt.schema) return builtinPolicy(rt, rt.schema.definition);
  return customResourcePolicy(rt, rt.schema.crd, rt.schema.preserveUnknownFields);
}

export { ApiError };
