/**
 * JSON Pointer (RFC 6901): `/a/b~1c/0` addresses key `a`, then key `b/c`, then element 0.
 */

/** The reference tokens of `pointer`, unescaped; undefined when it is not a valid pointer. */
export function parseJsonPointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const tokens = pointer.slice(1).split('/');
  // `~` must be followed by 0 or 1 (RFC 6901 §3).
  if (tokens.some((t) => /~(?![01])/.test(t))) return undefined;
  // ~1 before ~0, so that "~01" becomes "~1" and not "/" (RFC 6901 §4).
  return tokens.map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The pointer that addresses `tokens`. */
export function formatJsonPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * The array index a token names, or undefined: a JSON Pointer index is `0` or digits without a
 * leading zero (RFC 6901 §4), so `01`, `-1` and `1.0` are not indexes.
 */
export function arrayIndex(token: string): number | undefined {
  return /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : undefined;
}
