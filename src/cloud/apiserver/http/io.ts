import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { apiErrors, ApiError } from '../../../api/errors.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import type { Representation } from './negotiation.ts';

/** Kubernetes caps request bodies at 3 MiB (apiserver's MaxRequestBodyBytes). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Bodies read ahead of routing (to authorize a create by the name inside it), by request. */
const preread = new WeakMap<IncomingMessage, Buffer>();

/** Reads the body now and keeps it for the handler's later {@link readBody}. */
export async function prereadBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const body = await readBody(req, limit);
  preread.set(req, body);
  return body;
}

/**
 * Reads the request body, refusing more than `limit` bytes with 413 as soon as the limit is passed
 * (a declared Content-Length over the limit is refused before reading anything).
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const kept = preread.get(req);
  if (kept !== undefined) return kept;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw apiErrors.tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw apiErrors.tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Decodes a JSON or YAML body into a value. @throws ApiError 400 naming what is wrong */
export function decodeBody(body: Buffer, format: 'json' | 'yaml'): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw apiErrors.badRequest('the request body is empty');
  try {
    if (format === 'json') return JSON.parse(text);
    const docs = text.split(/^---\s*$/m).filter((d) => d.trim() !== '');
    if (docs.length > 1) throw apiErrors.badRequest('the request body holds more than one YAML document');
    return parseYaml(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw apiErrors.badRequest(`the request body is not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${describeError(err)}`, { cause: err });
  }
}

/** Writes a body already encoded as JSON, converting to YAML when asked. */
export function sendJson(res: ServerResponse, status: number, json: string, rep?: Representation, headers?: Record<string, string>): void {
  let body = json;
  let type = 'application/json';
  if (rep?.format === 'yaml') {
    body = stringifyYaml(JSON.parse(json));
    type = 'application/yaml';
  }
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Writes a value as JSON (or YAML). */
export function sendObject(res: ServerResponse, status: number, value: unknown, rep?: Representation, headers?: Record<string, string>): void {
  sendJson(res, status, JSON.stringify(value), rep, headers);
}

/** A metav1.Status for an error. */
export function statusOf(err: ApiError): Record<string, unknown> {
  const status: Record<string, unknown> = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.httpStatus,
  };
  if (err.details !== undefined) status['details'] = err.details;
  return status;
}

/**
 * Answers with the Status for any error: ApiErrors as they are, anything else as a 500 whose
 * cause is logged (and never shown to the client beyond its message).
 */
export function sendError(res: ServerResponse, err: unknown, log: Logger, rep?: Representation): void {
  const apiErr = err instanceof ApiError ? err : apiErrors.internal(describeError(err), { cause: err });
  if (!(err instanceof ApiError)) log.error('request failed', { err: describeError(err), stack: err instanceof Error ? err.stack : undefined });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  if (apiErr.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(apiErr.details.retryAfterSeconds);
  sendObject(res, apiErr.httpStatus, statusOf(apiErr), rep?.format === 'yaml' ? rep : undefined, headers);
}
