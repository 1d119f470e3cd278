import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EdgeError, type EdgeErrorCode } from '../../errors.ts';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'proto');

/** Decoding options shared by every proto: camelCase fields, int64 as numbers, enums as names, defaults filled. */
const LOAD_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, bytes: Buffer, defaults: true, oneofs: true };

type ServiceCtor = grpc.ServiceClientConstructor;
let cri: { runtime: ServiceCtor; image: ServiceCtor } | undefined;
let containerd: Record<'version' | 'content' | 'images' | 'snapshots' | 'diff' | 'leases', ServiceCtor> | undefined;

function lookup(root: grpc.GrpcObject, path: string): ServiceCtor {
  let node: unknown = root;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (typeof node !== 'function') throw new Error(`gRPC service ${path} is missing from the bundled protos`);
  return node as ServiceCtor;
}

/** The CRI services (runtime.v1), loaded once per process. */
export function criServices(): { runtime: ServiceCtor; image: ServiceCtor } {
  if (cri === undefined) {
    const root = grpc.loadPackageDefinition(protoLoader.loadSync('api.proto', { ...LOAD_OPTIONS, includeDirs: [PROTO_DIR] }));
    cri = { runtime: lookup(root, 'runtime.v1.RuntimeService'), image: lookup(root, 'runtime.v1.ImageService') };
  }
  return cri;
}

/** containerd's own services (for image import), loaded once per process. */
export function containerdServices(): Record<'version' | 'content' | 'images' | 'snapshots' | 'diff' | 'leases', ServiceCtor> {
  if (containerd === undefined) {
    const files = ['version', 'content', 'images', 'snapshots', 'diff', 'leases'].map((f) => `${f}.proto`);
    const root = grpc.loadPackageDefinition(protoLoader.loadSync(files, { ...LOAD_OPTIONS, includeDirs: [join(PROTO_DIR, 'containerd')] }));
    containerd = {
      version: lookup(root, 'containerd.services.version.v1.Version'),
      content: lookup(root, 'containerd.services.content.v1.Content'),
      images: lookup(root, 'containerd.services.images.v1.Images'),
      snapshots: lookup(root, 'containerd.services.snapshots.v1.Snapshots'),
      diff: lookup(root, 'containerd.services.diff.v1.Diff'),
      leases: lookup(root, 'containerd.services.leases.v1.Leases'),
    };
  }
  return containerd;
}

/**
 * `unix:///run/containerd/containerd.sock` (or a bare absolute path) → the gRPC target.
 * @throws {EdgeError} `EDGE_RUNTIME_UNAVAILABLE` for anything but a unix socket (CRI endpoints are local)
 */
export function grpcTarget(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return `unix:${endpoint.slice('unix://'.length)}`;
  if (endpoint.startsWith('/')) return `unix:${endpoint}`;
  throw new EdgeError('EDGE_RUNTIME_UNAVAILABLE', `container runtime endpoint ${JSON.stringify(endpoint)} is not a unix socket (unix:///path/to.sock)`);
}

/** The path of the socket an endpoint names. */
export function socketPath(endpoint: string): string {
  return grpcTarget(endpoint).slice('unix:'.length);
}

/** Options of one call. */
export interface CallOptions {
  /** @default 120_000 for most calls */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra request metadata, e.g. containerd's namespace and lease headers. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A gRPC error as grpc-js reports it. */
export interface GrpcServiceError extends Error {
  readonly code: grpc.status;
  readonly details: string;
}

/** Whether `err` (or its cause) is a gRPC error with this status. */
export function hasGrpcStatus(err: unknown, code: grpc.status): boolean {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++) {
    if ((e as Partial<GrpcServiceError>).code === code && typeof (e as Partial<GrpcServiceError>).details === 'string') return true;
  }
  return false;
}

/**
 * One gRPC channel to a local socket with promise-returning calls. Errors become {@link EdgeError}s:
 * `EDGE_RUNTIME_NOT_FOUND` for NOT_FOUND, `EDGE_RUNTIME_UNAVAILABLE` when the socket does not
 * answer, `EDGE_RUNTIME_ERROR` otherwise, each with the gRPC error as `cause`.
 */
export class GrpcChannel {
  readonly #clients = new Map<ServiceCtor, grpc.Client>();
  readonly #target: string;
  readonly #what: string;
  #channel: grpc.Channel | undefined;

  /** @param what names the peer in error messages, e.g. `containerd at /run/containerd/containerd.sock` */
  constructor(endpoint: string, what: string) {
    this.#target = grpcTarget(endpoint);
    this.#what = what;
  }

  #client(ctor: ServiceCtor): grpc.Client {
    let c = this.#clients.get(ctor);
    if (c === undefined) {
      const options: grpc.ChannelOptions = { 'grpc.max_receive_message_length': 32 * 1024 * 1024, 'grpc.max_send_message_length': 32 * 1024 * 1024 };
      // Every service shares one HTTP/2 connection.
      this.#channel ??= new grpc.Channel(this.#target, grpc.credentials.createInsecure(), options);
      c = new ctor(this.#target, grpc.credentials.createInsecure(), { ...options, channelOverride: this.#channel });
      this.#clients.set(ctor, c);
    }
    return c;
  }

  /** Calls a unary method. */
  unary<Res>(service: ServiceCtor, method: string, request: object, options: CallOptions = {}): Promise<Res> {
    const client = this.#client(service);
    const fn = (client as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') return Promise.reject(new Error(`no gRPC method ${method}`));
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
    return new Promise<Res>((resolve, reject) => {
      const call = (fn as (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: GrpcServiceError | null, res: Res) => void) => grpc.ClientUnaryCall).call(
        client,
        request,
        metadata,
        { deadline: Date.now() + (options.timeoutMs ?? 120_000) },
        (err, res) => {
          options.signal?.removeEventListener('abort', cancel);
          if (err !== null) reject(this.wrap(err, method));
          else resolve(res);
        },
      );
      const cancel = (): void => call.cancel();
      options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Opens a bidirectional stream. */
  duplex<Req, Res>(service: ServiceCtor, method: string, options: CallOptions = {}): grpc.ClientDuplexStream<Req, Res> {
    const client = this.#client(service);
    const fn = (client as unknown as Record<string, (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<Req, Res>>)[method];
    if (fn === undefined) throw new Error(`no gRPC method ${method}`);
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
    return fn.call(client, metadata, { deadline: Date.now() + (options.timeoutMs ?? 600_000) });
  }

  /** Wraps a gRPC error from `method` as an {@link EdgeError}. */
  wrap(err: GrpcServiceError, method: string): EdgeError {
    const code: EdgeErrorCode = err.code === grpc.status.NOT_FOUND ? 'EDGE_RUNTIME_NOT_FOUND' : err.code === grpc.status.UNAVAILABLE ? 'EDGE_RUNTIME_UNAVAILABLE' : 'EDGE_RUNTIME_ERROR';
    return new EdgeError(code, `${method} on ${this.#what}: ${err.details || err.message}`, { cause: err });
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
    this.#channel?.close();
    this.#channel = undefined;
  }
}
