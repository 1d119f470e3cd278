import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import { criServices, GrpcChannel } from '../runtime/cri/grpc.ts';
import { isRunning } from '../runtime/process/proc.ts';
import { containerdConfig, containerdPaths, isolatedCniConfig, type ContainerdPaths } from './config.ts';

/** The sandbox ("pause") image kedge builds from busybox and sets as the CRI's sandbox image. */
export const SANDBOX_IMAGE = 'kedge.local/kedge-pause:1';

/** Options of {@link ManagedContainerd}. */
export interface ManagedContainerdOptions {
  /** Everything goes here: `<edge data dir>/containerd`. */
  readonly dir: string;
  readonly log: Logger;
  /** @default 'containerd' (from PATH) */
  readonly binary?: string;
  /** @default '/usr/lib/cni' */
  readonly cniBinDir?: string;
  /** The static busybox the sandbox image is built from. @default '/usr/bin/busybox' */
  readonly busybox?: string;
  /** How long containerd may take to answer after it is started. @default 30_000 */
  readonly startTimeoutMs?: number;
  /** How long it may take to exit on SIGTERM before it is killed. @default 10_000 */
  readonly stopTimeoutMs?: number;
  /** How often to check that it still runs. @default 5_000 */
  readonly superviseIntervalMs?: number;
}

/**
 * A containerd that kedge runs for itself (`kedge edge --managed-containerd`), with config,
 * socket, root, state and pod network under the data dir.
 *
 * Lifetime: containerd runs detached from the edge and logs to `containerd.log`, so an edge that is
 * killed leaves it (and the containers, whose shims are separate processes anyway) running; the
 * next edge adopts it through its pid file. An edge that stops normally stops containerd; the
 * containers keep running and the next containerd reconnects to them.
 */
export class ManagedContainerd {
  readonly paths: ContainerdPaths;
  readonly #o: ManagedContainerdOptions;
  readonly #log: Logger;
  #pid: number | undefined;
  #exited: Promise<void> | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(options: ManagedContainerdOptions) {
    this.#o = options;
    this.#log = options.log;
    this.paths = containerdPaths(options.dir);
  }

  /** The CRI endpoint: `unix://<dir>/containerd.sock`. */
  get endpoint(): string {
    return `unix://${this.paths.socket}`;
  }

  /** Settles once containerd has been stopped after the start signal aborted. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Starts containerd (or adopts the one an earlier edge left running), waits until its CRI
   * answers, and makes sure the sandbox image is there. Stops it when `signal` aborts.
   * @throws {EdgeError} `EDGE_CONTAINERD_FAILED` when it cannot be started or does not answer in time
   */
  async start(signal: AbortSignal): Promise<void> {
    const p = this.paths;
    await mkdir(p.dir, { recursive: true, mode: 0o711 });
    await mkdir(p.cniConfDir, { recursive: true });
    await writeFile(p.config, containerdConfig({ paths: p, sandboxImage: SANDBOX_IMAGE, cniBinDir: this.#o.cniBinDir ?? '/usr/lib/cni' }));
    await this.#writeCniConfig();

    const adopted = await this.#adopt();
    if (adopted === undefined) await this.#spawn();
    else this.#log.info('adopted the containerd an earlier edge started', { pid: adopted });
    try {
      await this.#waitReady(signal);
      await this.#ensureSandboxImage();
    } catch (err) {
      await this.#stop();
      throw err instanceof EdgeError ? err : new EdgeError('EDGE_CONTAINERD_FAILED', `starting containerd: ${describeError(err)}`, { cause: err });
    }
    this.#done = this.#supervise(signal);
  }

  /**
   * Restarts containerd if it dies while the edge runs (checked every few seconds: a signal-0
   * probe costs nothing), and stops it when `signal` aborts.
   */
  async #supervise(signal: AbortSignal): Promise<void> {
    let backoff = 1_000;
    while (!signal.aborted) {
      // Unreferenced: supervising containerd is no reason for the process to stay alive.
      await delay(this.#o.superviseIntervalMs ?? 5_000, undefined, { signal, ref: false }).catch(() => undefined);
      if (signal.aborted) break;
      if (this.#pid !== undefined && alive(this.#pid)) {
        backoff = 1_000;
        continue;
      }
      this.#log.error('containerd exited; starting it again', { code: 'EDGE_CONTAINERD_FAILED', pid: this.#pid, log: await this.#logTail() });
      try {
        await this.#spawn();
        await this.#waitReady(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.#log.error('cannot start containerd again', { err: describeError(err), retryInMs: backoff });
        await delay(backoff, undefined, { signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
    await this.#stop();
  }

  async #writeCniConfig(): Promise<void> {
    const cni = isolatedCniConfig(this.paths);
    const others = (await readdir(this.paths.cniConfDir)).filter((f) => /\.(conf|conflist|json)$/.test(f) && f !== cni.name);
    if (others.length > 0) {
      this.#log.info('using the CNI configuration in the data dir', { files: others });
      await rm(join(this.paths.cniConfDir, cni.name), { force: true });
      return;
    }
    await writeFile(join(this.paths.cniConfDir, cni.name), cni.body);
  }

  /** The pid of a containerd running with this config that answers on the socket, if any. */
  async #adopt(): Promise<number | undefined> {
    const pid = Number((await readFile(this.paths.pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!cmdline.includes(this.paths.config)) return undefined;
    if (!(await this.#answers(2_000))) {
      this.#log.warn('a containerd from an earlier run does not answer; restarting it', { pid });
      this.#pid = pid;
      await this.#stop();
      return undefined;
    }
    this.#pid = pid;
    return pid;
  }

  async #spawn(): Promise<void> {
    if (existsSync(this.paths.socket)) await unlink(this.paths.socket).catch(() => undefined);
    const logFile = await open(this.paths.log, 'a');
    try {
      const binary = this.#o.binary ?? 'containerd';
      const child = spawn(binary, ['--config', this.paths.config], { detached: true, stdio: ['ignore', logFile.fd, logFile.fd] });
      const spawned = await new Promise<Error | undefined>((resolve) => {
        child.once('spawn', () => resolve(undefined));
        child.once('error', resolve);
      });
      if (spawned !== undefined) throw new EdgeError('EDGE_CONTAINERD_FAILED', `cannot run ${binary}: ${spawned.message}`, { cause: spawned });
      this.#pid = child.pid!;
      this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
      // The edge may exit without waiting for containerd, which outlives it on purpose.
      child.unref();
      await writeFile(this.paths.pidFile, `${this.#pid}\n`);
      this.#log.info('started containerd', { pid: this.#pid, socket: this.paths.socket, log: this.paths.log });
    } finally {
      await logFile.close();
    }
  }

  async #answers(timeoutMs: number): Promise<boolean> {
    const ch = new GrpcChannel(this.endpoint, 'containerd');
    try {
      await ch.unary(criServices().runtime, 'Version', { version: 'v1' }, { timeoutMs });
      return true;
    } catch {
      return false;
    } finally {
      ch.close();
    }
  }

  async #waitReady(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.#o.startTimeoutMs ?? 30_000);
    let exited = false;
    void this.#exited?.then(() => (exited = true));
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      if (exited) throw new EdgeError('EDGE_CONTAINERD_FAILED', `containerd exited during start-up; its log: ${await this.#logTail()}`);
      if (existsSync(this.paths.socket) && (await this.#answers(1_000))) return;
      if (Date.now() > deadline) throw new EdgeError('EDGE_CONTAINERD_FAILED', `containerd did not answer on ${this.paths.socket} within ${this.#o.startTimeoutMs ?? 30_000} ms; its log: ${await this.#logTail()}`);
      await delay(wait, undefined, { signal });
    }
  }

  async #ensureSandboxImage(): Promise<void> {
    const ch = new GrpcChannel(this.endpoint, 'containerd');
    const present = async (): Promise<boolean> => {
      const r = await ch.unary<{ image: { id: string } | null }>(criServices().image, 'ImageStatus', { image: { image: SANDBOX_IMAGE } }, { timeoutMs: 10_000 });
      return r.image !== null && r.image.id !== '';
    };
    try {
      if (await present()) return;
      const busybox = this.#o.busybox ?? '/usr/bin/busybox';
      if (!existsSync(busybox)) {
        this.#log.warn('no busybox to build the sandbox image from; pods cannot start until an image with this name is imported', { image: SANDBOX_IMAGE, busybox });
        return;
      }
      // Built and imported once per data dir: the image code is loaded only then.
      const [{ importImageArchive }, { buildImageArchive, busyboxRootfs }] = await Promise.all([import('../runtime/cri/image-import.ts'), import('../runtime/image/build.ts')]);
      const file = join(this.paths.dir, 'kedge-pause.tar');
      await writeFile(file, buildImageArchive({ name: SANDBOX_IMAGE, layers: [busyboxRootfs(busybox, ['sleep'])], config: { Entrypoint: ['/bin/sleep', 'inf'] } }));
      try {
        await importImageArchive({ endpoint: this.endpoint, file, log: this.#log });
      } finally {
        await rm(file, { force: true });
      }
      this.#log.info('sandbox image ready', { image: SANDBOX_IMAGE });
    } finally {
      ch.close();
    }
  }

  async #stop(): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined || !alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const timeout = this.#o.stopTimeoutMs ?? 10_000;
    // An adopted containerd is not our child: its exit can only be polled for.
    const timer = new AbortController();
    const exited = await Promise.race([(this.#exited ?? waitForExit(pid)).then(() => true), delay(timeout, false, { signal: timer.signal }).catch(() => false)]);
    timer.abort();
    if (exited !== true && alive(pid)) {
      this.#log.warn('containerd did not stop in time; killing it', { pid, timeoutMs: timeout });
      process.kill(pid, 'SIGKILL');
      await (this.#exited ?? waitForExit(pid));
    }
    await rm(this.paths.pidFile, { force: true });
    this.#log.info('containerd stopped', { pid });
  }

  async #logTail(): Promise<string> {
    const text = await readFile(this.paths.log, 'utf8').catch(() => '');
    return text.split('\n').slice(-20).join('\n');
  }
}

/** Whether the process runs (a zombie left by a killed edge does not). */
function alive(pid: number): boolean {
  return isRunning(pid);
}

/** Resolves when a process that is not our child is gone (polled: there is no portable wait for it). */
async function waitForExit(pid: number): Promise<void> {
  for (let wait = 10; alive(pid); wait = Math.min(wait * 2, 200)) await delay(wait);
}
