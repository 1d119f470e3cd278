import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../../log/logger.ts';
import { EdgeError } from '../../errors.ts';
import { readImageArchive, resolvePlatformImage, type Descriptor, type ImageArchive } from '../image/archive.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { containerdServices, criServices, GrpcChannel, GrpcStatus as grpcStatus, hasGrpcStatus } from './grpc.ts';
import { rfc3339 } from '../../../api/time.ts';

/** Options of {@link importImageArchive}. */
export interface ImportOptions {
  /** containerd's socket: `unix:///…/containerd.sock`. */
  readonly endpoint: string;
  /** The archive file (docker-archive or OCI layout tar). */
  readonly file: string;
  /** containerd namespace; the CRI plugin's is `k8s.io`. @default 'k8s.io' */
  readonly namespace?: string;
  /** The snapshotter to unpack for (the CRI plugin's). @default 'overlayfs' */
  readonly snapshotter?: string;
  /**
   * Wait until the CRI lists every imported name (it learns of them from containerd's events a
   * moment after the import), so that a pod created next finds its image.
   * @default true
   */
  readonly waitForCri?: boolean;
  readonly log?: Logger;
}

/** One image made available. */
export interface ImportedImage {
  readonly name: string;
  /** The target's digest (manifest or index). */
  readonly digest: string;
  /** The image id the CRI reports (the config digest). */
  readonly id: string;
}

/** Bytes per content write message. */
const CHUNK = 1024 * 1024;

/**
 * Loads an image archive into containerd, as `ctr -n k8s.io images import` does, through
 * containerd's API: every blob into the content store (with the garbage-collection labels that
 * tie an image's index, manifest, config and layers together), the layers unpacked into the
 * snapshotter (so the CRI can create containers without pulling), then one image record per name.
 * All of it under a lease, so that nothing half-imported is collected midway. Idempotent.
 * @throws {EdgeError} `EDGE_IMAGE_ARCHIVE_INVALID` for a bad archive; `EDGE_RUNTIME_UNAVAILABLE`,
 * `EDGE_RUNTIME_ERROR` from containerd
 */
export async function importImageArchive(options: ImportOptions): Promise<ImportedImage[]> {
  if (!(await isGzipFile(options.file))) return importPlain(options);
  // `docker save | gzip`: unpacked to a temporary file first, since blobs are read by offset.
  const dir = await mkdtemp(join(tmpdir(), 'kedge-import-'));
  try {
    const plain = join(dir, 'image.tar');
    // zlib only for a gzipped archive: an edge imports its own sandbox image uncompressed at start,
    // and a module once loaded stays resident (ADR 006).
    const { createGunzip } = process.getBuiltinModule('node:zlib');
    await pipeline(createReadStream(options.file), createGunzip(), createWriteStream(plain));
    return await importPlain({ ...options, file: plain });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function isGzipFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function importPlain(options: ImportOptions): Promise<ImportedImage[]> {
  const archive = await readImageArchive(options.file);
  const channel = new GrpcChannel(options.endpoint, `containerd at ${options.endpoint}`);
  try {
    const imported = await new Importer(channel, archive, options).run();
    if (options.waitForCri !== false) await waitForCri(channel, imported.map((i) => i.name));
    return imported;
  } finally {
    channel.close();
  }
}

/** Polls the CRI's image service until it knows every name (bounded: 30 s). */
async function waitForCri(channel: GrpcChannel, names: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const image of names) {
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      const r = await channel.unary<{ image: { id: string } | null }>(criServices().image, 'ImageStatus', { image: { image } }, { timeoutMs: 10_000 });
      if (r.image !== null && r.image.id !== '') break;
      if (Date.now() > deadline) throw new EdgeError('EDGE_RUNTIME_ERROR', `containerd has ${image}, but its CRI plugin did not list it within 30 s`);
      await delay(wait);
    }
  }
}

class Importer {
  readonly #ch: GrpcChannel;
  readonly #archive: ImageArchive;
  readonly #snapshotter: string;
  readonly #namespace: string;
  readonly #log: Logger | undefined;
  #metadata: Record<string, string>;

  constructor(ch: GrpcChannel, archive: ImageArchive, o: ImportOptions) {
    this.#ch = ch;
    this.#archive = archive;
    this.#snapshotter = o.snapshotter ?? 'overlayfs';
    this.#namespace = o.namespace ?? 'k8s.io';
    this.#log = o.log;
    this.#metadata = { 'containerd-namespace': this.#namespace };
  }

  #call<Res>(service: keyof ReturnType<typeof containerdServices>, method: string, req: object): Promise<Res> {
    return this.#ch.unary<Res>(containerdServices()[service], method, req, { metadata: this.#metadata, timeoutMs: 300_000 });
  }

  async run(): Promise<ImportedImage[]> {
    const leaseId = `kedge-import-${randomBytes(6).toString('hex')}`;
    // The lease expires by itself should this process die before deleting it.
    await this.#call('leases', 'Create', { id: leaseId, labels: { 'containerd.io/gc.expire': rfc3339(Date.now() + 3_600_000) } });
    this.#metadata = { ...this.#metadata, 'containerd-lease': leaseId };
    try {
      const imported: ImportedImage[] = [];
      const done = new Map<string, string>();
      for (const { name, target } of this.#archive.images) {
        let id = done.get(target.digest);
        if (id === undefined) {
          id = await this.#importTarget(target);
          done.set(target.digest, id);
        }
        await this.#putImage(name, target);
        this.#log?.info('image imported', { image: name, digest: target.digest });
        imported.push({ name, digest: target.digest, id });
      }
      return imported;
    } finally {
      this.#metadata = { 'containerd-namespace': this.#namespace };
      await this.#call('leases', 'Delete', { id: leaseId }).catch(() => undefined);
    }
  }

  /** Writes the target's tree of blobs and unpacks this platform's layers. @returns the image id */
  async #importTarget(target: Descriptor): Promise<string> {
    const image = await resolvePlatformImage(this.#archive, target);
    const chainIds = chainIdsOf(image.diffIds);
    for (const layer of image.layers) await this.#writeBlob(layer, {});
    await this.#writeBlob(image.config, { [`containerd.io/gc.ref.snapshot.${this.#snapshotter}`]: chainIds[chainIds.length - 1] ?? '' });
    const manifestLabels: Record<string, string> = { 'containerd.io/gc.ref.content.config': image.config.digest };
    image.layers.forEach((l, i) => (manifestLabels[`containerd.io/gc.ref.content.l.${i}`] = l.digest));
    await this.#writeBlob(image.manifest, manifestLabels);
    if (target.digest !== image.manifest.digest) {
      // An index: reference the manifests it lists that are present (other platforms may be absent).
      const index = (await this.#archive.readJson(target.digest)) as { manifests?: { digest?: string }[] };
      const labels: Record<string, string> = {};
      (index.manifests ?? []).forEach((m, i) => {
        if (typeof m.digest === 'string' && this.#archive.blob(m.digest) !== undefined) labels[`containerd.io/gc.ref.content.m.${i}`] = m.digest;
      });
      await this.#writeBlob(target, labels);
    }
    await this.#unpack(image.layers, image.diffIds, chainIds);
    return image.config.digest;
  }

  /** Writes a blob unless containerd has it; either way it ends up with `labels`. */
  async #writeBlob(desc: Descriptor, labels: Record<string, string>): Promise<void> {
    const exists = await this.#call('content', 'Info', { digest: desc.digest }).then(
      () => true,
      (err: unknown) => {
        if (hasGrpcStatus(err, grpcStatus.NOT_FOUND)) return false;
        throw err;
      },
    );
    if (exists) {
      if (Object.keys(labels).length > 0) {
        await this.#call('content', 'Update', { info: { digest: desc.digest, labels }, updateMask: { paths: Object.keys(labels).map((k) => `labels.${k}`) } });
      }
      return;
    }
    const blob = this.#archive.blob(desc.digest);
    if (blob === undefined) throw new EdgeError('EDGE_IMAGE_ARCHIVE_INVALID', `blob ${desc.digest} (${desc.mediaType}) is not in the archive`);
    const ref = `kedge-import-${desc.digest}`;
    const stream = this.#ch.duplex<object, { offset: number; digest: string }>(containerdServices().content, 'Write', { metadata: this.#metadata });
    const responses = stream[Symbol.asyncIterator]();
    const send = async (msg: object): Promise<{ offset: number; digest: string }> => {
      stream.write(msg);
      const next = await responses.next();
      if (next.done === true) throw new EdgeError('EDGE_RUNTIME_ERROR', `containerd ended the write of ${desc.digest} early`);
      return next.value;
    };
    try {
      let offset = 0;
      for await (const chunk of blob.read()) {
        for (let i = 0; i < chunk.length; i += CHUNK) {
          const part = chunk.subarray(i, i + CHUNK);
          await send({ action: 'WRITE', ref, total: desc.size, expected: desc.digest, offset, data: part });
          offset += part.length;
        }
      }
      const committed = await send({ action: 'COMMIT', ref, total: desc.size, expected: desc.digest, offset, labels });
      if (committed.digest !== '' && committed.digest !== desc.digest) throw new EdgeError('EDGE_IMAGE_ARCHIVE_INVALID', `blob ${desc.digest} has digest ${committed.digest}`);
      stream.end();
    } catch (err) {
      stream.cancel();
      // Someone (a concurrent import) committed the same blob first: fine.
      if (hasGrpcStatus(err, grpcStatus.ALREADY_EXISTS)) return;
      await this.#call('content', 'Abort', { ref }).catch(() => undefined);
      throw asEdgeError(err, `writing ${desc.digest} to containerd`);
    }
  }

  /** Unpacks the layers bottom-up into committed snapshots named by chain id (skipping those present). */
  async #unpack(layers: readonly Descriptor[], diffIds: readonly string[], chainIds: readonly string[]): Promise<void> {
    for (let i = 0; i < layers.length; i++) {
      const chainId = chainIds[i]!;
      const present = await this.#call('snapshots', 'Stat', { snapshotter: this.#snapshotter, key: chainId }).then(
        () => true,
        (err: unknown) => {
          if (hasGrpcStatus(err, grpcStatus.NOT_FOUND)) return false;
          throw err;
        },
      );
      if (present) continue;
      const key = `extract-${Date.now()}-${randomBytes(4).toString('hex')} ${chainId}`;
      const prepared = await this.#call<{ mounts: object[] }>('snapshots', 'Prepare', { snapshotter: this.#snapshotter, key, parent: i === 0 ? '' : chainIds[i - 1]! });
      try {
        const applied = await this.#call<{ applied: { digest: string } | null }>('diff', 'Apply', { diff: layers[i], mounts: prepared.mounts });
        if (applied.applied?.digest !== diffIds[i]) {
          throw new EdgeError('EDGE_IMAGE_ARCHIVE_INVALID', `layer ${layers[i]!.digest} unpacks to ${applied.applied?.digest ?? '?'}, but the config says ${diffIds[i]!}`);
        }
        await this.#call('snapshots', 'Commit', { snapshotter: this.#snapshotter, name: chainId, key });
      } catch (err) {
        await this.#call('snapshots', 'Remove', { snapshotter: this.#snapshotter, key }).catch(() => undefined);
        if (hasGrpcStatus(err, grpcStatus.ALREADY_EXISTS)) continue;
        throw err;
      }
    }
  }

  /** Creates the image record, or points an existing one at the new target. */
  async #putImage(name: string, target: Descriptor): Promise<void> {
    const image = { name, target: { mediaType: target.mediaType, digest: target.digest, size: target.size }, labels: {} };
    try {
      await this.#call('images', 'Create', { image });
    } catch (err) {
      if (!hasGrpcStatus(err, grpcStatus.ALREADY_EXISTS)) throw err;
      await this.#call('images', 'Update', { image, updateMask: { paths: ['target'] } });
    }
  }
}

/** The OCI chain ids of a layer stack: `chain(0) = diff(0)`, `chain(n) = sha256(chain(n-1) + " " + diff(n))`. */
export function chainIdsOf(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

/** A raw gRPC stream error as an {@link EdgeError}; EdgeErrors pass through. */
function asEdgeError(err: unknown, what: string): EdgeError {
  if (err instanceof EdgeError) return err;
  const code = hasGrpcStatus(err, grpcStatus.UNAVAILABLE) ? 'EDGE_RUNTIME_UNAVAILABLE' : 'EDGE_RUNTIME_ERROR';
  return new EdgeError(code, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
