/**
 * The smallest key greater than every key starting with `prefix`, for range scans
 * (`key >= prefix AND key < prefixEnd(prefix)`), or undefined when the range is open-ended (the empty
 * prefix). Incrementing the last character keeps the bound correct in UTF-8 byte order as well as in
 * JavaScript's string order, so SQLite and the in-memory cache agree on what the range holds.
 */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix;
  while (end.length > 0) {
    const last = end.charCodeAt(end.length - 1);
    if (last < 0xffff) return end.slice(0, -1) + String.fromCharCode(last + 1);
    end = end.slice(0, -1);
  }
  return undefined;
}
