import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { constants } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import { EdgeError } from '../../errors.ts';
import { CriLogEncoder, previousLog, readCriLog } from '../cri-log.ts';
import { groupMembers, processStartTime } from './proc.ts';
import type {
  ContainerConfig,
  ContainerState,
  ContainerStatus,
  ContainerSummary,
  ExecOptions,
  ExecResult,
  ExecSession,
  ImageInfo,
  LogEntry,
  LogOptions,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxStatus,
  Runtime,
  RuntimeStatus,
  RuntimeVersion,
} from '../runtime.ts';

/** Options of {@link ProcessRuntime.open}. */
export interface ProcessRuntimeOptions {
  /** Where sandboxes, containers and their root directories are kept: `<data-dir>/process-runtime`. */
  readonly stateDir: string;
  /** Reported as the runtime's version. */
  readonly version: string;
  readonly log: Logger;
  /** PATH of the processes. @default this process's PATH */
  readonly path?: string;
  /** How long an orphan from an earlier edge gets between SIGTERM and SIGKILL. @default 5 */
  readonly orphanGraceSeconds?: number;
  /** setpriv (util-linux), to give processes a parent-death signal; `''` for none. @default /usr/bin/setpriv if present */
  readonly setpriv?: string;
}

interface SandboxRecord {
  readonly id: string;
  readonly config: PodSandboxConfig;
  readonly createdAt: number;
  state: 'ready' | 'notready';
}

interface ContainerRecord {
  readonly id: string;
  readonly sandboxId: string;
  readonly config: ContainerConfig;
  readonly createdAt: number;
  /** Absolute log path. */
  readonly logPath: string;
  state: ContainerState;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  pid?: number;
  /** `/proc/<pid>/stat` start time, to tell our process from a later one with the same pid. */
  pidStart?: string;
}

/** Output captured per stream by execSync, like the CRI's 16 MiB cap. */
const EXEC_OUTPUT_CAP = 16 * 1024 * 1024;
/** How long a port-forward's connection to the pod's port may take. */
const PORT_FORWARD_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The `process` runtime, for gateways without containerd: each container is a supervised host
 * process (its own process group) running the container's `command` + `args`, with its env, as
 * the kedge user (or `runAsUser`). There is no image and no isolation: the image is ignored and
 * the container's filesystem is its *root directory*, where each volume is linked at its mount path
 * (`<root>/etc/config` → the volume); the process starts in the root directory (or `workingDir`
 * under it) and finds it in `$KEDGE_ROOT`. So a container reads its ConfigMap at `etc/config/key`
 * or `$KEDGE_ROOT/etc/config/key`. Resource limits are not enforced. Output goes to CRI-format log
 * files, as with containerd.
 *
 * Sandboxes and containers are records in the state dir. Processes live as long as the edge that
 * supervises them: they are sent SIGTERM when it stops, or dies (a parent-death signal set with
 * util-linux's setpriv, where the host has it), and when an edge starts and finds a process an
 * earlier edge left running, it stops it and reports the container exited, and Edged starts it
 * again: never two at once.
 */
export class ProcessRuntime implements Runtime {
  readonly kind = 'process' as const;
  readonly #o: ProcessRuntimeOptions;
  readonly #log: Logger;
  readonly #sandboxes = new Map<string, SandboxRecord>();
  readonly #containers = new Map<string, ContainerRecord>();
  readonly #children = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
  readonly #exitListeners = new Set<(id: string) => void>();
  /** util-linux's setpriv, when the host has it (to tie processes to this edge's life). */
  readonly #setpriv: string | undefined;

  private constructor(options: ProcessRuntimeOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#setpriv = options.setpriv !== undefined ? options.setpriv || undefined : ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  }

  /**
   * Loads the records of earlier runs and stops the processes an earlier edge left behind.
   * @throws the file system error when the state dir cannot be created
   */
  static async open(options: ProcessRuntimeOptions): Promise<ProcessRuntime> {
    const rt = new ProcessRuntime(options);
    await rt.#load();
    return rt;
  }

  /** Calls `listener` with the container id whenever a container's process exits. @returns unsubscribe */
  onContainerExit(listener: (id: string) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  version(): Promise<RuntimeVersion> {
    return Promise.resolve({ name: 'process', version: this.#o.version, apiVersion: 'v1' });
  }

  status(): Promise<RuntimeStatus> {
    return Promise.resolve({ runtimeReady: true, networkReady: true });
  }

  /** Every image is "present": the process runtime runs host commands and ignores images. */
  imageStatus(image: string): Promise<ImageInfo | undefined> {
    return Promise.resolve({ id: `process:${image}`, repoTags: [image], repoDigests: [], size: 0 });
  }

  pullImage(image: string): Promise<string> {
    return Promise.resolve(`process:${image}`);
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const rec: SandboxRecord = { id: newId(), config, createdAt: Date.now(), state: 'ready' };
    await mkdir(config.logDirectory, { recursive: true });
    await this.#saveSandbox(rec);
    this.#sandboxes.set(rec.id, rec);
    return rec.id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.#sandboxes.get(id);
    if (sb === undefined) return;
    // The CRI's contract: containers still running are terminated forcibly.
    for (const c of [...this.#containers.values()].filter((x) => x.sandboxId === id)) await this.stopContainer(c.id, 0);
    if (sb.state !== 'notready') {
      sb.state = 'notready';
      await this.#saveSandbox(sb);
    }
  }

  async removePodSandbox(id: string): Promise<void> {
    if (!this.#sandboxes.has(id)) return;
    await this.stopPodSandbox(id);
    for (const c of [...this.#containers.values()].filter((x) => x.sandboxId === id)) await this.removeContainer(c.id);
    this.#sandboxes.delete(id);
    await rm(join(this.#o.stateDir, 'sandboxes', `${id}.json`), { force: true });
  }

  podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const sb = this.#sandboxes.get(id);
    if (sb === undefined) return Promise.reject(new EdgeError('EDGE_RUNTIME_NOT_FOUND', `sandbox ${id} not found`));
    // Processes share the host's network: the pod's IP is the node's.
    return Promise.resolve({ ...toSandbox(sb), ip: '', additionalIps: [] });
  }

  listPodSandboxes(labels: Readonly<Record<string, string>> = {}): Promise<PodSandbox[]> {
    return Promise.resolve([...this.#sandboxes.values()].filter((s) => matches(s.config.labels, labels)).map(toSandbox));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sb = this.#sandboxes.get(sandboxId);
    if (sb === undefined) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `sandbox ${sandboxId} not found`);
    if (config.command.length === 0 && config.args.length === 0) {
      throw new EdgeError('EDGE_RUNTIME_UNSUPPORTED', `container ${config.name} has neither command nor args: the process runtime runs host commands and cannot use an image's entrypoint`);
    }
    if (config.tty) throw new EdgeError('EDGE_RUNTIME_UNSUPPORTED', `container ${config.name} asks for a TTY, which the process runtime does not provide`);
    const id = newId();
    const root = this.#root(id);
    await mkdir(root, { recursive: true });
    for (const m of config.mounts) {
      const at = join(root, normalize(`/${m.containerPath}`));
      await mkdir(dirname(at), { recursive: true });
      await rm(at, { recursive: true, force: true });
      await symlink(m.hostPath, at);
    }
    if (config.workingDir !== '') await mkdir(join(root, normalize(`/${config.workingDir}`)), { recursive: true });
    const rec: ContainerRecord = {
      id,
      sandboxId,
      config,
      createdAt: Date.now(),
      logPath: join(sb.config.logDirectory, config.logPath),
      state: 'created',
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: '',
      message: '',
    };
    await mkdir(dirname(rec.logPath), { recursive: true });
    await this.#saveContainer(rec);
    this.#containers.set(id, rec);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const rec = this.#container(id);
    if (rec.state !== 'created') throw new EdgeError('EDGE_RUNTIME_ERROR', `container ${id} is ${rec.state}, not created`);
    const sb = this.#sandboxes.get(rec.sandboxId);
    const line = commandLine(rec.config);
    // With setpriv the process gets SIGTERM when this edge dies, even by SIGKILL: processes live
    // as long as the edge supervising them, and an edge killed for good leaves nothing behind.
    const { command, args } = this.#setpriv !== undefined ? { command: this.#setpriv, args: ['--pdeathsig', 'SIGTERM', '--', line.command, ...line.args] } : line;
    const log = createWriteStream(rec.logPath, { flags: 'a' });
    const child = spawn(command, args, {
      cwd: this.#cwd(rec),
      env: this.#env(rec, sb?.config.hostname ?? ''),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(rec.config.security.runAsUser !== undefined ? { uid: rec.config.security.runAsUser } : {}),
      ...(rec.config.security.runAsGroup !== undefined ? { gid: rec.config.security.runAsGroup } : {}),
    });
    const failed = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (failed !== undefined) {
      log.end();
      Object.assign(rec, { state: 'exited', startedAt: Date.now(), finishedAt: Date.now(), exitCode: 128, reason: 'StartError', message: failed.message });
      await this.#saveContainer(rec);
      throw new EdgeError('EDGE_RUNTIME_ERROR', `starting ${line.command} for container ${rec.config.name}: ${failed.message}`, { cause: failed });
    }
    const pid = child.pid!;
    Object.assign(rec, { state: 'running', startedAt: Date.now(), pid, pidStart: processStartTime(pid) });
    const drained = Promise.all([pipeToLog(child.stdout, 'stdout', log), pipeToLog(child.stderr, 'stderr', log)]).then(() => new Promise<void>((resolve) => log.end(resolve)));
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        rec.state = 'exited';
        rec.finishedAt = Date.now();
        rec.exitCode = code ?? 128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0);
        rec.reason = rec.exitCode === 0 ? 'Completed' : 'Error';
        delete rec.pid;
        delete rec.pidStart;
        // Whatever the process wrote before exiting is in the log before anyone is told (a
        // grandchild holding the pipes open gets a second).
        void Promise.race([drained, delay(1_000)])
          .then(() => this.#saveContainer(rec))
          .catch((err: unknown) => this.#log.warn('cannot record a container exit', { container: id, err: describeError(err) }))
          .finally(() => {
            this.#children.delete(id);
            resolve();
            for (const l of this.#exitListeners) l(id);
          });
      });
    });
    this.#children.set(id, { child, exited });
    await this.#saveContainer(rec);
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const rec = this.#containers.get(id);
    if (rec === undefined) return;
    const running = this.#children.get(id);
    if (running === undefined) {
      if (rec.state === 'created') {
        Object.assign(rec, { state: 'exited', finishedAt: Date.now(), exitCode: 0, reason: 'Completed' });
        await this.#saveContainer(rec);
      }
      return;
    }
    signalGroup(running.child.pid!, 'SIGTERM');
    const timer = new AbortController();
    const exited = await Promise.race([running.exited.then(() => true), delay(Math.max(0, timeoutSeconds) * 1000, false, { signal: timer.signal }).catch(() => false)]);
    timer.abort();
    if (!exited) {
      signalGroup(running.child.pid!, 'SIGKILL');
      await running.exited;
    }
  }

  async removeContainer(id: string): Promise<void> {
    if (!this.#containers.has(id)) return;
    await this.stopContainer(id, 0);
    this.#containers.delete(id);
    await rm(join(this.#o.stateDir, 'containers', `${id}.json`), { force: true });
    await rm(join(this.#o.stateDir, 'containers', id), { recursive: true, force: true });
  }

  listContainers(filter: { readonly sandboxId?: string; readonly labels?: Readonly<Record<string, string>> } = {}): Promise<ContainerSummary[]> {
    return Promise.resolve(
      [...this.#containers.values()]
        .filter((c) => (filter.sandboxId === undefined || filter.sandboxId === '' || c.sandboxId === filter.sandboxId) && matches(c.config.labels, filter.labels ?? {}))
        .map((c) => summary(c)),
    );
  }

  containerStatus(id: string): Promise<ContainerStatus> {
    const c = this.#containers.get(id);
    if (c === undefined) return Promise.reject(new EdgeError('EDGE_RUNTIME_NOT_FOUND', `container ${id} not found`));
    return Promise.resolve({ ...summary(c), startedAt: c.startedAt, finishedAt: c.finishedAt, exitCode: c.exitCode, reason: c.reason, message: c.message, logPath: c.logPath });
  }

  async execSync(id: string, cmd: readonly string[], timeoutSeconds: number): Promise<ExecResult> {
    const rec = this.#running(id);
    const [command, ...args] = cmd;
    if (command === undefined) throw new EdgeError('EDGE_RUNTIME_ERROR', 'exec needs a command');
    const child = spawn(command, args, { cwd: this.#cwd(rec), env: this.#env(rec, this.#sandboxes.get(rec.sandboxId)?.config.hostname ?? ''), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = capture(child.stdout);
    const err = capture(child.stderr);
    const timer = setTimeout(() => signalGroup(child.pid ?? 0, 'SIGKILL'), Math.max(1, timeoutSeconds) * 1000);
    try {
      const code = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, signal) => resolve(c ?? 128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0)));
      });
      return { exitCode: code, stdout: await out, stderr: await err };
    } catch (e) {
      throw new EdgeError('EDGE_RUNTIME_ERROR', `exec ${command} in container ${rec.config.name}: ${describeError(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Processes share the host's network: the pod's loopback is the host's. */
  async portForward(sandboxId: string, port: number): Promise<Duplex> {
    if (!this.#sandboxes.has(sandboxId)) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `sandbox ${sandboxId} not found`);
    const socket: Socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    const timeout = AbortSignal.timeout(PORT_FORWARD_CONNECT_TIMEOUT_MS);
    try {
      await once(socket, 'connect', { signal: timeout });
      return socket;
    } catch (err) {
      socket.destroy();
      const why = timeout.aborted ? `no answer within ${PORT_FORWARD_CONNECT_TIMEOUT_MS / 1000}s` : describeError(err);
      throw new EdgeError('EDGE_RUNTIME_ERROR', `cannot connect to 127.0.0.1:${port}: ${why}`, { cause: err });
    }
  }

  async exec(id: string, cmd: readonly string[], options: ExecOptions): Promise<ExecSession> {
    if (options.tty) throw new EdgeError('EDGE_RUNTIME_UNSUPPORTED', 'the process runtime has no TTYs; exec without -t');
    const rec = this.#running(id);
    const [command, ...args] = cmd;
    if (command === undefined) throw new EdgeError('EDGE_RUNTIME_ERROR', 'exec needs a command');
    const child = spawn(command, args, {
      cwd: this.#cwd(rec),
      env: this.#env(rec, this.#sandboxes.get(rec.sandboxId)?.config.hostname ?? ''),
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const failed = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (failed !== undefined) throw new EdgeError('EDGE_RUNTIME_ERROR', `exec ${command} in container ${rec.config.name}: ${failed.message}`, { cause: failed });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    child.stdout!.pipe(stdout);
    child.stderr!.pipe(stderr);
    const exitCode = new Promise<number>((resolve) => {
      child.once('close', (c, signal) => resolve(c ?? 128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0)));
    });
    return {
      stdin: child.stdin ?? undefined,
      stdout,
      stderr,
      resize: () => undefined,
      exitCode,
      close: () => {
        if (child.exitCode === null && child.signalCode === null) signalGroup(child.pid ?? 0, 'SIGKILL');
      },
    };
  }

  async *logs(id: string, options: LogOptions, signal?: AbortSignal): AsyncIterable<LogEntry> {
    const rec = this.#container(id);
    const path = options.previous === true ? await previousLog(rec.logPath) : rec.logPath;
    const stillWriting = (): Promise<boolean> => Promise.resolve(options.previous !== true && this.#children.has(id));
    yield* readCriLog(path, options, { stillWriting }, signal);
  }

  /**
   * The edge is stopping: every process gets SIGTERM (their output pipes end with this process
   * anyway); whatever is still running when the next edge starts is stopped then.
   */
  close(): void {
    this.#exitListeners.clear();
    for (const { child } of this.#children.values()) signalGroup(child.pid ?? 0, 'SIGTERM');
  }

  #container(id: string): ContainerRecord {
    const c = this.#containers.get(id);
    if (c === undefined) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `container ${id} not found`);
    return c;
  }

  #running(id: string): ContainerRecord {
    const c = this.#container(id);
    if (c.state !== 'running') throw new EdgeError('EDGE_RUNTIME_ERROR', `container ${id} is not running`);
    return c;
  }

  #root(id: string): string {
    return join(this.#o.stateDir, 'containers', id, 'root');
  }

  #cwd(rec: ContainerRecord): string {
    return rec.config.workingDir === '' ? this.#root(rec.id) : join(this.#root(rec.id), normalize(`/${rec.config.workingDir}`));
  }

  #env(rec: ContainerRecord, hostname: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: this.#o.path ?? process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: this.#root(rec.id),
      HOSTNAME: hostname,
      KEDGE_ROOT: this.#root(rec.id),
    };
    for (const e of rec.config.env) env[e.name] = e.value;
    return env;
  }

  async #load(): Promise<void> {
    const dirs = ['sandboxes', 'containers'].map((d) => join(this.#o.stateDir, d));
    for (const d of dirs) await mkdir(d, { recursive: true, mode: 0o700 });
    for (const f of (await readdir(dirs[0]!)).filter((x) => x.endsWith('.json'))) {
      const rec = await readJson<SandboxRecord>(join(dirs[0]!, f));
      if (rec !== undefined) this.#sandboxes.set(rec.id, rec);
    }
    const orphans: ContainerRecord[] = [];
    for (const f of (await readdir(dirs[1]!)).filter((x) => x.endsWith('.json'))) {
      const rec = await readJson<ContainerRecord>(join(dirs[1]!, f));
      if (rec === undefined) continue;
      this.#containers.set(rec.id, rec);
      if (rec.state === 'running') orphans.push(rec);
    }
    await Promise.all(orphans.map((rec) => this.#stopOrphan(rec)));
  }

  /**
   * A container an earlier edge ran: whatever is left of its process group (the command may be
   * gone while what it started lives on) is stopped, and the container is recorded as exited.
   */
  async #stopOrphan(rec: ContainerRecord): Promise<void> {
    const pid = rec.pid;
    let exitCode = 0;
    const left = (): number[] => (pid !== undefined && rec.pidStart !== undefined ? groupMembers(pid, rec.pidStart) : []);
    if (left().length > 0) {
      this.#log.info('stopping the processes of a container an earlier edge left running', { container: rec.config.name, pgid: pid });
      signalGroup(pid!, 'SIGTERM');
      const deadline = Date.now() + (this.#o.orphanGraceSeconds ?? 5) * 1000;
      for (let wait = 10; left().length > 0 && Date.now() < deadline; wait = Math.min(wait * 2, 200)) await delay(wait);
      if (left().length > 0) {
        signalGroup(pid!, 'SIGKILL');
        exitCode = 137;
      } else exitCode = 143;
    }
    Object.assign(rec, { state: 'exited', finishedAt: Date.now(), exitCode, reason: 'Error', message: 'the edge that supervised this process stopped; it was stopped when the edge started again' });
    delete rec.pid;
    delete rec.pidStart;
    await this.#saveContainer(rec);
  }

  async #saveSandbox(rec: SandboxRecord): Promise<void> {
    await writeAtomic(join(this.#o.stateDir, 'sandboxes', `${rec.id}.json`), JSON.stringify(rec));
  }

  async #saveContainer(rec: ContainerRecord): Promise<void> {
    await writeAtomic(join(this.#o.stateDir, 'containers', `${rec.id}.json`), JSON.stringify(rec));
  }
}

function newId(): string {
  return randomBytes(16).toString('hex');
}

function toSandbox(s: SandboxRecord): PodSandbox {
  return { id: s.id, metadata: s.config.metadata, state: s.state, createdAt: s.createdAt, labels: s.config.labels, annotations: s.config.annotations };
}

function summary(c: ContainerRecord): ContainerSummary {
  return {
    id: c.id,
    sandboxId: c.sandboxId,
    name: c.config.name,
    attempt: c.config.attempt,
    state: c.state,
    createdAt: c.createdAt,
    image: c.config.image,
    imageRef: `process:${c.config.image}`,
    labels: c.config.labels,
    annotations: c.config.annotations,
  };
}

function matches(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Without an image there is no entrypoint: `command` + `args`, or `args` alone as the command line. */
function commandLine(c: ContainerConfig): { command: string; args: string[] } {
  const all = c.command.length > 0 ? [...c.command, ...c.args] : [...c.args];
  return { command: all[0]!, args: all.slice(1) };
}

/** Signals a process group (every process the container started); ignores a group already gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  if (pgid <= 0) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // Gone already.
  }
}

async function pipeToLog(from: NodeJS.ReadableStream, stream: 'stdout' | 'stderr', to: WriteStream): Promise<void> {
  const enc = new CriLogEncoder(stream);
  for await (const chunk of from) {
    const records = enc.push(chunk as Buffer);
    if (records !== '') to.write(records);
  }
  const rest = enc.end();
  if (rest !== '') to.write(rest);
}

async function capture(stream: NodeJS.ReadableStream | null): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (stream === null) return Buffer.alloc(0);
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    if (size + b.length <= EXEC_OUTPUT_CAP) chunks.push(b);
    size += b.length;
  }
  return Buffer.concat(chunks);
}

async function writeAtomic(path: string, body: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, body);
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
