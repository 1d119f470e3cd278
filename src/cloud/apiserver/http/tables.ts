import type { KubeObject } from '../../../api/object.ts';
import { defaultTableColumns, printerColumnCells, printerColumnsTable, tableColumnsFor, tableRowCells, type TableColumn } from '../../../api/table/index.ts';
import type { RestStorage } from '../storage/rest-storage.ts';

/** The `includeObject` parameter and the clock ages are computed against. */
export interface TableOptions {
  readonly includeObject: 'None' | 'Metadata' | 'Object';
  readonly now: Date;
}

function columnsOf(storage: RestStorage): readonly TableColumn[] {
  const rt = storage.rt;
  if (rt.printerColumns !== undefined && rt.printerColumns.length > 0) {
    return printerColumnsTable(rt.printerColumns, { metadata: {} }, new Date()).columns;
  }
  if (rt.crdName !== undefined) return defaultTableColumns();
  return tableColumnsFor({ group: rt.group, version: rt.version, kind: rt.kind }) ?? defaultTableColumns();
}

function cellsOf(storage: RestStorage, obj: KubeObject, now: Date): unknown[] {
  const rt = storage.rt;
  if (rt.printerColumns !== undefined && rt.printerColumns.length > 0) return [obj.metadata.name ?? '', ...printerColumnCells(rt.printerColumns, obj, now)];
  if (rt.crdName !== undefined) return tableRowCells(undefined, obj, now);
  return tableRowCells({ group: rt.group, version: rt.version, kind: rt.kind }, obj, now);
}

function row(storage: RestStorage, obj: KubeObject, opts: TableOptions): Record<string, unknown> {
  const r: Record<string, unknown> = { cells: cellsOf(storage, obj, opts.now) };
  if (opts.includeObject === 'Object') r['object'] = obj;
  else if (opts.includeObject === 'Metadata') r['object'] = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  return r;
}

/** A meta.k8s.io/v1 Table of a list, with the columns kubectl prints for the type. */
export function listAsTable(storage: RestStorage, objects: readonly KubeObject[], listMeta: Record<string, unknown>, opts: TableOptions): Record<string, unknown> {
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: columnsOf(storage), rows: objects.map((o) => row(storage, o, opts)) };
}

/** A Table with one row; watches send the column definitions only with their first event. */
export function objectAsTable(storage: RestStorage, obj: KubeObject, opts: TableOptions, withColumns = true): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: obj.metadata.resourceVersion },
    columnDefinitions: withColumns ? columnsOf(storage) : [],
    rows: [row(storage, obj, opts)],
  };
}
