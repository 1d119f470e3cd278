import { apiErrors } from './errors.ts';

/**
 * Continue tokens of paginated lists, in Kubernetes' shape: base64 of
 * `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key relative to the list prefix>"}`, so a token
 * pins the revision the first page was read at and where the next page starts.
 */
export function encodeContinue(revision: number, lastKey: string, prefix: string): string {
  const start = lastKey.startsWith(prefix) ? lastKey.slice(prefix.length) : lastKey;
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: `${start}\u0000` })).toString('base64url');
}

/** @throws ApiError 400 for a token that is not one of ours or belongs to another list. */
export function decodeContinue(token: string, prefix: string): { revision: number; startAfter: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw apiErrors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (typeof parsed !== 'object' || parsed === null) throw apiErrors.badRequest('continue key is not valid: not an object');
  const { v, rv, start } = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (v !== 'meta.k8s.io/v1') throw apiErrors.badRequest('continue key is not valid: server does not recognize this encoded version');
  if (typeof rv !== 'number' || !Number.isSafeInteger(rv) || rv <= 0) throw apiErrors.badRequest('continue key is not valid: incorrect encoded start resourceVersion');
  if (typeof start !== 'string' || !start.endsWith('\u0000') || start.includes('..')) throw apiErrors.badRequest('continue key is not valid: invalid start key');
  return { revision: rv, startAfter: prefix + start.slice(0, -1) };
}
