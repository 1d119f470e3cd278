import type { Duplex } from 'node:stream';
import { EdgeError } from '../../errors.ts';
import { previousLog, readCriLog } from '../cri-log.ts';
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
  SandboxState,
} from '../runtime.ts';
import { ExecProcesses } from './containerd-tasks.ts';
import { criServices, GrpcChannel, type CallOptions } from './grpc.ts';

/** Options of {@link CriRuntime}. */
export interface CriRuntimeOptions {
  /** `unix:///run/containerd/containerd.sock` or a socket path. */
  readonly endpoint: string;
  /** Deadline of ordinary calls. @default 120_000 */
  readonly callTimeoutMs?: number;
  /** Deadline of image pulls. @default 600_000 */
  readonly pullTimeoutMs?: number;
}

// The shapes the CRI messages decode to (camelCase, int64 as number, enums as names).
interface CriMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}
interface CriSandbox {
  id: string;
  metadata: CriMetadata | null;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface CriSandboxStatus extends CriSandbox {
  network: { ip: string; additionalIps: { ip: string }[] } | null;
}
interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: { image: string } | null;
  imageRef: string;
  state: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface CriContainerStatus extends Omit<CriContainer, 'podSandboxId'> {
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  logPath: string;
}
interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

const NS_PER_MS = 1_000_000;

const CONTAINER_STATES: Record<CriContainer['state'], ContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};

/**
 * The `cri` runtime: any CRI runtime (containerd here) over its unix socket, speaking runtime.v1.
 * Logs are the CRI-format files the runtime writes; interactive exec goes through the runtime's
 * streaming server (SPDY/3.1, `v4.channel.k8s.io`: see spdy-exec.ts), and is killed through
 * containerd's Tasks service when its session is closed early.
 */
export class CriRuntime implements Runtime {
  readonly kind = 'cri' as const;
  readonly #grpc: GrpcChannel;
  readonly #callTimeoutMs: number;
  readonly #pullTimeoutMs: number;
  readonly #execs: ExecProcesses;

  constructor(options: CriRuntimeOptions) {
    this.#grpc = new GrpcChannel(options.endpoint, `the container runtime at ${options.endpoint}`);
    this.#callTimeoutMs = options.callTimeoutMs ?? 120_000;
    this.#pullTimeoutMs = options.pullTimeoutMs ?? 600_000;
    this.#execs = new ExecProcesses(this.#grpc);
  }

  #rt<Res>(method: string, request: object, options: CallOptions = {}): Promise<Res> {
    return this.#grpc.unary<Res>(criServices().runtime, method, request, { timeoutMs: this.#callTimeoutMs, ...options });
  }

  #img<Res>(method: string, request: object, options: CallOptions = {}): Promise<Res> {
    return this.#grpc.unary<Res>(criServices().image, method, request, { timeoutMs: this.#callTimeoutMs, ...options });
  }

  async version(options: CallOptions = {}): Promise<RuntimeVersion> {
    const v = await this.#rt<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>('Version', { version: 'v1' }, options);
    return { name: v.runtimeName, version: v.runtimeVersion, apiVersion: v.runtimeApiVersion };
  }

  async status(): Promise<RuntimeStatus> {
    const r = await this.#rt<{ status: { conditions: { type: string; status: boolean; reason: string; message: string }[] } | null }>('Status', {});
    const conditions = r.status?.conditions ?? [];
    const runtime = conditions.find((c) => c.type === 'RuntimeReady');
    const network = conditions.find((c) => c.type === 'NetworkReady');
    const message = conditions
      .filter((c) => !c.status)
      .map((c) => `${c.type}: ${c.reason} ${c.message}`.trim())
      .join('; ');
    return { runtimeReady: runtime?.status === true, networkReady: network?.status === true, ...(message !== '' ? { message } : {}) };
  }

  async imageStatus(image: string): Promise<ImageInfo | undefined> {
    const r = await this.#img<{ image: CriImage | null }>('ImageStatus', { image: { image } });
    if (r.image === null || r.image.id === '') return undefined;
    return { id: r.image.id, repoTags: r.image.repoTags, repoDigests: r.image.repoDigests, size: r.image.size };
  }

  async pullImage(image: string, signal?: AbortSignal): Promise<string> {
    try {
      const r = await this.#img<{ imageRef: string }>('PullImage', { image: { image } }, { timeoutMs: this.#pullTimeoutMs, ...(signal !== undefined ? { signal } : {}) });
      return r.imageRef;
    } catch (err) {
      throw new EdgeError('EDGE_IMAGE_PULL_FAILED', `pulling ${image}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const r = await this.#rt<{ podSandboxId: string }>('RunPodSandbox', { config: sandboxConfig(config), runtimeHandler: '' });
    return r.podSandboxId;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.#idempotent(this.#rt('StopPodSandbox', { podSandboxId: id }));
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.#idempotent(this.#rt('RemovePodSandbox', { podSandboxId: id }));
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const r = await this.#rt<{ status: CriSandboxStatus | null }>('PodSandboxStatus', { podSandboxId: id });
    if (r.status === null) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `sandbox ${id} not found`);
    return { ...toSandbox(r.status), ip: r.status.network?.ip ?? '', additionalIps: (r.status.network?.additionalIps ?? []).map((a) => a.ip) };
  }

  async listPodSandboxes(labels: Readonly<Record<string, string>> = {}): Promise<PodSandbox[]> {
    const r = await this.#rt<{ items: CriSandbox[] }>('ListPodSandbox', { filter: { labelSelector: labels } });
    return r.items.map(toSandbox);
  }

  async createContainer(sandboxId: string, config: ContainerConfig, sandbox: PodSandboxConfig): Promise<string> {
    const r = await this.#rt<{ containerId: string }>('CreateContainer', { podSandboxId: sandboxId, config: containerConfig(config), sandboxConfig: sandboxConfig(sandbox) });
    return r.containerId;
  }

  async startContainer(id: string): Promise<void> {
    await this.#rt('StartContainer', { containerId: id });
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    // The runtime waits up to the timeout itself; the call's deadline must outlast it.
    await this.#idempotent(this.#rt('StopContainer', { containerId: id, timeout: Math.max(0, Math.floor(timeoutSeconds)) }, { timeoutMs: this.#callTimeoutMs + timeoutSeconds * 1000 }));
  }

  async removeContainer(id: string): Promise<void> {
    await this.#idempotent(this.#rt('RemoveContainer', { containerId: id }));
  }

  async listContainers(filter: { readonly sandboxId?: string; readonly labels?: Readonly<Record<string, string>> } = {}): Promise<ContainerSummary[]> {
    const r = await this.#rt<{ containers: CriContainer[] }>('ListContainers', { filter: { podSandboxId: filter.sandboxId ?? '', labelSelector: filter.labels ?? {} } });
    return r.containers.map((c) => ({
      id: c.id,
      sandboxId: c.podSandboxId,
      name: c.metadata?.name ?? '',
      attempt: c.metadata?.attempt ?? 0,
      state: CONTAINER_STATES[c.state],
      createdAt: Math.floor(c.createdAt / NS_PER_MS),
      image: c.image?.image ?? '',
      imageRef: c.imageRef,
      labels: c.labels,
      annotations: c.annotations,
    }));
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const r = await this.#rt<{ status: CriContainerStatus | null }>('ContainerStatus', { containerId: id });
    const s = r.status;
    if (s === null) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `container ${id} not found`);
    // containerd stamps startedAt when its Start call returns, which for a container that exits at
    // once can be after the exit it recorded (or not yet set when the exit is seen): a container
    // cannot finish before it starts, so the exit time bounds the start time.
    const finishedAt = Math.floor(s.finishedAt / NS_PER_MS);
    const reportedStart = Math.floor(s.startedAt / NS_PER_MS);
    const startedAt = finishedAt > 0 && (reportedStart === 0 || reportedStart > finishedAt) ? finishedAt : reportedStart;
    return {
      id: s.id,
      // ContainerStatus does not name the sandbox; listContainers does.
      sandboxId: '',
      name: s.metadata?.name ?? '',
      attempt: s.metadata?.attempt ?? 0,
      state: CONTAINER_STATES[s.state],
      createdAt: Math.floor(s.createdAt / NS_PER_MS),
      startedAt,
      finishedAt,
      exitCode: s.exitCode,
      reason: s.reason,
      message: s.message,
      image: s.image?.image ?? '',
      imageRef: s.imageRef,
      labels: s.labels,
      annotations: s.annotations,
      logPath: s.logPath,
    };
  }

  async execSync(id: string, cmd: readonly string[], timeoutSeconds: number): Promise<ExecResult> {
    const r = await this.#rt<{ stdout: Buffer; stderr: Buffer; exitCode: number }>('ExecSync', { containerId: id, cmd, timeout: Math.max(1, Math.ceil(timeoutSeconds)) }, { timeoutMs: timeoutSeconds * 1000 + 10_000 });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  async exec(id: string, cmd: readonly string[], options: ExecOptions): Promise<ExecSession> {
    // Undefined for a CRI runtime without containerd's Tasks service: close() then only drops the connection.
    const before = await this.#execs.list(id).catch(() => undefined);
    const r = await this.#rt<{ url: string }>('Exec', { containerId: id, cmd, tty: options.tty, stdin: options.stdin, stdout: true, stderr: !options.tty });
    // Loaded at the first exec: an edge that never execs never loads the SPDY client (and zlib for it).
    const { openSpdyExec } = await import('./spdy-exec.ts');
    let found: Promise<string | undefined> = Promise.resolve(undefined);
    const session = await openSpdyExec(r.url, options, {
      kill: async () => {
        const execId = await found;
        if (execId === undefined) return false;
        await this.#execs.kill(id, execId);
        return true;
      },
    });
    if (before !== undefined) found = this.#execs.find(id, before, cmd, session.exitCode);
    return session;
  }

  async portForward(sandboxId: string, port: number): Promise<Duplex> {
    const r = await this.#rt<{ url: string }>('PortForward', { podSandboxId: sandboxId, port: [port] });
    // Loaded at the first port-forward, as exec's client is.
    const { openSpdyPortForward } = await import('./spdy-port-forward.ts');
    return openSpdyPortForward(r.url, port);
  }

  async *logs(id: string, options: LogOptions, signal?: AbortSignal): AsyncIterable<LogEntry> {
    const status = await this.containerStatus(id);
    if (status.logPath === '') throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `container ${id} has no log file`);
    const path = options.previous === true ? await previousLog(status.logPath) : status.logPath;
    const stillWriting = async (): Promise<boolean> => {
      if (options.previous === true) return false;
      try {
        const s = await this.containerStatus(id);
        return s.state === 'running' || s.state === 'created';
      } catch {
        return false;
      }
    };
    yield* readCriLog(path, options, { stillWriting }, signal);
  }

  close(): void {
    this.#grpc.close();
  }

  /** Stop and remove calls succeed for what is already gone. */
  async #idempotent(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (err instanceof EdgeError && err.code === 'EDGE_RUNTIME_NOT_FOUND') return;
      throw err;
    }
  }
}

function toSandbox(s: CriSandbox): PodSandbox {
  const state: SandboxState = s.state === 'SANDBOX_READY' ? 'ready' : 'notready';
  return {
    id: s.id,
    metadata: { name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '', uid: s.metadata?.uid ?? '', attempt: s.metadata?.attempt ?? 0 },
    state,
    createdAt: Math.floor(s.createdAt / NS_PER_MS),
    labels: s.labels,
    annotations: s.annotations,
  };
}

function namespaces(o: { hostNetwork: boolean; hostPid: boolean; hostIpc: boolean }): object {
  return { network: o.hostNetwork ? 'NODE' : 'POD', pid: o.hostPid ? 'NODE' : 'CONTAINER', ipc: o.hostIpc ? 'NODE' : 'POD' };
}

function int64(v: number | undefined): object | undefined {
  return v === undefined ? undefined : { value: v };
}

function sandboxConfig(c: PodSandboxConfig): object {
  return {
    metadata: c.metadata,
    // A host-network sandbox has the host's UTS namespace: runc refuses to set a hostname there.
    hostname: c.hostNetwork ? '' : c.hostname,
    logDirectory: c.logDirectory,
    ...(c.dns !== undefined ? { dnsConfig: c.dns } : {}),
    portMappings: c.portMappings,
    labels: c.labels,
    annotations: c.annotations,
    linux: {
      cgroupParent: '',
      sysctls: c.sysctls ?? {},
      securityContext: {
        namespaceOptions: namespaces(c),
        runAsUser: int64(c.runAsUser),
        runAsGroup: int64(c.runAsGroup),
        supplementalGroups: c.supplementalGroups ?? [],
      },
    },
  };
}

function containerConfig(c: ContainerConfig): object {
  const s = c.security;
  return {
    metadata: { name: c.name, attempt: c.attempt },
    image: { image: c.image },
    command: c.command,
    args: c.args,
    workingDir: c.workingDir,
    envs: c.env.map((e) => ({ key: e.name, value: e.value })),
    mounts: c.mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readOnly, propagation: 'PROPAGATION_PRIVATE' })),
    labels: c.labels,
    annotations: c.annotations,
    logPath: c.logPath,
    stdin: c.stdin,
    stdinOnce: c.stdinOnce,
    tty: c.tty,
    linux: {
      resources: {
        cpuPeriod: c.resources.cpuPeriod,
        cpuQuota: c.resources.cpuQuota,
        cpuShares: c.resources.cpuShares,
        memoryLimitInBytes: c.resources.memoryLimitBytes,
        oomScoreAdj: c.resources.oomScoreAdj,
      },
      securityContext: {
        privileged: s.privileged,
        namespaceOptions: namespaces(s),
        runAsUser: int64(s.runAsUser),
        runAsGroup: int64(s.runAsGroup),
        readonlyRootfs: s.readOnlyRootFilesystem,
        capabilities: { addCapabilities: s.capabilitiesAdd, dropCapabilities: s.capabilitiesDrop },
        noNewPrivs: s.noNewPrivileges,
      },
    },
  };
}
