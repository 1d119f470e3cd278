export type { SchemaNode, SchemaResolver } from './schema-node.ts';
export { createResolver, emptyResolver, refName, OBJECT_META_DEFINITION, SCALAR_UNIONS, V2_REF_PREFIX, V3_REF_PREFIX } from './resolver.ts';
export { builtinDefinitions, builtinResolver, definitionFor } from './builtin.ts';
export { validateValue, strictDecodingMessage, unknownFieldWarning, jsonEqual, type ValidateOptions, type ValidationResult, type UnknownFieldPolicy } from './validate.ts';
export { validateStructuralSchema } from './structural.ts';
