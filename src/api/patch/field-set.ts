/**
 * Sets of field paths, as server-side apply records them in `metadata.managedFields[].fieldsV1`
 * (structured-merge-diff's `fieldpath.Set`). A path is a sequence of elements: a field name
 * (`f:spec`), the key of an element of an associative list (`k:{"name":"app"}`), the value of an
 * element of a set list (`v:"a"`), or an index (`i:0`). In FieldsV1 the set is a trie of those
 * encoded elements, `".": {}` marking a path that is itself a member and not only a prefix.
 */
import type { JsonObject, JsonValue } from '../object.ts';
import { getOwn, isObject, setOwn } from './json-value.ts';

/** One step of a field path. */
export type PathElement =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'key'; readonly fields: readonly (readonly [name: string, value: JsonValue])[] }
  | { readonly kind: 'value'; readonly value: JsonValue }
  | { readonly kind: 'index'; readonly index: number };

/** A path from the object root. */
export type FieldPath = readonly PathElement[];

/** The path element of a field. */
export function fieldElement(name: string): PathElement {
  return { kind: 'field', name };
}

/** The path element of an associative list element, its key fields sorted by name. */
export function keyElement(fields: readonly (readonly [string, JsonValue])[]): PathElement {
  return { kind: 'key', fields: [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** JSON with object members in sorted order, so equal values encode equally. */
function canonicalJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The FieldsV1 spelling of an element: `f:name`, `k:{...}`, `v:...`, `i:0`. */
export function encodeElement(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return `f:${pe.name}`;
    case 'key':
      return `k:{${pe.fields.map(([n, v]) => `${JSON.stringify(n)}:${canonicalJson(v)}`).join(',')}}`;
    case 'value':
      return `v:${canonicalJson(pe.value)}`;
    case 'index':
      return `i:${pe.index}`;
  }
}

/** Reads an encoded element; undefined when it is not one. */
export function decodeElement(encoded: string): PathElement | undefined {
  const body = encoded.slice(2);
  try {
    switch (encoded.slice(0, 2)) {
      case 'f:':
        return fieldElement(body);
      case 'k:': {
        const key = JSON.parse(body) as JsonValue;
        return isObject(key) ? keyElement(Object.entries(key)) : undefined;
      }
      case 'v:':
        return { kind: 'value', value: JSON.parse(body) as JsonValue };
      case 'i:':
        return /^[0-9]+$/.test(body) ? { kind: 'index', index: Number(body) } : undefined;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/**
 * A path as Kubernetes prints it in apply conflicts: `.spec.containers[name="app"].image`,
 * `.metadata.finalizers[="x"]`, `.spec.ports[containerPort=80,protocol="TCP"]`.
 */
export function formatPath(path: FieldPath): string {
  return path
    .map((pe) => {
      switch (pe.kind) {
        case 'field':
          return `.${pe.name}`;
        case 'key':
          return `[${pe.fields.map(([n, v]) => `${n}=${canonicalJson(v)}`).join(',')}]`;
        case 'value':
          return `[=${canonicalJson(pe.value)}]`;
        case 'index':
          return `[${pe.index}]`;
      }
    })
    .join('');
}

const KIND_ORDER: Readonly<Record<string, number>> = { 'f:': 0, 'k:': 1, 'v:': 2, 'i:': 3 };

/** structured-merge-diff's order: fields, then keys, then values, then indexes. */
function compareEncoded(a: string, b: string): number {
  const byKind = (KIND_ORDER[a.slice(0, 2)] ?? 4) - (KIND_ORDER[b.slice(0, 2)] ?? 4);
  if (byKind !== 0) return byKind;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A mutable set of field paths, kept as a trie of encoded path elements. */
export class FieldSet {
  #member = false;
  readonly #children = new Map<string, FieldSet>();

  /** Reads FieldsV1 (`{"f:spec":{"f:replicas":{}}}`); parts that are not FieldsV1 are skipped. */
  static fromFieldsV1(fields: JsonValue | undefined): FieldSet {
    const set = new FieldSet();
    if (!isObject(fields)) return set;
    for (const [encoded, child] of Object.entries(fields)) {
      if (encoded === '.') set.#member = true;
      else if (decodeElement(encoded) !== undefined) {
        const sub = FieldSet.fromFieldsV1(child);
        // `"f:x": {}` means x is a member: a leaf has no other way to say so.
        if (sub.#children.size === 0) sub.#member = true;
        set.#children.set(encoded, sub);
      }
    }
    return set;
  }

  /** The FieldsV1 form, children in structured-merge-diff's order. */
  toFieldsV1(): JsonObject {
    const out: JsonObject = {};
    if (this.#member && this.#children.size > 0) out['.'] = {};
    for (const encoded of [...this.#children.keys()].sort(compareEncoded)) setOwn(out, encoded, this.#children.get(encoded)!.toFieldsV1());
    return out;
  }

  /** Adds `path` as a member. */
  insert(path: FieldPath): void {
    path.reduce<FieldSet>((node, pe) => node.#childFor(encodeElement(pe)), this).#member = true;
  }

  #childFor(encoded: string): FieldSet {
    let child = this.#children.get(encoded);
    if (child === undefined) {
      child = new FieldSet();
      this.#children.set(encoded, child);
    }
    return child;
  }

  #find(path: FieldPath): FieldSet | undefined {
    return path.reduce<FieldSet | undefined>((node, pe) => (node === undefined ? undefined : node.#children.get(encodeElement(pe))), this);
  }

  /** True when `path` is a member. */
  has(path: FieldPath): boolean {
    const node = this.#find(path);
    return node !== undefined && node.#member;
  }

  /** True when `path` or any path below it is a member. */
  hasAtOrBelow(path: FieldPath): boolean {
    const node = this.#find(path);
    return node !== undefined && !node.isEmpty();
  }

  /** True when there is no member. */
  isEmpty(): boolean {
    return !this.#member && [...this.#children.values()].every((c) => c.isEmpty());
  }

  /** Members of this set and of `other`. */
  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.#member = this.#member || other.#member;
    for (const key of new Set([...this.#children.keys(), ...other.#children.keys()])) {
      const a = this.#children.get(key);
      const b = other.#children.get(key);
      out.#children.set(key, a && b ? a.union(b) : (a ?? b)!.union(new FieldSet()));
    }
    return out.#pruned();
  }

  /** Members of this set that are not members of `other`. */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.#member = this.#member && !other.#member;
    for (const [key, a] of this.#children) {
      const b = other.#children.get(key);
      out.#children.set(key, b === undefined ? a.union(new FieldSet()) : a.difference(b));
    }
    return out.#pruned();
  }

  /** Members of both sets. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.#member = this.#member && other.#member;
    for (const [key, a] of this.#children) {
      const b = other.#children.get(key);
      if (b !== undefined) out.#children.set(key, a.intersection(b));
    }
    return out.#pruned();
  }

  /** True when both sets have the same members. */
  equals(other: FieldSet): boolean {
    return this.difference(other).isEmpty() && other.difference(this).isEmpty();
  }

  /** Every member path, parents before children, siblings in structured-merge-diff's order. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (node: FieldSet, prefix: PathElement[]): void => {
      if (node.#member) out.push(prefix);
      for (const encoded of [...node.#children.keys()].sort(compareEncoded)) walk(node.#children.get(encoded)!, [...prefix, decodeElement(encoded)!]);
    };
    walk(this, []);
    return out;
  }

  /** This set without empty branches. */
  #pruned(): FieldSet {
    for (const [key, child] of this.#children) if (child.isEmpty()) this.#children.delete(key);
    return this;
  }
}

/** The value at `path` in `root`, or undefined when there is none. */
export function valueAtPath(root: JsonValue | undefined, path: FieldPath): JsonValue | undefined {
  let current = root;
  for (const pe of path) {
    if (current === undefined) return undefined;
    current = childAt(current, pe)?.value;
  }
  return current;
}

/** Where `pe` leads from `container`: the value and how to remove it. */
function childAt(container: JsonValue, pe: PathElement): { value: JsonValue; remove: () => void } | undefined {
  if (pe.kind === 'field') {
    if (!isObject(container)) return undefined;
    const value = getOwn(container, pe.name);
    return value === undefined ? undefined : { value, remove: () => delete container[pe.name] };
  }
  if (!Array.isArray(container)) return undefined;
  const at = pe.kind === 'index' ? (pe.index < container.length ? pe.index : -1) : container.findIndex((item) => matchesElement(item, pe));
  return at < 0 ? undefined : { value: container[at]!, remove: () => container.splice(at, 1) };
}

function matchesElement(item: JsonValue, pe: PathElement): boolean {
  switch (pe.kind) {
    case 'key':
      return isObject(item) && pe.fields.every(([n, v]) => canonicalJson(getOwn(item, n) ?? null) === canonicalJson(v));
    case 'value':
      return canonicalJson(item) === canonicalJson(pe.value);
    case 'index':
    case 'field':
      return false;
  }
}

/** Removes the value at `path` from `root` (in place); true when there was one. */
export function removeAtPath(root: JsonValue, path: FieldPath): boolean {
  if (path.length === 0) return false;
  const parent = valueAtPath(root, path.slice(0, -1));
  if (parent === undefined) return false;
  const child = childAt(parent, path[path.length - 1]!);
  child?.remove();
  return child !== undefined;
}
