import { apiErrors } from '../../../api/errors.ts';
import type { FieldValidation } from '../storage/policy.ts';
import type { DeleteOptions } from '../storage/rest-storage.ts';
import { isJsonObject } from '../../../api/object.ts';

/** Typed accessors for the query parameters Kubernetes defines, each validated. */
export class Query {
  readonly #params: URLSearchParams;

  constructor(params: URLSearchParams) {
    this.#params = params;
  }

  string(name: string): string | undefined {
    const v = this.#params.get(name);
    return v === null ? undefined : v;
  }

  bool(name: string): boolean {
    const v = this.#params.get(name);
    if (v === null || v === '' || v === 'false' || v === '0') return false;
    if (v === 'true' || v === '1') return true;
    throw apiErrors.badRequest(`invalid value for query parameter ${name}: ${JSON.stringify(v)} (expected true or false)`);
  }

  /** A non-negative integer parameter. @throws ApiError 400 */
  int(name: string): number | undefined {
    const v = this.#params.get(name);
    if (v === null || v === '') return undefined;
    if (!/^-?[0-9]+$/.test(v)) throw apiErrors.badRequest(`invalid value for query parameter ${name}: ${JSON.stringify(v)} (expected an integer)`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw apiErrors.badRequest(`invalid value for query parameter ${name}: ${v} (must be a non-negative integer)`);
    return n;
  }

  /** `dryRun=All` (the only value Kubernetes accepts). */
  dryRun(): boolean {
    const all = this.#params.getAll('dryRun');
    if (all.length === 0) return false;
    for (const v of all) if (v !== 'All') throw apiErrors.badRequest(`Invalid dry run value: ${JSON.stringify(v)}; supported values: "All"`);
    return true;
  }

  fieldValidation(): FieldValidation {
    const v = this.#params.get('fieldValidation');
    if (v === null || v === '') return 'Warn';
    if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
    throw apiErrors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(v)}`);
  }

  fieldManager(userAgent: string | undefined): string {
    const v = this.#params.get('fieldManager');
    if (v !== null && v !== '') {
      if (v.length > 128) throw apiErrors.badRequest('fieldManager must be no more than 128 characters');
      return v;
    }
    // Kubernetes derives the manager from the user agent's program name.
    return (userAgent ?? 'unknown').split('/')[0] ?? 'unknown';
  }
}

/**
 * DeleteOptions from a DELETE's body and query (the query wins where both set a field).
 * @throws ApiError 400 for an invalid body or values
 */
export function deleteOptions(body: unknown, q: Query, user: string): DeleteOptions {
  let gracePeriodSeconds: number | undefined;
  let propagationPolicy: DeleteOptions['propagationPolicy'];
  let preconditions: DeleteOptions['preconditions'];
  let dryRun = q.dryRun();
  if (body !== undefined) {
    if (!isJsonObject(body)) throw apiErrors.badRequest('DeleteOptions must be a JSON object');
    const b = body;
    if (b['gracePeriodSeconds'] !== undefined && b['gracePeriodSeconds'] !== null) {
      if (typeof b['gracePeriodSeconds'] !== 'number' || !Number.isInteger(b['gracePeriodSeconds'])) throw apiErrors.badRequest('DeleteOptions.gracePeriodSeconds must be an integer');
      gracePeriodSeconds = b['gracePeriodSeconds'];
    }
    if (b['propagationPolicy'] !== undefined && b['propagationPolicy'] !== null) propagationPolicy = checkPropagation(b['propagationPolicy']);
    if (b['orphanDependents'] === true) propagationPolicy = 'Orphan';
    if (isJsonObject(b['preconditions'])) {
      const p = b['preconditions'];
      preconditions = {
        ...(typeof p['uid'] === 'string' ? { uid: p['uid'] } : {}),
        ...(typeof p['resourceVersion'] === 'string' ? { resourceVersion: p['resourceVersion'] } : {}),
      };
    }
    if (Array.isArray(b['dryRun'])) {
      for (const v of b['dryRun']) if (v !== 'All') throw apiErrors.badRequest(`Invalid dry run value: ${JSON.stringify(v)}`);
      dryRun = dryRun || b['dryRun'].length > 0;
    }
  }
  const qGrace = q.string('gracePeriodSeconds');
  if (qGrace !== undefined && qGrace !== '') {
    if (!/^-?[0-9]+$/.test(qGrace)) throw apiErrors.badRequest(`invalid gracePeriodSeconds: ${JSON.stringify(qGrace)}`);
    gracePeriodSeconds = Number(qGrace);
  }
  const qProp = q.string('propagationPolicy');
  if (qProp !== undefined && qProp !== '') propagationPolicy = checkPropagation(qProp);
  if (q.string('orphanDependents') === 'true') propagationPolicy = 'Orphan';
  if (gracePeriodSeconds !== undefined && gracePeriodSeconds < 0) gracePeriodSeconds = 0;
  return {
    dryRun,
    user,
    ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
    ...(propagationPolicy !== undefined ? { propagationPolicy } : {}),
    ...(preconditions !== undefined ? { preconditions } : {}),
  };
}

function checkPropagation(v: unknown): DeleteOptions['propagationPolicy'] {
  if (v === 'Orphan' || v === 'Background' || v === 'Foreground') return v;
  throw apiErrors.badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(v)}: supported values: "Foreground", "Background", "Orphan"`);
}
