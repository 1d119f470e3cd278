/**
 * Byte-order string comparison, as Go's `<` on strings: the order Kubernetes sorts names, keys and
 * selectors in. Not `localeCompare`, which depends on the locale and, on first use, maps ICU's
 * collation tables into the process (about 3 MB an edge node would carry for nothing).
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
