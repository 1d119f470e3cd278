/**
 * The smallest Reflect metadata API that `@peculiar/x509` needs.
 *
 * `@peculiar/x509` finds its algorithm providers through tsyringe, which refuses to load unless
 * `Reflect.getMetadata` exists (it would normally come from the `reflect-metadata` package). kedge
 * never uses decorator metadata itself, so rather than add a dependency this module supplies the
 * three functions tsyringe calls, backed by a WeakMap, and only when no polyfill is installed.
 * Import it through `./x509.ts`, never on its own.
 */

type MetadataKey = unknown;
type PropertyKeyOrNone = string | symbol | undefined;

const store = new WeakMap<object, Map<PropertyKeyOrNone, Map<MetadataKey, unknown>>>();

function ownMap(target: object, property: PropertyKeyOrNone, create: boolean): Map<MetadataKey, unknown> | undefined {
  let byProperty = store.get(target);
  if (byProperty === undefined) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (entries === undefined && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

function getOwnMetadata(key: MetadataKey, target: object, property?: string | symbol): unknown {
  return ownMap(target, property, false)?.get(key);
}

/** Like reflect-metadata, looks up the prototype chain. */
function getMetadata(key: MetadataKey, target: object, property?: string | symbol): unknown {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const entries = ownMap(o, property, false);
    if (entries?.has(key) === true) return entries.get(key);
  }
  return undefined;
}

function defineMetadata(key: MetadataKey, value: unknown, target: object, property?: string | symbol): void {
  ownMap(target, property, true)?.set(key, value);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  Object.assign(reflect, { getMetadata, getOwnMetadata, defineMetadata });
}
