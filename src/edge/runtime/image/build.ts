import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { goArch } from '../../node/host.ts';
import { MEDIA_TYPES, type Descriptor } from './archive.ts';
import { normalizeImageRef } from './reference.ts';
import { writeTar, type TarEntry } from './tar.ts';

/** The runtime configuration of an image (the OCI config's `config` object). */
export interface ImageRuntimeConfig {
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly Env?: readonly string[];
  readonly WorkingDir?: string;
  readonly User?: string;
}

/** Options of {@link buildImageArchive}. */
export interface ImageBuildOptions {
  /** The image's name, e.g. `kedge.local/busybox:1`; normalized as the CRI would. */
  readonly name: string;
  /** The layers, bottom first: the entries of each layer's tar. */
  readonly layers: readonly (readonly TarEntry[])[];
  readonly config?: ImageRuntimeConfig;
  /** `oci`: an OCI image layout; `docker`: a classic docker-archive as `docker save` wrote it. @default 'oci' */
  readonly format?: 'oci' | 'docker';
  /** GOARCH of the image. @default this machine's */
  readonly architecture?: string;
}

/**
 * Builds an image archive in memory, deterministically (same input, same digests): uncompressed
 * layers, an OCI config, a manifest and either an OCI layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…`, named with `io.containerd.image.name`) or a docker-archive (`manifest.json`
 * with `RepoTags`). kedge builds its sandbox image this way; tests build their images this way
 * because no registry is reachable.
 */
export function buildImageArchive(options: ImageBuildOptions): Buffer {
  const name = normalizeImageRef(options.name);
  const layerTars = options.layers.map((entries) => writeTar(entries));
  const diffIds = layerTars.map((t) => sha256(t));
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? goArch(),
      os: 'linux',
      config: options.config ?? {},
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layerTars.map(() => ({ created_by: 'kedge', created: '1970-01-01T00:00:00Z' })),
      created: '1970-01-01T00:00:00Z',
    }),
  );
  const docker = options.format === 'docker';
  const config: Descriptor = { mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, digest: sha256(configBytes), size: configBytes.length };
  const layers: Descriptor[] = layerTars.map((t, i) => ({ mediaType: docker ? MEDIA_TYPES.dockerLayer : MEDIA_TYPES.ociLayer, digest: diffIds[i]!, size: t.length }));
  const hex = (d: string): string => d.slice('sha256:'.length);

  if (docker) {
    const entries: TarEntry[] = [{ type: 'file', path: `${hex(config.digest)}.json`, data: configBytes }];
    layerTars.forEach((t, i) => {
      entries.push({ type: 'dir', path: hex(diffIds[i]!) }, { type: 'file', path: `${hex(diffIds[i]!)}/layer.tar`, data: t });
    });
    // docker save writes short names for Docker Hub images; both forms normalize the same.
    const repoTag = name.replace(/^docker\.io\/(library\/)?/, '');
    entries.push({ type: 'file', path: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: `${hex(config.digest)}.json`, RepoTags: [repoTag], Layers: diffIds.map((d) => `${hex(d)}/layer.tar`) }])) });
    return writeTar(entries);
  }

  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers }));
  const manifest = { mediaType: MEDIA_TYPES.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length };
  const tag = name.slice(name.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{ ...manifest, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag } }],
  };
  const blobs = new Map<string, Buffer>([[config.digest, configBytes], [manifest.digest, manifestBytes], ...layerTars.map((t, i): [string, Buffer] => [diffIds[i]!, t])]);
  return writeTar([
    { type: 'file', path: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { type: 'file', path: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    { type: 'dir', path: 'blobs' },
    { type: 'dir', path: 'blobs/sha256' },
    ...[...blobs].map(([d, data]): TarEntry => ({ type: 'file', path: `blobs/sha256/${hex(d)}`, data })),
  ]);
}

/**
 * A root filesystem made of one statically linked busybox: `bin/busybox`, a symlink per applet in
 * `bin/`, and the directories and files a container expects (`/etc/passwd`, a sticky `/tmp`).
 * @param applets the applets to link; default: all the binary lists (`busybox --list`)
 * @throws the read error when the binary is missing
 */
export function busyboxRootfs(busyboxPath = '/usr/bin/busybox', applets?: readonly string[]): TarEntry[] {
  const binary = readFileSync(busyboxPath);
  const names = applets ?? execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((n) => /^[a-z0-9_.[-]+$/i.test(n) && n !== 'busybox');
  return [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', data: binary, mode: 0o755 },
    ...[...new Set(names)].sort().map((n): TarEntry => ({ type: 'symlink', path: `bin/${n}`, target: 'busybox' })),
    { type: 'dir', path: 'dev' },
    { type: 'dir', path: 'etc' },
    { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n') },
    { type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'usr' },
    { type: 'symlink', path: 'usr/bin', target: '../bin' },
    { type: 'dir', path: 'var' },
  ];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
