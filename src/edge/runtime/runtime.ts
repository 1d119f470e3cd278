import type { Duplex, Readable, Writable } from 'node:stream';

/**
 * The container runtime as Edged sees it: the Kubernetes CRI's model (pod sandboxes holding
 * containers, images, exec, CRI-format log files) as a TypeScript interface, implemented by
 * `cri/` (containerd or any CRI runtime over its socket) and `process/` (host processes, for
 * gateways without containerd). Edged keeps no state of its own about containers: after a restart
 * it finds its sandboxes and containers again by their labels.
 *
 * Errors: every method rejects with an `EdgeError`: `EDGE_RUNTIME_NOT_FOUND` when the sandbox,
 * container or image named does not exist (stop and remove calls never do: they are idempotent),
 * `EDGE_RUNTIME_UNAVAILABLE` when the runtime does not answer, `EDGE_RUNTIME_UNSUPPORTED` when it
 * cannot do what is asked, `EDGE_RUNTIME_ERROR` for anything else (the runtime's error as `cause`).
 */
export interface Runtime {
  /** `cri` or `process`. */
  readonly kind: RuntimeKind;
  /** The runtime's name and version, e.g. `{ name: 'containerd', version: '1.6.20' }`. */
  version(): Promise<RuntimeVersion>;
  /** Whether it can run containers and whether pod networking is set up. */
  status(): Promise<RuntimeStatus>;

  /** The image if it is on the node, else undefined. */
  imageStatus(image: string): Promise<ImageInfo | undefined>;
  /**
   * Pulls an image from its registry. @returns its reference (an image id)
   * @throws `EDGE_IMAGE_PULL_FAILED` when the registry or image cannot be reached
   */
  pullImage(image: string, signal?: AbortSignal): Promise<string>;

  /** Creates and starts a sandbox. @returns its id */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stops every process of the sandbox (containers included, forcibly) and releases its network. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes a stopped sandbox and its containers. */
  removePodSandbox(id: string): Promise<void>;
  /** The sandbox's state and address. */
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  /** Sandboxes with all the given labels. */
  listPodSandboxes(labels?: Readonly<Record<string, string>>): Promise<PodSandbox[]>;

  /** Creates a container in a sandbox. @returns its id */
  createContainer(sandboxId: string, config: ContainerConfig, sandbox: PodSandboxConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Signals the container to stop (SIGTERM, or the image's stop signal) and kills it after `timeoutSeconds`. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Containers in a sandbox (or all) with all the given labels. */
  listContainers(filter?: { readonly sandboxId?: string; readonly labels?: Readonly<Record<string, string>> }): Promise<ContainerSummary[]>;
  containerStatus(id: string): Promise<ContainerStatus>;

  /** Runs a command in a running container and collects its output (probes, preStop hooks). */
  execSync(id: string, cmd: readonly string[], timeoutSeconds: number): Promise<ExecResult>;
  /**
   * Starts an interactive command in a running container: streams for stdin (when asked), stdout
   * and stderr (merged into stdout with a TTY), and its exit code. For `kubectl exec`.
   */
  exec(id: string, cmd: readonly string[], options: ExecOptions): Promise<ExecSession>;
  /**
   * A TCP connection to `port` on loopback inside the sandbox's network namespace (the pod's own,
   * or the host's for a host-network pod), for `kubectl port-forward`: the kubelet's PortForward,
   * which reaches servers bound to the pod's 127.0.0.1 as well as to its address. Bytes go both
   * ways through the duplex; ending its writable side ends what the server reads.
   * @throws `EDGE_RUNTIME_ERROR` when nothing accepts the connection (the duplex may also be
   * destroyed with one, when the runtime learns of the failure after its stream is open)
   */
  portForward(sandboxId: string, port: number): Promise<Duplex>;
  /**
   * The container's log (its CRI-format log file), as entries. With `follow` the iterable stays
   * open for new lines until the container exits and its log is drained, or `signal` aborts.
   * With `previous`, the log of the instance before this one (the previous restart).
   * @throws `EDGE_RUNTIME_NOT_FOUND` when there is no such container or (previous) no earlier log
   */
  logs(id: string, options: LogOptions, signal?: AbortSignal): AsyncIterable<LogEntry>;

  /** Releases connections. The runtime's containers keep running. */
  close(): void;
}

export type RuntimeKind = 'cri' | 'process';

export interface RuntimeVersion {
  /** `containerd`, `process`. */
  readonly name: string;
  readonly version: string;
  /** The CRI version the runtime speaks (`v1`), or the process runtime's. */
  readonly apiVersion: string;
}

export interface RuntimeStatus {
  readonly runtimeReady: boolean;
  readonly networkReady: boolean;
  /** Why a condition is false. */
  readonly message?: string;
}

export interface ImageInfo {
  /** The image id (config digest). */
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
  readonly size: number;
}

/** What identifies a pod to the runtime. */
export interface PodSandboxMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  /** Incremented each time the pod gets a new sandbox. */
  readonly attempt: number;
}

export interface PodSandboxConfig {
  readonly metadata: PodSandboxMetadata;
  readonly hostname: string;
  /** Absolute directory of the pod's container logs. */
  readonly logDirectory: string;
  readonly hostNetwork: boolean;
  readonly hostPid: boolean;
  readonly hostIpc: boolean;
  readonly dns?: { readonly servers: readonly string[]; readonly searches: readonly string[]; readonly options: readonly string[] };
  readonly portMappings: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly sysctls?: Readonly<Record<string, string>>;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly supplementalGroups?: readonly number[];
}

export interface PortMapping {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly containerPort: number;
  readonly hostPort: number;
  readonly hostIp: string;
}

export type SandboxState = 'ready' | 'notready';

export interface PodSandbox {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: SandboxState;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface PodSandboxStatus extends PodSandbox {
  /** The pod's IP, when the runtime gave it one (not for host-network sandboxes). */
  readonly ip: string;
  readonly additionalIps: readonly string[];
}

export interface Mount {
  readonly containerPath: string;
  readonly hostPath: string;
  readonly readOnly: boolean;
}

export interface ContainerConfig {
  readonly name: string;
  /** Starts at 0; the restart count of the container. */
  readonly attempt: number;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly workingDir: string;
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly mounts: readonly Mount[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Relative to the sandbox's log directory: `<container>/<attempt>.log`. */
  readonly logPath: string;
  readonly stdin: boolean;
  readonly stdinOnce: boolean;
  readonly tty: boolean;
  readonly resources: ContainerResources;
  readonly security: ContainerSecurity;
}

/** Linux resources, as the kubelet derives them from requests and limits. */
export interface ContainerResources {
  /** CFS period, µs (100000), or 0. */
  readonly cpuPeriod: number;
  /** CFS quota, µs per period, from the CPU limit, or 0 for none. */
  readonly cpuQuota: number;
  /** Relative weight from the CPU request (2 minimum). */
  readonly cpuShares: number;
  /** From the memory limit, or 0 for none. */
  readonly memoryLimitBytes: number;
  readonly oomScoreAdj: number;
}

export interface ContainerSecurity {
  readonly privileged: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilitiesAdd: readonly string[];
  readonly capabilitiesDrop: readonly string[];
  readonly noNewPrivileges: boolean;
  /** Share the host's or pod's namespaces, as the sandbox does. */
  readonly hostNetwork: boolean;
  readonly hostPid: boolean;
  readonly hostIpc: boolean;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerSummary {
  readonly id: string;
  readonly sandboxId: string;
  readonly name: string;
  readonly attempt: number;
  readonly state: ContainerState;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly image: string;
  readonly imageRef: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ContainerStatus extends ContainerSummary {
  /** Milliseconds since the epoch, 0 when not started / not finished. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly exitCode: number;
  /** e.g. `OOMKilled`, `Error`, `Completed`. */
  readonly reason: string;
  readonly message: string;
  /** Absolute path of the log file. */
  readonly logPath: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

export interface ExecOptions {
  readonly stdin: boolean;
  readonly tty: boolean;
}

/** A running `exec`. */
export interface ExecSession {
  /** Present when `stdin` was asked for; ending it closes the command's stdin. */
  readonly stdin: Writable | undefined;
  readonly stdout: Readable;
  /** Absent with a TTY (merged into stdout). */
  readonly stderr: Readable | undefined;
  /** Resizes the TTY. A no-op without one. */
  resize(size: { readonly width: number; readonly height: number }): void;
  /** Resolves with the exit code once the command has exited and its output is drained. */
  readonly exitCode: Promise<number>;
  /** Ends the session (the command is killed if still running). */
  close(): void;
}

export interface LogOptions {
  readonly follow?: boolean;
  /** Only the last N lines. */
  readonly tail?: number;
  /** Only entries at or after this time (milliseconds since the epoch). */
  readonly since?: number;
  /** The previous instance of the container (after a restart). */
  readonly previous?: boolean;
}

/** One record of a CRI log file. */
export interface LogEntry {
  /** Nanosecond-precision RFC 3339 time as written in the file. */
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  /** The bytes of the line; a full line ends with `\n`, a partial (`P`) record does not. */
  readonly content: Buffer;
}

/**
 * Labels and annotations Edged puts on sandboxes and containers, the kubelet's own (so `crictl`
 * shows kedge's pods as it shows the kubelet's) plus the node's name, so that an edge sharing a
 * runtime never touches what it did not create.
 */
export const LABELS = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  managedBy: 'kedge.io/node',
} as const;

export const ANNOTATIONS = {
  restartCount: 'io.kubernetes.container.restartCount',
  containerHash: 'io.kubernetes.container.hash',
  terminationMessagePath: 'io.kubernetes.container.terminationMessagePath',
  gracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
  /** Whether the container is an init container (`true`). */
  initContainer: 'kedge.io/init-container',
} as const;
