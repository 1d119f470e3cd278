import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { EdgeError } from '../../errors.ts';
import { goArch } from '../../node/host.ts';
import { normalizeImageRef } from './reference.ts';
import { indexTar, type IndexedEntry } from './tar.ts';

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

/** Media types kedge reads and writes. */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** One blob of an archive: bytes in the tar file, or (docker archives) a manifest kedge wrote. */
export interface Blob {
  readonly digest: string;
  readonly size: number;
  /** The content, in chunks (for `for await`). */
  read(): AsyncIterable<Buffer> | Iterable<Buffer>;
}

/** A manifest resolved for this machine's platform: what unpacking needs. */
export interface PlatformImage {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** The uncompressed digests of the layers (`rootfs.diff_ids` of the config). */
  readonly diffIds: readonly string[];
}

/** A docker-archive (`docker save`) or OCI image layout tar, indexed. */
export interface ImageArchive {
  readonly format: 'docker' | 'oci';
  /** Every name the archive gives an image (normalized, `docker.io/library/busybox:1.36`), with its target. */
  readonly images: readonly { readonly name: string; readonly target: Descriptor }[];
  /** The blob with this digest, if the archive has it. */
  blob(digest: string): Blob | undefined;
  /** A small blob (manifest, index, config) parsed as JSON. */
  readJson(digest: string): Promise<unknown>;
}

const MAX_JSON_BLOB = 4 * 1024 * 1024;

/**
 * Reads the table of contents of an image archive: an OCI image layout (`oci-layout`,
 * `index.json`, `blobs/`; also what `docker save` writes since Docker 25) or a classic
 * docker-archive (`manifest.json` with `Config`, `RepoTags` and `Layers`), for which kedge writes
 * the Docker schema 2 manifest a registry would serve.
 * @throws {EdgeError} `EDGE_IMAGE_ARCHIVE_INVALID` when it is neither, or is inconsistent
 */
export async function readImageArchive(path: string): Promise<ImageArchive> {
  const entries = await indexTar(path);
  const fileBlob = (e: IndexedEntry, digest: string): Blob => ({ digest, size: e.size, read: () => readRange(path, e.offset, e.size) });
  const readEntry = async (e: IndexedEntry): Promise<Buffer> => {
    if (e.size > MAX_JSON_BLOB) throw invalid(`${e.path} is too large for a JSON document (${e.size} bytes)`);
    const buf = Buffer.alloc(e.size);
    const fh = await open(path, 'r');
    try {
      await fh.read(buf, 0, e.size, e.offset);
    } finally {
      await fh.close();
    }
    return buf;
  };
  const parse = async (e: IndexedEntry): Promise<unknown> => {
    try {
      return JSON.parse((await readEntry(e)).toString('utf8')) as unknown;
    } catch (err) {
      if (err instanceof EdgeError) throw err;
      throw invalid(`${e.path} is not valid JSON`, err);
    }
  };

  const indexJson = entries.get('index.json');
  if (entries.has('oci-layout') && indexJson !== undefined) {
    const blobs = new Map<string, Blob>();
    for (const e of entries.values()) {
      const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(e.path);
      if (m !== null && e.type === 'file') blobs.set(`${m[1]}:${m[2]}`, fileBlob(e, `${m[1]}:${m[2]}`));
    }
    const index = await parse(indexJson);
    const manifests = isRecord(index) && Array.isArray(index['manifests']) ? (index['manifests'] as unknown[]) : undefined;
    if (manifests === undefined) throw invalid('index.json has no manifests list');
    const images: { name: string; target: Descriptor }[] = [];
    for (const m of manifests) {
      const desc = descriptor(m, 'index.json');
      const a = desc.annotations ?? {};
      const raw = a['io.containerd.image.name'] ?? a['org.opencontainers.image.ref.name'];
      // A bare tag (`latest`) names nothing on its own; only full references are imported.
      if (raw === undefined || !/[/:@]/.test(raw)) continue;
      images.push({ name: normalizeImageRef(raw), target: desc });
    }
    return archive('oci', images, blobs);
  }

  const manifestJson = entries.get('manifest.json');
  if (manifestJson !== undefined) {
    const list = await parse(manifestJson);
    if (!Array.isArray(list)) throw invalid('manifest.json is not a list');
    const blobs = new Map<string, Blob>();
    const images: { name: string; target: Descriptor }[] = [];
    for (const [i, item] of list.entries()) {
      if (!isRecord(item) || typeof item['Config'] !== 'string' || !Array.isArray(item['Layers'])) throw invalid(`manifest.json entry ${i} lacks Config or Layers`);
      const configEntry = entries.get(normalize(item['Config']));
      if (configEntry === undefined) throw invalid(`manifest.json names ${item['Config']}, which is not in the archive`);
      const config = await describeFile(path, configEntry, MEDIA_TYPES.dockerConfig);
      blobs.set(config.digest, fileBlob(configEntry, config.digest));
      const layers: Descriptor[] = [];
      for (const l of item['Layers'] as unknown[]) {
        const entry = typeof l === 'string' ? entries.get(normalize(l)) : undefined;
        if (entry === undefined) throw invalid(`manifest.json names layer ${String(l)}, which is not in the archive`);
        const gz = await isGzip(path, entry);
        const d = await describeFile(path, entry, gz ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.dockerLayer);
        blobs.set(d.digest, fileBlob(entry, d.digest));
        layers.push(d);
      }
      const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config, layers }));
      const digest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
      blobs.set(digest, memoryBlob(digest, manifestBytes));
      const target: Descriptor = { mediaType: MEDIA_TYPES.dockerManifest, digest, size: manifestBytes.length };
      const tags = Array.isArray(item['RepoTags']) ? (item['RepoTags'] as unknown[]).filter((t): t is string => typeof t === 'string') : [];
      for (const tag of tags) images.push({ name: normalizeImageRef(tag), target });
    }
    return archive('docker', images, blobs);
  }
  throw invalid('neither an OCI image layout (oci-layout, index.json) nor a docker-archive (manifest.json)');
}

function archive(format: 'docker' | 'oci', images: { name: string; target: Descriptor }[], blobs: Map<string, Blob>): ImageArchive {
  if (images.length === 0) throw invalid('the archive names no image (no RepoTags, io.containerd.image.name or full org.opencontainers.image.ref.name)');
  return {
    format,
    images,
    blob: (digest) => blobs.get(digest),
    readJson: async (digest) => {
      const b = blobs.get(digest);
      if (b === undefined) throw invalid(`blob ${digest} is not in the archive`);
      if (b.size > MAX_JSON_BLOB) throw invalid(`blob ${digest} is too large for a JSON document`);
      const chunks: Buffer[] = [];
      for await (const c of b.read()) chunks.push(c);
      try {
        return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      } catch (err) {
        throw invalid(`blob ${digest} is not valid JSON`, err);
      }
    },
  };
}

/**
 * Follows an image's target to the manifest for this machine (linux and this architecture) and
 * reads the layer list and the diff ids from it and its config.
 * @throws {EdgeError} `EDGE_IMAGE_ARCHIVE_INVALID` when no manifest matches or a document is malformed
 */
export async function resolvePlatformImage(archive: Pick<ImageArchive, 'readJson'>, target: Descriptor, arch = goArch()): Promise<PlatformImage> {
  let desc = target;
  for (let depth = 0; depth < 4; depth++) {
    if (desc.mediaType === MEDIA_TYPES.ociIndex || desc.mediaType === MEDIA_TYPES.dockerList) {
      const index = await archive.readJson(desc.digest);
      const list = isRecord(index) && Array.isArray(index['manifests']) ? (index['manifests'] as unknown[]).map((m) => descriptor(m, desc.digest)) : [];
      const match = list.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch) ?? (list.length === 1 ? list[0] : undefined);
      if (match === undefined) throw invalid(`the image index ${desc.digest} has no manifest for linux/${arch}`);
      desc = match;
      continue;
    }
    const manifest = await archive.readJson(desc.digest);
    if (!isRecord(manifest)) throw invalid(`manifest ${desc.digest} is not an object`);
    const config = descriptor(manifest['config'], desc.digest);
    const layers = Array.isArray(manifest['layers']) ? (manifest['layers'] as unknown[]).map((l) => descriptor(l, desc.digest)) : [];
    const cfg = await archive.readJson(config.digest);
    const rootfs = isRecord(cfg) && isRecord(cfg['rootfs']) ? cfg['rootfs'] : undefined;
    const diffIds = rootfs !== undefined && Array.isArray(rootfs['diff_ids']) ? (rootfs['diff_ids'] as unknown[]).filter((d): d is string => typeof d === 'string') : [];
    if (diffIds.length !== layers.length) throw invalid(`config ${config.digest} lists ${diffIds.length} diff ids for ${layers.length} layers`);
    if (isRecord(cfg) && typeof cfg['architecture'] === 'string' && cfg['architecture'] !== arch) {
      throw invalid(`the image is for ${String(cfg['os'])}/${cfg['architecture']}, this node is linux/${arch}`);
    }
    return { manifest: desc, config, layers, diffIds };
  }
  throw invalid(`image indexes nested too deeply under ${target.digest}`);
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v) || typeof v['mediaType'] !== 'string' || typeof v['digest'] !== 'string' || typeof v['size'] !== 'number') throw invalid(`a descriptor in ${where} lacks mediaType, digest or size`);
  if (!/^[a-z0-9]+:[a-f0-9]{32,}$/.test(v['digest'])) throw invalid(`a descriptor in ${where} has a malformed digest ${JSON.stringify(v['digest'])}`);
  const annotations = isRecord(v['annotations']) ? (Object.fromEntries(Object.entries(v['annotations']).filter(([, x]) => typeof x === 'string')) as Record<string, string>) : undefined;
  const platform = isRecord(v['platform']) ? (v['platform'] as Descriptor['platform']) : undefined;
  return { mediaType: v['mediaType'], digest: v['digest'], size: v['size'], ...(annotations !== undefined ? { annotations } : {}), ...(platform !== undefined ? { platform } : {}) };
}

async function describeFile(path: string, e: IndexedEntry, mediaType: string): Promise<Descriptor> {
  const hash = createHash('sha256');
  for await (const chunk of readRange(path, e.offset, e.size)) hash.update(chunk);
  return { mediaType, digest: `sha256:${hash.digest('hex')}`, size: e.size };
}

async function isGzip(path: string, e: IndexedEntry): Promise<boolean> {
  if (e.size < 2) return false;
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, e.offset);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function* readRange(path: string, offset: number, size: number): AsyncIterable<Buffer> {
  if (size === 0) return;
  for await (const chunk of createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
}

function memoryBlob(digest: string, data: Buffer): Blob {
  return {
    digest,
    size: data.length,
    read: () => [data],
  };
}

function normalize(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string, cause?: unknown): EdgeError {
  return new EdgeError('EDGE_IMAGE_ARCHIVE_INVALID', message, cause !== undefined ? { cause } : undefined);
}
