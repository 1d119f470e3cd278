import { fieldErrors, type FieldError } from '../field-error.ts';
import { OBJECT_META_DEFINITION, refName, SCALAR_UNIONS } from './resolver.ts';
import type { SchemaNode, SchemaResolver } from './schema-node.ts';

/** How fields that the schema does not declare are handled. */
export type UnknownFieldPolicy =
  /** Reported in `unknownFields`, left in place: the caller rejects the request (fieldValidation=Strict). */
  | 'strict'
  /** Reported and removed in place (fieldValidation=Warn reports them, Ignore drops them silently). */
  | 'prune'
  /** Neither reported nor removed. */
  | 'ignore';

/** Options of {@link validateValue}. */
export interface ValidateOptions {
  readonly unknownFields: UnknownFieldPolicy;
  /**
   * The value is a whole Kubernetes object (a custom resource, or a built-in object): `apiVersion`,
   * `kind` and `metadata` are always allowed, and `metadata` is checked against ObjectMeta (taken
   * from the resolver) even when the schema only restricts `name`/`generateName`, as apiextensions
   * does at the root of every custom resource.
   * @default false
   */
  readonly resource?: boolean;
  /**
   * Enforce `x-kubernetes-list-type` `set` and `map` uniqueness, as apiextensions does for custom
   * resources. Built-in types are checked by their hand-written validation instead, which is more
   * lenient for some lists (duplicate container ports are only warned about).
   * @default false
   */
  readonly uniqueListItems?: boolean;
  /** Field path of `value` itself, prefixed to every reported path. @default '' (the object root) */
  readonly path?: string;
}

/** What {@link validateValue} found. */
export interface ValidationResult {
  /** Schema violations, as kube-apiserver reports them in `Status.details.causes`. */
  readonly errors: FieldError[];
  /** Paths of undeclared fields (`spec.containers[0].foo`), in document order. */
  readonly unknownFields: string[];
}

/**
 * Validates `value` against `schema` with Kubernetes' semantics, and normalises it in place the way
 * kube-apiserver's decoding does before validation:
 *
 * - a `null` where the schema is not `nullable` is replaced by the field's `default`, or dropped
 *   (apiextensions prunes such nulls; Go's decoder reads them as "unset" for built-in types);
 * - missing fields that have a `default` get a copy of it;
 * - undeclared fields are reported and, with `unknownFields: 'prune'`, removed. An object keeps its
 *   undeclared fields when it has `additionalProperties` or `x-kubernetes-preserve-unknown-fields`;
 *   an object schema with neither and no `properties` declares nothing, so all its fields are
 *   unknown (the structural-schema rule).
 *
 * Checks: types (incl. `x-kubernetes-int-or-string`, `nullable` and the int-or-string and quantity
 * scalars), `format` for the formats apiextensions validates, `enum`, numeric bounds, `multipleOf`,
 * string length and `pattern`, item and property counts, `uniqueItems`, `required`, `allOf`/
 * `anyOf`/`oneOf`/`not`, embedded resources, and optionally list-type uniqueness. Messages and paths
 * follow kube-apiserver (`spec.replicas: Invalid value: "string": spec.replicas in body must be of
 * type integer: "string"`).
 */
export function validateValue(value: unknown, schema: SchemaNode, resolver: SchemaResolver, options: ValidateOptions): ValidationResult {
  const run = new Validation(resolver, options);
  run.node(value, schema, options.path ?? '', { structural: true, resource: options.resource === true });
  return { errors: run.errors, unknownFields: run.unknownFields };
}

/**
 * The message kube-apiserver returns (HTTP 400, reason BadRequest) when strict field validation
 * finds undeclared fields: `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`.
 * The API server prefixes it with `<Kind> in version "<v>" cannot be handled as a <Kind>: `.
 */
export function strictDecodingMessage(unknownFields: readonly string[]): string {
  return `strict decoding error: ${unknownFields.map((f) => `unknown field "${f}"`).join(', ')}`;
}

/** The warning kube-apiserver sends for one pruned field under fieldValidation=Warn. */
export function unknownFieldWarning(field: string): string {
  return `unknown field "${field}"`;
}

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `in body` is how kube-openapi names the request body in its messages. */
function inBody(path: string): string {
  return path === '' ? 'body' : `${path} in body`;
}

/** Deep equality for JSON values, as `enum`, `uniqueItems` and list sets compare them. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

interface Context {
  /**
   * False inside `allOf`/`anyOf`/`oneOf`/`not`: those branches only add value validations to the
   * structural schema around them, so they neither prune nor default nor report unknown fields.
   */
  readonly structural: boolean;
  /** The value is a Kubernetes object (root resource or `x-kubernetes-embedded-resource`). */
  readonly resource: boolean;
}

const VALUE_ONLY: Context = { structural: false, resource: false };

/** Compiled `pattern`s: schemas are shared and long-lived, so their regular expressions are too. */
const patterns = new Map<string, RegExp | Error>();

function compiledPattern(pattern: string): RegExp | Error {
  let re = patterns.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      // Unicode mode rejects escapes such as `\-` outside a class that Go's RE2 and legacy
      // ECMAScript accept; schemas written for Kubernetes use them.
      try {
        re = new RegExp(pattern);
      } catch (err) {
        re = err instanceof Error ? err : new Error(String(err));
      }
    }
    patterns.set(pattern, re);
  }
  return re;
}

class Validation {
  readonly errors: FieldError[] = [];
  readonly unknownFields: string[] = [];
  private readonly resolver: SchemaResolver;
  private readonly options: ValidateOptions;

  constructor(resolver: SchemaResolver, options: ValidateOptions) {
    this.resolver = resolver;
    this.options = options;
  }

  node(value: unknown, raw: SchemaNode, path: string, ctx: Context): void {
    const schema = this.resolver.resolve(raw);
    if (schema.$ref !== undefined) {
      this.errors.push({ type: 'InternalError', field: path, detail: `unresolvable schema reference ${schema.$ref}` });
      return;
    }
    if (value === null && schema.nullable === true) return;

    // Named scalars whose JSON is wider than their v2 schema (Quantity, IntOrString).
    const scalar = raw.$ref === undefined ? undefined : SCALAR_UNIONS[refName(raw.$ref) ?? ''];
    if (scalar !== undefined) {
      const actual = jsonType(value);
      const accepted = (scalar as readonly string[]).includes(actual) || (actual === 'integer' && scalar.includes('number'));
      if (!accepted) this.typeError(path, scalar.join(','), actual);
      return;
    }

    if (!this.checkType(value, schema, path)) return;
    if (isObject(value)) this.object(value, schema, path, ctx);
    else if (Array.isArray(value)) this.array(value, schema, path, ctx);
    else this.scalar(value, schema, path);
    this.common(value, schema, path);
  }

  /** Reports a type mismatch; returns whether the value's own checks should continue. */
  private checkType(value: unknown, schema: SchemaNode, path: string): boolean {
    const actual = jsonType(value);
    if (schema['x-kubernetes-int-or-string'] === true || schema.format === 'int-or-string') {
      if (actual === 'integer' || actual === 'string') return true;
      this.typeError(path, 'integer,string', actual);
      return false;
    }
    const expected = schema.type;
    if (expected === undefined) return true;
    if (expected === actual || (expected === 'number' && actual === 'integer')) return true;
    this.typeError(path, expected, actual);
    return false;
  }

  private typeError(path: string, expected: string, actual: JsonType): void {
    this.errors.push(fieldErrors.typeInvalid(path, actual, `${inBody(path)} must be of type ${expected}: "${actual}"`));
  }

  private object(value: Record<string, unknown>, schema: SchemaNode, path: string, ctx: Context): void {
    const properties = schema.properties ?? {};
    const additional = schema.additionalProperties;
    const resource = ctx.resource || schema['x-kubernetes-embedded-resource'] === true;

    if (ctx.structural) {
      for (const [key, propSchema] of Object.entries(properties)) {
        const prop = this.resolver.resolve(propSchema);
        if (value[key] === null && prop.nullable !== true) {
          // apiextensions replaces a non-nullable null by the default, or prunes it.
          if (prop.default !== undefined) value[key] = structuredClone(prop.default);
          else delete value[key];
        } else if (!Object.hasOwn(value, key) && prop.default !== undefined) {
          value[key] = structuredClone(prop.default);
        }
      }
    }

    for (const key of Object.keys(value)) {
      const keyPath = child(path, key);
      const declared = Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (resource && (key === 'apiVersion' || key === 'kind' || key === 'metadata') && this.typeMeta(value, key, declared, keyPath, ctx)) continue;
      if (declared !== undefined) {
        this.node(value[key], declared, keyPath, { structural: ctx.structural, resource: false });
      } else if (typeof additional === 'object') {
        const entryPath = `${path}[${key}]`;
        if (ctx.structural && value[key] === null && this.resolver.resolve(additional).nullable !== true) delete value[key];
        else this.node(value[key], additional, entryPath, { structural: ctx.structural, resource: false });
      } else if (ctx.structural && additional !== true && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
        this.unknown(value, key, keyPath);
      }
    }

    for (const key of schema.required ?? []) {
      if (!Object.hasOwn(value, key)) this.errors.push(fieldErrors.required(child(path, key)));
    }
    if (resource && !ctx.resource && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
      // An embedded object must say what it is; at the root the URL says it.
      for (const key of ['apiVersion', 'kind']) {
        if (typeof value[key] !== 'string' || value[key] === '') this.errors.push(fieldErrors.required(child(path, key), 'must not be empty'));
      }
    }
    const count = Object.keys(value).length;
    if (schema.maxProperties !== undefined && count > schema.maxProperties) {
      this.errors.push({ type: 'FieldValueTooMany', field: path, value: count, detail: `must have at most ${schema.maxProperties} items` });
    }
    if (schema.minProperties !== undefined && count < schema.minProperties) {
      this.errors.push(fieldErrors.invalid(path, count, `${inBody(path)} should have at least ${schema.minProperties} properties`));
    }
  }

  /**
   * `apiVersion`, `kind` and `metadata` of a Kubernetes object: always allowed, and `metadata` is
   * an ObjectMeta whatever the schema says (a CRD may only add name/generateName restrictions).
   * Returns false when the field is left to the ordinary rules (a built-in type declares it fully).
   */
  private typeMeta(value: Record<string, unknown>, key: string, declared: SchemaNode | undefined, path: string, ctx: Context): boolean {
    if (key !== 'metadata') {
      if (declared !== undefined) return false;
      if (typeof value[key] !== 'string') this.typeError(path, 'string', jsonType(value[key]));
      return true;
    }
    if (declared?.$ref !== undefined) return false;
    const objectMeta = this.resolver.definition(OBJECT_META_DEFINITION);
    if (value[key] === null) delete value[key];
    else if (objectMeta !== undefined) this.node(value[key], objectMeta, path, { structural: ctx.structural, resource: false });
    else if (!isObject(value[key])) this.typeError(path, 'object', jsonType(value[key]));
    if (declared !== undefined && value[key] !== undefined) this.node(value[key], declared, path, VALUE_ONLY);
    return true;
  }

  private unknown(value: Record<string, unknown>, key: string, path: string): void {
    if (this.options.unknownFields === 'ignore') return;
    this.unknownFields.push(path);
    if (this.options.unknownFields === 'prune') delete value[key];
  }

  private array(value: unknown[], schema: SchemaNode, path: string, ctx: Context): void {
    if (schema.items !== undefined) {
      for (let i = 0; i < value.length; i++) this.node(value[i], schema.items, `${path}[${i}]`, { structural: ctx.structural, resource: false });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      this.errors.push({ type: 'FieldValueTooMany', field: path, value: value.length, detail: `must have at most ${schema.maxItems} items` });
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      this.errors.push(fieldErrors.invalid(path, value.length, `${inBody(path)} should have at least ${schema.minItems} items`));
    }
    const listType = schema['x-kubernetes-list-type'];
    if (schema.uniqueItems === true || (this.options.uniqueListItems === true && ctx.structural && listType === 'set')) {
      this.duplicates(value, path, (item) => item);
    } else if (this.options.uniqueListItems === true && ctx.structural && listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      this.duplicates(value, path, (item) => (isObject(item) ? Object.fromEntries(keys.filter((k) => Object.hasOwn(item, k)).map((k) => [k, item[k]])) : item));
    }
  }

  private duplicates(items: unknown[], path: string, identity: (item: unknown) => unknown): void {
    const seen: unknown[] = [];
    items.forEach((item, i) => {
      const id = identity(item);
      if (seen.some((s) => jsonEqual(s, id))) this.errors.push(fieldErrors.duplicate(`${path}[${i}]`, id));
      else seen.push(id);
    });
  }

  private scalar(value: unknown, schema: SchemaNode, path: string): void {
    if (typeof value === 'string') {
      const length = [...value].length;
      if (schema.maxLength !== undefined && length > schema.maxLength) this.errors.push(fieldErrors.tooLong(path, value, schema.maxLength));
      if (schema.minLength !== undefined && length < schema.minLength) {
        this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} should be at least ${schema.minLength} chars long`));
      }
      if (schema.pattern !== undefined) {
        const re = compiledPattern(schema.pattern);
        if (re instanceof Error) this.errors.push({ type: 'InternalError', field: path, detail: `invalid pattern ${JSON.stringify(schema.pattern)}: ${re.message}` });
        else if (!re.test(value)) this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} should match '${schema.pattern}'`));
      }
    }
    if (typeof value === 'number') {
      if (schema.maximum !== undefined) {
        if (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum) {
          const op = schema.exclusiveMaximum === true ? 'less than' : 'less than or equal to';
          this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} should be ${op} ${schema.maximum}`));
        }
      }
      if (schema.minimum !== undefined) {
        if (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum) {
          const op = schema.exclusiveMinimum === true ? 'greater than' : 'greater than or equal to';
          this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} should be ${op} ${schema.minimum}`));
        }
      }
      if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
        const ratio = value / schema.multipleOf;
        if (Math.abs(ratio - Math.round(ratio)) > 1e-9) this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} should be a multiple of ${schema.multipleOf}`));
      }
    }
    if (schema.format !== undefined) this.format(value, schema.format, path);
  }

  /** The formats apiextensions validates; others (and `int-or-string`) are documentation only. */
  private format(value: unknown, format: string, path: string): void {
    const check = FORMATS[format];
    if (check === undefined) return;
    if (!check(value)) this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} must be of type ${format}: ${JSON.stringify(value)}`));
  }

  /** Checks that apply to every type: `enum` and the junctors. */
  private common(value: unknown, schema: SchemaNode, path: string): void {
    if (schema.enum !== undefined && !schema.enum.some((e) => jsonEqual(e, value))) {
      this.errors.push({ type: 'FieldValueNotSupported', field: path, value, detail: `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
    }
    for (const branch of schema.allOf ?? []) this.node(value, branch, path, VALUE_ONLY);
    if (schema.anyOf !== undefined && !schema.anyOf.some((branch) => this.passes(value, branch, path))) {
      this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} must validate at least one schema (anyOf)`));
    }
    if (schema.oneOf !== undefined) {
      const passing = schema.oneOf.filter((branch) => this.passes(value, branch, path)).length;
      if (passing !== 1) {
        const found = passing === 0 ? 'Found none valid' : `Found ${passing} valid alternatives`;
        this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} must validate one and only one schema (oneOf). ${found}`));
      }
    }
    if (schema.not !== undefined && this.passes(value, schema.not, path)) {
      this.errors.push(fieldErrors.invalid(path, value, `${inBody(path)} must not validate the schema (not)`));
    }
  }

  /** Whether `value` satisfies a junctor branch; the branch's own errors are not reported. */
  private passes(value: unknown, branch: SchemaNode, path: string): boolean {
    const probe = new Validation(this.resolver, { ...this.options, unknownFields: 'ignore' });
    probe.node(value, branch, path, VALUE_ONLY);
    return probe.errors.length === 0;
  }
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  try {
    return new URL(`http://[${s}]/`).hostname !== '';
  } catch {
    return false;
  }
}

const FORMATS: Readonly<Record<string, (value: unknown) => boolean>> = {
  'date-time': (v) => typeof v !== 'string' || (DATE_TIME.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T')))),
  date: (v) => typeof v !== 'string' || (DATE.test(v) && !Number.isNaN(Date.parse(v))),
  uuid: (v) => typeof v !== 'string' || UUID.test(v),
  byte: (v) => typeof v !== 'string' || BASE64.test(v),
  ipv4: (v) => typeof v !== 'string' || IPV4.test(v),
  ipv6: (v) => typeof v !== 'string' || isIPv6(v),
  cidr: (v) => {
    if (typeof v !== 'string') return true;
    const [ip, bits, extra] = v.split('/');
    if (ip === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
    return IPV4.test(ip) ? Number(bits) <= 32 : isIPv6(ip) && Number(bits) <= 128;
  },
  int32: (v) => typeof v !== 'number' || (v >= -2147483648 && v <= 2147483647),
};
