import type { KubeObject } from '../../../api/object.ts';
import type { FieldError } from '../../../api/field-error.ts';
import type { SchemaNode, SchemaResolver } from '../../../api/schema/schema-node.ts';

/** The `fieldValidation` query parameter: what to do with fields the schema does not know. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/**
 * How objects of one resource type are checked and completed: schema (unknown fields, types,
 * CRD pruning and defaults), Kubernetes defaulting, and semantic validation. One implementation
 * for built-in types and one for CRDs (see `policies.ts`).
 */
export interface ObjectPolicy {
  /**
   * Checks a decoded request body against the type's schema. Unknown fields are an error under
   * `Strict` (400, `strict decoding error: unknown field "spec.foo"`), a warning under `Warn`, and
   * dropped or kept under `Ignore` as the type dictates (CRDs prune them). Type errors are 422.
   * @returns warnings for the `Warning` response header.
   * @throws ApiError
   */
  checkSchema(obj: KubeObject, fieldValidation: FieldValidation): string[];
  applyDefaults(obj: KubeObject): void;
  validateCreate(obj: KubeObject): FieldError[];
  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[];
  validateStatusUpdate(obj: KubeObject, old: KubeObject): FieldError[];
  /** The schema strategic merge patch and server-side apply walk, if the type has one. */
  readonly patchSchema: { readonly schema: SchemaNode; readonly resolver: SchemaResolver } | undefined;
}
