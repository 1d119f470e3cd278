/** A table kubectl printed: its column headers and one record per row, keyed by header. */
export interface Table {
  headers: string[];
  rows: Record<string, string>[];
  /** The row whose NAME column is `name` (throws when absent). */
  row(name: string): Record<string, string>;
}

/**
 * Parses kubectl's human-readable table output. kubectl aligns columns with a tabwriter, so each
 * column starts where its header starts; headers themselves may contain one space ("NOMINATED NODE").
 */
export function parseTable(text: string): Table {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0];
  if (header === undefined) throw new Error('kubectl printed no table');
  const starts: { name: string; at: number }[] = [];
  for (const m of header.matchAll(/\S+(?: \S+)*/g)) starts.push({ name: m[0], at: m.index });
  const rows = lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    starts.forEach((col, i) => {
      const end = starts[i + 1]?.at ?? line.length;
      row[col.name] = line.slice(col.at, i + 1 < starts.length ? end : undefined).trim();
    });
    return row;
  });
  return {
    headers: starts.map((s) => s.name),
    rows,
    row(name) {
      const r = rows.find((x) => x['NAME'] === name);
      if (r === undefined) throw new Error(`no row named ${name} in:\n${text}`);
      return r;
    },
  };
}
