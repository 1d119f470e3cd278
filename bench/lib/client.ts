// A minimal Kubernetes API client over node:https keep-alive agents with the admin client
// certificate: just enough for load generation, with as little client-side work per request as
// possible so the figures measure the server.
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { AdminCredential } from './server.ts';

/** A finished request: status, raw body, and the time from send to the last body byte. */
export interface Response {
  readonly status: number;
  readonly body: Buffer;
  readonly ms: number;
}

export interface ClientOptions {
  /** Sockets kept open to the server; requests beyond this queue in the agent. */
  readonly maxSockets: number;
  /** Keep sockets open between requests. @default true */
  readonly keepAlive?: boolean;
}

/** Requests against one API server with one agent. */
export class ApiClient {
  readonly agent: https.Agent;
  readonly #cred: AdminCredential;

  constructor(cred: AdminCredential, options: ClientOptions) {
    this.#cred = cred;
    this.agent = new https.Agent({
      keepAlive: options.keepAlive ?? true,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxSockets,
      scheduling: 'lifo',
      ca: cred.ca,
      cert: cred.cert,
      key: cred.key,
    });
  }

  /**
   * Sends one request and reads the whole response. Rejects on transport errors, and when
   * `timeoutMs` passes without the whole response (the request is then destroyed).
   */
  request(method: string, path: string, body?: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const req = this.#send(method, path, body, options.signal, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), ms: performance.now() - started });
        });
        res.once('error', reject);
      });
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      if (options.timeoutMs !== undefined) timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer in ${options.timeoutMs} ms`)), options.timeoutMs);
    });
  }

  /**
   * Sends a request and resolves with the response as soon as its headers arrive, for streams
   * (watches). The caller consumes and eventually destroys it.
   */
  stream(path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.#send('GET', path, undefined, signal, resolve);
      req.once('error', reject);
    });
  }

  /** Sends a request and resolves with the status once the body has been drained (not kept). */
  drain(method: string, path: string, body?: string): Promise<{ status: number; bytes: number; ms: number }> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = this.#send(method, path, body, undefined, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started }));
        res.once('error', reject);
      });
      req.once('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  #send(method: string, path: string, body: string | undefined, signal: AbortSignal | undefined, onResponse: (res: IncomingMessage) => void): ReturnType<typeof https.request> {
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = https.request(
      { agent: this.agent, host: this.#cred.server.hostname, port: this.#cred.server.port, path, method, headers, ...(signal !== undefined ? { signal } : {}) },
      onResponse,
    );
    req.end(body);
    return req;
  }
}

/** Throws with the server's Status message unless `res.status` is one of `ok`. */
export function expectStatus(res: { status: number; body: Buffer }, ok: readonly number[], what: string): void {
  if (ok.includes(res.status)) return;
  let message = res.body.subarray(0, 500).toString();
  try {
    message = (JSON.parse(res.body.toString()) as { message?: string }).message ?? message;
  } catch {
    // Not a Status: show the raw start of the body.
  }
  throw new Error(`${what}: HTTP ${res.status}: ${message}`);
}
