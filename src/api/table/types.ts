/** A column of a `meta.k8s.io/v1` Table (`TableColumnDefinition`). */
export interface TableColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** `name` for the column that holds the object's name; otherwise usually empty. */
  readonly format: string;
  readonly description: string;
  /** 0 for columns kubectl always shows, 1 for those only `-o wide` shows. */
  readonly priority: number;
}
