import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { Container, DownwardAPIVolumeFile, KeyToPath, Volume } from 'kubernetes-types/core/v1.d.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import type { Mount } from '../runtime/runtime.ts';
import { fieldValue, resourceValue, type EnvContext, type ObjectSource } from './env.ts';
import { rfc3339Milli } from '../../api/time.ts';

/** Options of {@link VolumeManager}. */
export interface VolumeManagerOptions {
  /** `<data-dir>/pods`: each pod's volumes go to `<uid>/volumes/<plugin>/<name>`. */
  readonly podsDir: string;
  readonly objects: ObjectSource;
  readonly log: Logger;
}

/** A file a volume holds: relative path, content, mode. */
interface VolumeFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
}

const DEFAULT_MODE = 0o644;

/**
 * The pod volumes Edged supports, materialized under the data dir and bind-mounted (containerd)
 * or linked (process runtime) into containers: `emptyDir`, `hostPath`, and `configMap`, `secret`,
 * `downwardAPI` and `projected` (of those), which are written the way the kubelet's AtomicWriter
 * writes them, so that updates reach running containers atomically: the files live in a
 * timestamped directory that the `..data` symlink points to, the visible names are symlinks
 * through `..data`, and an update swaps `..data` with one rename.
 */
export class VolumeManager {
  readonly #o: VolumeManagerOptions;

  constructor(options: VolumeManagerOptions) {
    this.#o = options;
  }

  /** The pod's directory under the data dir. */
  podDir(uid: string): string {
    return join(this.#o.podsDir, uid);
  }

  /**
   * Sets up every volume of the pod, or brings its content up to date (ConfigMap, Secret and
   * downward API changes): called on every sync.
   * @returns volume name → host path
   * @throws {EdgeError} `EDGE_POD_CONFIG_INVALID` naming the volume that cannot be set up
   */
  async setUp(ctx: EnvContext): Promise<Map<string, string>> {
    const pod = ctx.pod;
    const out = new Map<string, string>();
    for (const v of pod.spec?.volumes ?? []) {
      try {
        out.set(v.name, await this.#setUpOne(v, ctx));
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new EdgeError('EDGE_POD_CONFIG_INVALID', `MountVolume.SetUp failed for volume "${v.name}" : ${why}`, { cause: err });
      }
    }
    return out;
  }

  async #setUpOne(v: Volume, ctx: EnvContext): Promise<string> {
    const uid = ctx.pod.metadata.uid;
    const base = (plugin: string): string => join(this.podDir(uid), 'volumes', `kubernetes.io~${plugin}`, v.name);
    if (v.emptyDir !== undefined) {
      const dir = base('empty-dir');
      await mkdir(dir, { recursive: true, mode: 0o777 });
      await chmod(dir, 0o777);
      return dir;
    }
    if (v.hostPath !== undefined) {
      await checkHostPath(v.hostPath.path, v.hostPath.type ?? '');
      return v.hostPath.path;
    }
    const ns = ctx.pod.metadata.namespace;
    if (v.configMap !== undefined) {
      const dir = base('configmap');
      const files = this.#configMapFiles(ns, v.configMap.name ?? '', v.configMap.items, v.configMap.defaultMode ?? DEFAULT_MODE, v.configMap.optional === true);
      await writeAtomicDir(dir, files);
      return dir;
    }
    if (v.secret !== undefined) {
      const dir = base('secret');
      const files = this.#secretFiles(ns, v.secret.secretName ?? '', v.secret.items, v.secret.defaultMode ?? DEFAULT_MODE, v.secret.optional === true);
      await writeAtomicDir(dir, files);
      return dir;
    }
    if (v.downwardAPI !== undefined) {
      const dir = base('downward-api');
      await writeAtomicDir(dir, downwardFiles(v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? DEFAULT_MODE, ctx));
      return dir;
    }
    if (v.projected !== undefined) {
      const dir = base('projected');
      const mode = v.projected.defaultMode ?? DEFAULT_MODE;
      const files: VolumeFile[] = [];
      for (const s of v.projected.sources ?? []) {
        if (s.configMap !== undefined) files.push(...this.#configMapFiles(ns, s.configMap.name ?? '', s.configMap.items, mode, s.configMap.optional === true));
        else if (s.secret !== undefined) files.push(...this.#secretFiles(ns, s.secret.name ?? '', s.secret.items, mode, s.secret.optional === true));
        else if (s.downwardAPI !== undefined) files.push(...downwardFiles(s.downwardAPI.items ?? [], mode, ctx));
        else this.#o.log.warn('projected volume source not supported at the edge; skipped', { volume: v.name, pod: `${ns}/${ctx.pod.metadata.name}`, source: Object.keys(s).join(',') });
      }
      await writeAtomicDir(dir, files);
      return dir;
    }
    throw new Error(`volume type ${Object.keys(v).filter((k) => k !== 'name').join(',') || '(none)'} is not supported at the edge`);
  }

  #configMapFiles(ns: string, name: string, items: readonly KeyToPath[] | undefined, mode: number, optional: boolean): VolumeFile[] {
    const cm = this.#o.objects.configMap(ns, name);
    if (cm === undefined) {
      if (optional) return [];
      throw new Error(`configmap "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(v));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(v, 'base64'));
    return pick(data, items, mode, optional, `configmap "${name}"`);
  }

  #secretFiles(ns: string, name: string, items: readonly KeyToPath[] | undefined, mode: number, optional: boolean): VolumeFile[] {
    const s = this.#o.objects.secret(ns, name);
    if (s === undefined) {
      if (optional) return [];
      throw new Error(`secret "${name}" not found`);
    }
    const data = new Map(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    return pick(data, items, mode, optional, `secret "${name}"`);
  }

  /** Removes the pod's volumes (after its containers are gone). hostPath volumes are not touched. */
  async tearDown(uid: string): Promise<void> {
    await rm(this.podDir(uid), { recursive: true, force: true });
  }
}

function pick(data: Map<string, Buffer>, items: readonly KeyToPath[] | undefined, mode: number, optional: boolean, what: string): VolumeFile[] {
  if (items === undefined || items.length === 0) return [...data].map(([k, d]) => ({ path: k, data: d, mode }));
  const out: VolumeFile[] = [];
  for (const it of items) {
    const d = data.get(it.key);
    if (d === undefined) {
      if (optional) continue;
      throw new Error(`${what} has no key ${it.key}`);
    }
    out.push({ path: it.path, data: d, mode: it.mode ?? mode });
  }
  return out;
}

function downwardFiles(items: readonly DownwardAPIVolumeFile[], mode: number, ctx: EnvContext): VolumeFile[] {
  return items.map((it) => {
    const value = it.fieldRef !== undefined ? fieldValue(it.fieldRef, ctx) : it.resourceFieldRef !== undefined ? resourceValue(it.resourceFieldRef, undefined, ctx) : '';
    return { path: it.path, data: Buffer.from(value), mode: it.mode ?? mode };
  });
}

async function checkHostPath(path: string, type: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  switch (type) {
    case 'DirectoryOrCreate':
      if (info === undefined) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!info.isDirectory()) throw new Error(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'FileOrCreate':
      if (info === undefined) {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, '', { mode: 0o644 });
      } else if (!info.isFile()) throw new Error(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'Directory':
      if (info?.isDirectory() !== true) throw new Error(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'File':
      if (info?.isFile() !== true) throw new Error(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'Socket':
      if (info?.isSocket() !== true) throw new Error(`hostPath type check failed: ${path} is not a socket`);
      return;
    case 'CharDevice':
      if (info?.isCharacterDevice() !== true) throw new Error(`hostPath type check failed: ${path} is not a character device`);
      return;
    case 'BlockDevice':
      if (info?.isBlockDevice() !== true) throw new Error(`hostPath type check failed: ${path} is not a block device`);
      return;
    default:
      return;
  }
}

const DATA = '..data';

/**
 * Writes `files` into `dir` the AtomicWriter way (see {@link VolumeManager}); does nothing when the
 * content and modes are unchanged. Paths must be relative and stay inside the volume.
 * @returns whether anything changed
 */
export async function writeAtomicDir(dir: string, files: readonly VolumeFile[]): Promise<boolean> {
  for (const f of files) {
    const n = normalize(f.path);
    if (n.startsWith('..') || n.startsWith('/') || n === '.' || n === '') throw new Error(`invalid path ${JSON.stringify(f.path)} in volume`);
  }
  await mkdir(dir, { recursive: true });
  const current = await readlink(join(dir, DATA)).catch(() => undefined);
  if (current !== undefined && (await sameContent(join(dir, current), files))) return false;
  const ts = `..${rfc3339Milli(Date.now()).replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const target = join(dir, ts);
  await mkdir(target, { mode: 0o755 });
  for (const f of files) {
    const p = join(target, normalize(f.path));
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.data);
    await chmod(p, f.mode & 0o777);
  }
  const tmp = join(dir, `..data_tmp.${randomBytes(4).toString('hex')}`);
  await symlink(ts, tmp);
  await rename(tmp, join(dir, DATA));
  const top = new Set(files.map((f) => normalize(f.path).split('/')[0]!));
  for (const name of top) {
    const link = join(dir, name);
    const existing = await lstat(link).catch(() => undefined);
    if (existing?.isSymbolicLink() === true && (await readlink(link)) === join(DATA, name)) continue;
    if (existing !== undefined) await rm(link, { recursive: true, force: true });
    await symlink(join(DATA, name), link);
  }
  for (const entry of await readdir(dir)) {
    if (entry === DATA || entry === ts) continue;
    if (entry.startsWith('..')) await rm(join(dir, entry), { recursive: true, force: true });
    else if (!top.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  }
  return true;
}

async function sameContent(dir: string, files: readonly VolumeFile[]): Promise<boolean> {
  const want = new Set(files.map((f) => normalize(f.path)));
  const have = await listFiles(dir, '');
  if (have.length !== want.size || have.some((h) => !want.has(h))) return false;
  for (const f of files) {
    const p = join(dir, normalize(f.path));
    const [data, info] = await Promise.all([readFile(p).catch(() => undefined), stat(p).catch(() => undefined)]);
    if (data === undefined || info === undefined || !data.equals(f.data) || (info.mode & 0o777) !== (f.mode & 0o777)) return false;
  }
  return true;
}

async function listFiles(dir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

/**
 * The mounts of a container: its volumeMounts (with subPath) resolved against the set-up volumes,
 * plus the termination message file at `terminationMessagePath`.
 * @throws {EdgeError} `EDGE_POD_CONFIG_INVALID` for a mount of a volume the pod does not have
 */
export function containerMounts(container: Container, volumes: ReadonlyMap<string, string>, terminationLog: string | undefined): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const host = volumes.get(vm.name);
    if (host === undefined) throw new EdgeError('EDGE_POD_CONFIG_INVALID', `container ${container.name} mounts volume ${vm.name}, which the pod does not define`);
    const sub = vm.subPath ?? '';
    if (sub !== '' && (normalize(sub).startsWith('..') || sub.startsWith('/'))) throw new EdgeError('EDGE_POD_CONFIG_INVALID', `subPath ${JSON.stringify(sub)} of volume ${vm.name} leaves the volume`);
    mounts.push({ containerPath: vm.mountPath, hostPath: sub === '' ? host : join(host, sub), readOnly: vm.readOnly === true });
  }
  if (terminationLog !== undefined && container.terminationMessagePath !== undefined && container.terminationMessagePath !== '') {
    mounts.push({ containerPath: container.terminationMessagePath, hostPath: terminationLog, readOnly: false });
  }
  return mounts;
}
