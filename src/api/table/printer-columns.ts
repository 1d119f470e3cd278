/**
 * Tables of custom resources from a CRD version's `additionalPrinterColumns`, as
 * apiextensions-apiserver's `tableconvertor` builds them.
 */
import { ageSince, parseTimestamp } from './duration.ts';
import { compileJsonPath, type CompiledJsonPath } from './jsonpath.ts';
import type { TableColumn } from './types.ts';

/** One `additionalPrinterColumns` entry of a CRD version. */
export interface CrdPrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly jsonPath: string;
}

/** `swaggerMetadataDescriptions["creationTimestamp"]`, the Age column's description. */
const CREATION_TIMESTAMP_DOC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** The columns a CRD version without `additionalPrinterColumns` is served with: its age. */
export const DEFAULT_CRD_PRINTER_COLUMNS: readonly CrdPrinterColumn[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: CREATION_TIMESTAMP_DOC },
];

const TYPES = new Set<TableColumn['type']>(['string', 'integer', 'number', 'boolean', 'date']);

/** The column definitions Kubernetes publishes for printer columns (without the leading Name). */
export function printerColumnDefinitions(columns: readonly CrdPrinterColumn[]): TableColumn[] {
  return columns.map((c) => ({
    name: c.name,
    type: TYPES.has(c.type as TableColumn['type']) ? (c.type as TableColumn['type']) : 'string',
    format: c.format ?? '',
    description: c.description ? c.description : `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
    priority: c.priority ?? 0,
  }));
}

/** Go's `%v` of a JSON scalar as kubectl's JSONPath printer writes it; objects and lists as JSON. */
function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `cellForJSONValue`: the typed cell of a non-string column, or null when the value does not fit. */
function typedCell(type: string, value: unknown, now: Date): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return parseTimestamp(value) === undefined ? '<invalid>' : ageSince(value, now);
    default:
      return text(value);
  }
}

/** Printer columns with their paths parsed once, for evaluating many objects. */
export interface CompiledPrinterColumns {
  readonly columns: readonly TableColumn[];
  /** One cell per column (no Name cell); null where the path selects nothing. */
  cells(obj: unknown, now: Date): unknown[];
}

/**
 * Parses the columns' JSONPaths once. A path outside the supported subset gives null cells, as
 * Kubernetes leaves cells empty when a path cannot be evaluated.
 */
export function compilePrinterColumns(columns: readonly CrdPrinterColumn[]): CompiledPrinterColumns {
  const paths: (CompiledJsonPath | undefined)[] = columns.map((c) => {
    try {
      return compileJsonPath(c.jsonPath);
    } catch {
      return undefined;
    }
  });
  return {
    columns: printerColumnDefinitions(columns),
    cells(obj, now) {
      return columns.map((c, i) => {
        const results = paths[i]?.evaluate(obj) ?? [];
        // Only the first result is shown: printer columns are meant to select one value.
        return results.length === 0 ? null : typedCell(c.type, results[0], now);
      });
    },
  };
}

/** Compiled columns by the array they came from: a served CRD version keeps one array for its lifetime. */
const compiledCache = new WeakMap<readonly CrdPrinterColumn[], CompiledPrinterColumns>();

/**
 * The cells of `obj` for printer columns (without the Name cell). The paths of a given columns
 * array are parsed once, so calling this for every row of a list is cheap.
 */
export function printerColumnCells(columns: readonly CrdPrinterColumn[], obj: unknown, now: Date): unknown[] {
  let compiled = compiledCache.get(columns);
  if (compiled === undefined) {
    compiled = compilePrinterColumns(columns);
    compiledCache.set(columns, compiled);
  }
  return compiled.cells(obj, now);
}
