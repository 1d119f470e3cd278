import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, LifecycleHandler, PodStatus } from 'kubernetes-types/core/v1.d.ts';
import { rfc3339 } from '../../api/time.ts';
import { describeError, hasCode } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import type { DirtyWrite } from '../hub/status-table.ts';
import { ANNOTATIONS, LABELS, type ContainerConfig, type ContainerStatus, type ContainerSummary, type PodSandbox, type PodSandboxConfig, type Runtime } from '../runtime/runtime.ts';
import { expand, resolveEnv, type EnvContext, type ObjectSource } from './env.ts';
import type { EventRecorder } from './events.ts';
import { containerHash, containerResources, gracePeriodSeconds, podDesc, podKey, type PodObject } from './pod-spec.ts';
import { computePodStatus, type ContainerView } from './pod-status.ts';
import { ContainerProbes } from './probes.ts';
import type { Rejection } from './admission.ts';
import { containerMounts, type VolumeManager } from './volumes.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade reads every export, and
// http's WebSocket getters load undici and http2, about 10 MB an edge node never uses.
const { request: httpRequest } = process.getBuiltinModule('node:http');

/** Where pod statuses go: the status table (latest wins), which EdgeHub sends when it can. */
export interface PodStatusSink {
  put(write: DirtyWrite): void;
}

/**
 * How the edge tells the cloud that a pod it was asked to delete has stopped, so the cloud can
 * remove it for good (the kubelet's final delete with grace 0, preconditioned on the uid).
 */
export interface PodDeletionSink {
  confirmDeleted(pod: { readonly namespace: string; readonly name: string; readonly uid: string }): void;
}

/** The node as a pod worker needs it. */
export interface NodeView {
  readonly hostIps: readonly string[];
  readonly cpuMilli: number;
  readonly memoryBytes: number;
}

/** What a pod worker shares with the others (Edged builds it once). */
export interface PodWorkerDeps {
  readonly nodeName: string;
  readonly runtime: Runtime;
  /** The containerID scheme: `containerd`, `process`. */
  readonly runtimeName: string;
  readonly volumes: VolumeManager;
  readonly objects: ObjectSource;
  readonly events: EventRecorder;
  readonly statuses: PodStatusSink;
  readonly deletions: PodDeletionSink;
  /** `<data-dir>/logs`: each pod's container logs go to `<ns>_<name>_<uid>/<container>/<n>.log`. */
  readonly logsDir: string;
  readonly node: () => NodeView;
  readonly log: Logger;
  /** Called once the worker has cleaned up after a pod deleted from MetaManager. */
  readonly removed: (uid: string) => void;
}

/** The kubelet's container restart back-off: 10 s doubling to 5 min, forgotten after 10 min. */
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** Retries of a sync that failed for another reason (the runtime is down, a write failed). */
const RETRY_INITIAL_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Volumes are refreshed at least this often (a ConfigMap that was missing may have arrived). */
const RESYNC_MS = 60_000;
/** The kubelet gives a container at least this long after its preStop hook. */
const MIN_GRACE_AFTER_HOOK_S = 2;

interface Backoff {
  durationMs: number;
  /** When the failure that set it happened (ms). */
  lastUpdate: number;
}

/** What the runtime holds for the pod, looked at once per sync. */
interface Observed {
  readonly sandboxes: PodSandbox[];
  /** The newest ready sandbox, if any. */
  readonly sandbox: PodSandbox | undefined;
  /** Instances by container name, newest attempt first. */
  readonly byName: Map<string, ContainerStatus[]>;
}

/**
 * One pod's worker: a level-triggered loop that makes the runtime match the pod (the kubelet's
 * `syncPod`), reports its status when it changes, and, once the pod is deleted, stops it
 * gracefully and cleans up. `wake()` asks for a sync; syncs of one pod never overlap; errors and
 * back-offs requeue with a timer. Everything it needs to know about containers it reads from the
 * runtime (found by the pod's uid label), so a restarted edge carries on where the last one was.
 */
export class PodWorker {
  readonly uid: string;
  readonly #d: PodWorkerDeps;
  readonly #log: Logger;
  #pod: PodObject;
  #gone = false;
  #rejected: Rejection | undefined;
  #startTime: string | undefined;
  #dirty = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #retryMs = RETRY_INITIAL_MS;
  #stopped = false;
  #finished = false;
  #confirmed = false;
  #lastReported: string | undefined;
  #lastStatus: PodStatus | undefined;
  readonly #backoff = new Map<string, Backoff>();
  readonly #pullBackoff = new Map<string, Backoff>();
  readonly #waiting = new Map<string, { reason: string; message: string }>();
  readonly #probes = new Map<string, ContainerProbes>();
  readonly #unhealthy = new Map<string, string>();
  /** Exited instances do not change: their statuses are cached. */
  readonly #exited = new Map<string, ContainerStatus>();

  constructor(pod: PodObject, deps: PodWorkerDeps, rejected: Rejection | undefined) {
    this.uid = pod.metadata.uid;
    this.#pod = pod;
    this.#d = deps;
    this.#log = deps.log.child({ pod: podKey(pod), uid: this.uid });
    this.#rejected = rejected;
    this.#startTime = pod.status?.startTime;
    this.#lastStatus = pod.status;
  }

  get pod(): PodObject {
    return this.#pod;
  }

  /** Admitted, not finished and not being deleted: it counts against the node's allocatable. */
  get active(): boolean {
    const phase = this.#lastStatus?.phase;
    return this.#rejected === undefined && !this.#gone && this.#pod.metadata.deletionTimestamp === undefined && phase !== 'Succeeded' && phase !== 'Failed';
  }

  /** Whether the pod uses this ConfigMap or Secret (volumes, env, envFrom). */
  uses(kind: 'configmaps' | 'secrets', name: string): boolean {
    const spec = this.#pod.spec;
    if (spec === undefined) return false;
    const cm = kind === 'configmaps';
    for (const v of spec.volumes ?? []) {
      if (cm ? v.configMap?.name === name : v.secret?.secretName === name) return true;
      for (const s of v.projected?.sources ?? []) if (cm ? s.configMap?.name === name : s.secret?.name === name) return true;
    }
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const f of c.envFrom ?? []) if (cm ? f.configMapRef?.name === name : f.secretRef?.name === name) return true;
      for (const e of c.env ?? []) if (cm ? e.valueFrom?.configMapKeyRef?.name === name : e.valueFrom?.secretKeyRef?.name === name) return true;
    }
    return false;
  }

  /**
   * A new version of the pod from MetaManager. Only a change the worker acts on wakes it: the
   * status the edge itself reported coming back from the cloud does not.
   */
  update(pod: PodObject): void {
    const before = this.#pod;
    this.#pod = pod;
    if (this.#lastReported === undefined) this.#lastStatus = pod.status;
    const relevant = (p: PodObject): string => JSON.stringify([p.spec, p.metadata.labels, p.metadata.annotations, p.metadata.deletionTimestamp, p.metadata.deletionGracePeriodSeconds]);
    if (relevant(before) !== relevant(pod)) this.wake();
  }

  /** The pod is gone from MetaManager (deleted in the cloud): stop it and clean up. */
  remove(): void {
    this.#gone = true;
    this.wake();
  }

  /** Asks for a sync. */
  wake(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    this.#loop ??= this.#run().finally(() => (this.#loop = undefined));
  }

  /** Stops syncing (the edge is stopping); containers keep running. Resolves when no sync is in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const p of this.#probes.values()) p.stop();
    this.#probes.clear();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#dirty && !this.#stopped && !this.#finished) {
      this.#dirty = false;
      let next: number | undefined;
      try {
        next = await this.#sync();
        this.#retryMs = RETRY_INITIAL_MS;
      } catch (err) {
        if (this.#stopped) return;
        this.#log.warn('pod sync failed; retrying', { err: describeError(err), code: err instanceof EdgeError ? err.code : undefined, retryInMs: this.#retryMs });
        next = this.#retryMs;
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
      }
      if (next !== undefined) this.#requeue(next);
    }
  }

  #requeue(ms: number): void {
    const at = Date.now() + ms;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.wake();
    }, ms);
    this.#timer.unref();
  }

  /** One pass. @returns when to sync again at the latest (ms), or undefined for "when something changes" */
  async #sync(): Promise<number | undefined> {
    const pod = this.#pod;
    const observed = await this.#observe();
    if (this.#gone || pod.metadata.deletionTimestamp !== undefined) return this.#terminate(observed);
    if (this.#rejected !== undefined) {
      this.#report(observed, undefined);
      return undefined;
    }
    this.#startTime ??= rfc3339(Date.now());
    const policy = pod.spec?.restartPolicy ?? 'Always';

    if (this.#isTerminal(observed, policy)) {
      // Nothing will run again: release the sandbox (and its IP), keep the containers for logs.
      if (observed.sandbox !== undefined) await this.#d.runtime.stopPodSandbox(observed.sandbox.id);
      this.#stopProbesExcept(new Set());
      this.#report(observed, undefined);
      return undefined;
    }

    const node = this.#d.node();
    let volumes: Map<string, string>;
    const sandboxIp = observed.sandbox !== undefined ? await this.#sandboxIp(observed.sandbox.id) : '';
    const ctx = this.#envContext(sandboxIp, node);
    try {
      volumes = await this.#d.volumes.setUp(ctx);
    } catch (err) {
      if (!hasCode(err, 'EDGE_POD_CONFIG_INVALID')) throw err;
      this.#d.events.pod(pod, 'Warning', 'FailedMount', describeError(err));
      for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) if (!observed.byName.has(c.name)) this.#waiting.set(c.name, { reason: 'ContainerCreating', message: '' });
      this.#report(observed, observed.sandbox !== undefined ? sandboxIp : undefined);
      return 10_000;
    }

    let sandbox = observed.sandbox;
    let ip = sandboxIp;
    let fresh = false;
    if (sandbox === undefined) {
      sandbox = await this.#newSandbox(observed);
      ip = await this.#sandboxIp(sandbox.id);
      fresh = true;
    }
    const sandboxConfig = this.#sandboxConfig(sandbox.metadata.attempt);
    const current = fresh ? await this.#observe() : observed;
    const env = fresh ? this.#envContext(ip, node) : ctx;
    let requeue: number | undefined = RESYNC_MS;
    const soon = (ms: number | undefined): void => {
      if (ms !== undefined) requeue = Math.min(requeue ?? ms, ms);
    };

    // Init containers, one at a time, in order.
    let acted = fresh;
    let initDone = true;
    for (const c of pod.spec?.initContainers ?? []) {
      const latest = this.#inSandbox(current, c.name, sandbox.id);
      if (latest?.state === 'exited' && latest.exitCode === 0) continue;
      initDone = false;
      if (latest?.state === 'running') break;
      if (latest?.state === 'created') {
        await this.#d.runtime.removeContainer(latest.id);
        acted = true;
        this.wake();
        break;
      }
      if (latest?.state === 'exited' && policy === 'Never') break;
      soon(await this.#startOrBackOff(c, true, current, sandbox, sandboxConfig, env, volumes));
      acted = true;
      break;
    }

    // Containers, once every init container succeeded.
    const live = new Set<string>();
    if (initDone) {
      for (const c of pod.spec?.containers ?? []) {
        const latest = this.#inSandbox(current, c.name, sandbox.id);
        if (latest?.state === 'running') {
          const why = this.#unhealthy.get(latest.id) ?? (latest.annotations[ANNOTATIONS.containerHash] !== containerHash(c) ? 'definition changed' : undefined);
          if (why === undefined) {
            live.add(latest.id);
            this.#ensureProbes(c, latest, ip);
            continue;
          }
          this.#d.events.pod(pod, 'Normal', 'Killing', `Container ${c.name} ${why}, will be restarted`, fieldPath(c, false));
          await this.#kill(c, latest, gracePeriodSeconds(pod), ip);
          this.#unhealthy.delete(latest.id);
          acted = true;
          this.wake();
          continue;
        }
        if (latest?.state === 'created') {
          await this.#d.runtime.removeContainer(latest.id);
          acted = true;
          this.wake();
          continue;
        }
        if (latest?.state === 'exited' && !(policy === 'Always' || (policy === 'OnFailure' && latest.exitCode !== 0))) continue;
        soon(await this.#startOrBackOff(c, false, current, sandbox, sandboxConfig, env, volumes));
        acted = true;
      }
    }
    this.#stopProbesExcept(live);
    this.#report(acted ? await this.#observe() : current, ip);
    return requeue;
  }

  /** Whether the pod has run to completion and will not run again (restartPolicy Never/OnFailure). */
  #isTerminal(o: Observed, policy: string): boolean {
    if (policy === 'Always') return false;
    const spec = this.#pod.spec;
    if (spec === undefined) return false;
    for (const c of spec.initContainers ?? []) {
      const latest = o.byName.get(c.name)?.[0];
      if (latest?.state === 'exited' && latest.exitCode !== 0 && policy === 'Never') return true;
    }
    return spec.containers.every((c) => {
      const latest = o.byName.get(c.name)?.[0];
      return latest?.state === 'exited' && (policy === 'Never' || latest.exitCode === 0);
    });
  }

  /**
   * Starts the next instance of a container unless it is in back-off (crash loop, image pull);
   * records why it waits. @returns when to look again
   */
  async #startOrBackOff(c: Container, init: boolean, o: Observed, sandbox: PodSandbox, sandboxConfig: PodSandboxConfig, ctx: EnvContext, volumes: Map<string, string>): Promise<number | undefined> {
    const pod = this.#pod;
    const instances = o.byName.get(c.name) ?? [];
    const last = instances[0];
    const now = Date.now();
    if (last?.state === 'exited' && last.finishedAt > 0 && this.#inSandbox(o, c.name, sandbox.id) !== undefined) {
      const b = this.#backoff.get(c.name);
      if (b !== undefined && last.finishedAt - b.lastUpdate <= 2 * BACKOFF_MAX_MS && now - last.finishedAt < b.durationMs) {
        const message = `back-off ${formatSeconds(b.durationMs)} restarting failed container=${c.name} pod=${podDesc(pod)}`;
        this.#waiting.set(c.name, { reason: 'CrashLoopBackOff', message });
        this.#d.events.pod(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podDesc(pod)}`, fieldPath(c, init));
        return last.finishedAt + b.durationMs - now;
      }
      const expired = b === undefined || last.finishedAt - b.lastUpdate > 2 * BACKOFF_MAX_MS;
      this.#backoff.set(c.name, { durationMs: expired ? BACKOFF_INITIAL_MS : Math.min(b.durationMs * 2, BACKOFF_MAX_MS), lastUpdate: last.finishedAt });
    }
    const attempt = instances.length === 0 ? 0 : Math.max(...instances.map((i) => i.attempt)) + 1;
    const imageWait = await this.#ensureImage(c, init);
    if (imageWait !== undefined) return imageWait;
    let config: ContainerConfig;
    try {
      config = await this.#containerConfig(c, init, attempt, ctx, volumes);
    } catch (err) {
      if (!hasCode(err, 'EDGE_POD_CONFIG_INVALID')) throw err;
      this.#waiting.set(c.name, { reason: 'CreateContainerConfigError', message: describeError(err) });
      this.#d.events.pod(pod, 'Warning', 'Failed', `Error: ${describeError(err)}`, fieldPath(c, init));
      return 10_000;
    }
    let id: string;
    try {
      id = await this.#d.runtime.createContainer(sandbox.id, config, sandboxConfig);
    } catch (err) {
      this.#waiting.set(c.name, { reason: 'CreateContainerError', message: describeError(err) });
      this.#d.events.pod(pod, 'Warning', 'Failed', `Error: ${describeError(err)}`, fieldPath(c, init));
      return 10_000;
    }
    this.#d.events.pod(pod, 'Normal', 'Created', `Created container ${c.name}`, fieldPath(c, init));
    try {
      await this.#d.runtime.startContainer(id);
    } catch (err) {
      this.#waiting.set(c.name, { reason: 'RunContainerError', message: describeError(err) });
      this.#d.events.pod(pod, 'Warning', 'Failed', `Error: ${describeError(err)}`, fieldPath(c, init));
      return 1_000;
    }
    this.#waiting.delete(c.name);
    this.#d.events.pod(pod, 'Normal', 'Started', `Started container ${c.name}`, fieldPath(c, init));
    // Keep the newest two instances (the running one and the previous, for `logs --previous`).
    for (const old of instances.slice(1)) {
      this.#exited.delete(old.id);
      await this.#d.runtime.removeContainer(old.id);
    }
    return undefined;
  }

  /** Makes sure the image is there, per imagePullPolicy. @returns undefined when it is, else when to try again */
  async #ensureImage(c: Container, init: boolean): Promise<number | undefined> {
    const rt = this.#d.runtime;
    if (rt.kind === 'process') return undefined;
    const pod = this.#pod;
    const image = c.image ?? '';
    const fp = fieldPath(c, init);
    const policy = c.imagePullPolicy ?? (/:latest$|^[^:@]*$/.test(image.slice(image.lastIndexOf('/') + 1)) ? 'Always' : 'IfNotPresent');
    const present = await rt.imageStatus(image);
    if (present !== undefined && policy !== 'Always') {
      this.#d.events.pod(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fp);
      return undefined;
    }
    if (present === undefined && policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.#waiting.set(c.name, { reason: 'ErrImageNeverPull', message });
      this.#d.events.pod(pod, 'Warning', 'ErrImageNeverPull', message, fp);
      return 30_000;
    }
    const b = this.#pullBackoff.get(image);
    const now = Date.now();
    if (b !== undefined && now - b.lastUpdate < b.durationMs) {
      this.#waiting.set(c.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` });
      this.#d.events.pod(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, fp);
      return b.lastUpdate + b.durationMs - now;
    }
    this.#d.events.pod(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, fp);
    const started = Date.now();
    try {
      await rt.pullImage(image);
      this.#pullBackoff.delete(image);
      const s = ((Date.now() - started) / 1000).toFixed(3);
      this.#d.events.pod(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${s}s`, fp);
      return undefined;
    } catch (err) {
      if (present !== undefined) {
        // Edge autonomy: a node cut off from its registry runs the image it has.
        this.#log.info('cannot pull; using the image on the node', { image, err: describeError(err) });
        return undefined;
      }
      this.#pullBackoff.set(image, { durationMs: b === undefined ? BACKOFF_INITIAL_MS : Math.min(b.durationMs * 2, BACKOFF_MAX_MS), lastUpdate: Date.now() });
      this.#waiting.set(c.name, { reason: 'ErrImagePull', message: describeError(err) });
      this.#d.events.pod(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${describeError(err)}`, fp);
      this.#d.events.pod(pod, 'Warning', 'Failed', 'Error: ErrImagePull', fp);
      return BACKOFF_INITIAL_MS;
    }
  }

  async #containerConfig(c: Container, init: boolean, attempt: number, ctx: EnvContext, volumes: Map<string, string>): Promise<ContainerConfig> {
    const pod = this.#pod;
    const resolved = resolveEnv(c, ctx, this.#d.objects);
    if (resolved.invalidKeys.length > 0) {
      this.#d.events.pod(pod, 'Warning', 'InvalidEnvironmentVariableNames', `Keys [${resolved.invalidKeys.join(', ')}] from the EnvFrom were skipped since they are considered invalid environment variable names.`, fieldPath(c, init));
    }
    const vars = new Map(resolved.env.map((e) => [e.name, e.value]));
    let terminationLog: string | undefined;
    if (c.terminationMessagePath !== undefined && c.terminationMessagePath !== '') {
      terminationLog = join(this.#d.volumes.podDir(this.uid), 'containers', c.name, String(attempt));
      await mkdir(join(terminationLog, '..'), { recursive: true });
      await writeFile(terminationLog, '', { mode: 0o666 });
    }
    const spec = pod.spec!;
    const sc = c.securityContext;
    const psc = spec.securityContext;
    const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
    const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup;
    return {
      name: c.name,
      attempt,
      image: c.image ?? '',
      command: (c.command ?? []).map((a) => expand(a, vars)),
      args: (c.args ?? []).map((a) => expand(a, vars)),
      workingDir: c.workingDir ?? '',
      env: resolved.env,
      mounts: containerMounts(c, volumes, terminationLog),
      labels: { ...this.#labels(), [LABELS.containerName]: c.name },
      annotations: {
        [ANNOTATIONS.restartCount]: String(attempt),
        [ANNOTATIONS.containerHash]: containerHash(c),
        [ANNOTATIONS.gracePeriod]: String(gracePeriodSeconds(pod)),
        ...(c.terminationMessagePath !== undefined ? { [ANNOTATIONS.terminationMessagePath]: c.terminationMessagePath } : {}),
        ...(init ? { [ANNOTATIONS.initContainer]: 'true' } : {}),
      },
      logPath: `${c.name}/${attempt}.log`,
      stdin: c.stdin === true,
      stdinOnce: c.stdinOnce === true,
      tty: c.tty === true,
      resources: containerResources(pod, c, this.#d.node().memoryBytes),
      security: {
        privileged: sc?.privileged === true,
        ...(runAsUser !== undefined ? { runAsUser } : {}),
        ...(runAsGroup !== undefined ? { runAsGroup } : {}),
        readOnlyRootFilesystem: sc?.readOnlyRootFilesystem === true,
        capabilitiesAdd: sc?.capabilities?.add ?? [],
        capabilitiesDrop: sc?.capabilities?.drop ?? [],
        noNewPrivileges: sc?.allowPrivilegeEscalation === false,
        hostNetwork: spec.hostNetwork === true,
        hostPid: spec.hostPID === true,
        hostIpc: spec.hostIPC === true,
      },
    };
  }

  #labels(): Record<string, string> {
    const m = this.#pod.metadata;
    return { [LABELS.podName]: m.name, [LABELS.podNamespace]: m.namespace, [LABELS.podUid]: m.uid, [LABELS.managedBy]: this.#d.nodeName };
  }

  #sandboxConfig(attempt: number): PodSandboxConfig {
    const pod = this.#pod;
    const spec = pod.spec!;
    const m = pod.metadata;
    const dns = spec.dnsConfig;
    return {
      metadata: { name: m.name, namespace: m.namespace, uid: m.uid, attempt },
      hostname: (spec.hostname ?? m.name).slice(0, 63),
      logDirectory: join(this.#d.logsDir, `${m.namespace}_${m.name}_${m.uid}`),
      hostNetwork: spec.hostNetwork === true,
      hostPid: spec.hostPID === true,
      hostIpc: spec.hostIPC === true,
      ...(spec.dnsPolicy === 'None' && dns !== undefined ? { dns: { servers: dns.nameservers ?? [], searches: dns.searches ?? [], options: (dns.options ?? []).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? ''))) } } : {}),
      portMappings: spec.containers.flatMap((c) =>
        (c.ports ?? []).filter((p) => (p.hostPort ?? 0) > 0).map((p) => ({ protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP', containerPort: p.containerPort, hostPort: p.hostPort!, hostIp: p.hostIP ?? '' })),
      ),
      labels: { ...m.labels, ...this.#labels() },
      annotations: { ...m.annotations },
      ...(spec.securityContext?.sysctls !== undefined ? { sysctls: Object.fromEntries(spec.securityContext.sysctls.map((s) => [s.name, s.value])) } : {}),
      ...(spec.securityContext?.runAsUser !== undefined ? { runAsUser: spec.securityContext.runAsUser } : {}),
      ...(spec.securityContext?.runAsGroup !== undefined ? { runAsGroup: spec.securityContext.runAsGroup } : {}),
      ...(spec.securityContext?.supplementalGroups !== undefined ? { supplementalGroups: spec.securityContext.supplementalGroups } : {}),
    };
  }

  /** A new sandbox: whatever ran in an older one is stopped first (the kubelet's "SandboxChanged"). */
  async #newSandbox(o: Observed): Promise<PodSandbox> {
    const rt = this.#d.runtime;
    const attempt = o.sandboxes.length === 0 ? 0 : Math.max(...o.sandboxes.map((s) => s.metadata.attempt)) + 1;
    if (o.sandboxes.length > 0) this.#d.events.pod(this.#pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    for (const s of o.sandboxes) {
      if (s.state === 'ready') await rt.stopPodSandbox(s.id);
    }
    const config = this.#sandboxConfig(attempt);
    await mkdir(config.logDirectory, { recursive: true });
    const id = await rt.runPodSandbox(config);
    // Older sandboxes go (their containers too); the logs stay in the pod's log directory.
    for (const s of o.sandboxes) {
      for (const list of o.byName.values()) for (const c of list) this.#exited.delete(c.id);
      await rt.removePodSandbox(s.id);
    }
    return { id, metadata: config.metadata, state: 'ready', createdAt: Date.now(), labels: config.labels, annotations: config.annotations };
  }

  async #sandboxIp(id: string): Promise<string> {
    if (this.#pod.spec?.hostNetwork === true) return '';
    return (await this.#d.runtime.podSandboxStatus(id)).ip;
  }

  #envContext(sandboxIp: string, node: NodeView): EnvContext {
    return {
      pod: this.#pod,
      podIps: sandboxIp !== '' ? [sandboxIp] : [...node.hostIps],
      hostIps: node.hostIps,
      nodeCpuMilli: node.cpuMilli,
      nodeMemoryBytes: node.memoryBytes,
    };
  }

  async #observe(): Promise<Observed> {
    const rt = this.#d.runtime;
    const selector = { [LABELS.podUid]: this.uid, [LABELS.managedBy]: this.#d.nodeName };
    const [sandboxes, containers] = await Promise.all([rt.listPodSandboxes(selector), rt.listContainers({ labels: selector })]);
    const sandbox = sandboxes.filter((s) => s.state === 'ready').sort((a, b) => b.metadata.attempt - a.metadata.attempt)[0];
    const byName = new Map<string, ContainerStatus[]>();
    const statuses = await Promise.all(containers.map((c) => this.#status(c)));
    for (const s of statuses) {
      if (s === undefined) continue;
      const list = byName.get(s.name) ?? [];
      list.push(s);
      byName.set(s.name, list);
    }
    for (const list of byName.values()) list.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
    return { sandboxes, sandbox, byName };
  }

  async #status(c: ContainerSummary): Promise<(ContainerStatus & { sandboxId: string }) | undefined> {
    const cached = this.#exited.get(c.id);
    if (cached !== undefined) return { ...cached, sandboxId: c.sandboxId };
    try {
      let s = await this.#d.runtime.containerStatus(c.id);
      if (s.state === 'exited') {
        // What the container wrote to its terminationMessagePath becomes the message of its terminated state.
        const message = s.annotations[ANNOTATIONS.terminationMessagePath] !== undefined ? await readTerminationMessage(join(this.#d.volumes.podDir(this.uid), 'containers', s.name, String(s.attempt))) : undefined;
        if (message !== undefined) s = { ...s, message };
        this.#exited.set(c.id, s);
      }
      return { ...s, sandboxId: c.sandboxId };
    } catch (err) {
      if (hasCode(err, 'EDGE_RUNTIME_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /** The newest instance of a container in the given sandbox. */
  #inSandbox(o: Observed, name: string, sandboxId: string): ContainerStatus | undefined {
    return o.byName.get(name)?.find((c) => c.sandboxId === sandboxId);
  }

  #ensureProbes(c: Container, s: ContainerStatus, ip: string): void {
    if (this.#probes.has(s.id)) return;
    if (c.livenessProbe === undefined && c.readinessProbe === undefined && c.startupProbe === undefined) return;
    const probes = new ContainerProbes({
      runtime: this.#d.runtime,
      containerId: s.id,
      container: c,
      podIp: ip !== '' ? ip : (this.#d.node().hostIps[0] ?? '127.0.0.1'),
      startedAt: s.startedAt > 0 ? s.startedAt : Date.now(),
      listener: {
        changed: () => this.wake(),
        failed: (kind, output) => {
          const what = kind === 'liveness' ? 'Liveness' : kind === 'readiness' ? 'Readiness' : 'Startup';
          this.#d.events.pod(this.#pod, 'Warning', 'Unhealthy', `${what} probe failed: ${output}`, fieldPath(c, false));
        },
        unhealthy: (kind) => {
          this.#unhealthy.set(s.id, kind === 'liveness' ? 'failed liveness probe' : 'failed startup probe');
          this.wake();
        },
      },
    });
    this.#probes.set(s.id, probes);
    probes.start();
  }

  #stopProbesExcept(live: ReadonlySet<string>): void {
    for (const [id, p] of this.#probes) {
      if (live.has(id)) continue;
      p.stop();
      this.#probes.delete(id);
    }
  }

  /** Stops a container: its preStop hook first, then SIGTERM with what is left of the grace period. */
  async #kill(c: Container | undefined, s: ContainerStatus, graceSeconds: number, ip: string): Promise<void> {
    const started = Date.now();
    this.#probes.get(s.id)?.stop();
    this.#probes.delete(s.id);
    const hook = c?.lifecycle?.preStop;
    if (hook !== undefined && s.state === 'running' && graceSeconds > 0) {
      try {
        await this.#runHook(hook, s.id, graceSeconds, ip);
      } catch (err) {
        this.#d.events.pod(this.#pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${describeError(err)}`, c !== undefined ? fieldPath(c, false) : undefined);
      }
    }
    const left = Math.max(graceSeconds - Math.floor((Date.now() - started) / 1000), hook !== undefined ? MIN_GRACE_AFTER_HOOK_S : 0);
    await this.#d.runtime.stopContainer(s.id, graceSeconds === 0 ? 0 : left);
    this.#exited.delete(s.id);
  }

  async #runHook(hook: LifecycleHandler, id: string, timeoutSeconds: number, ip: string): Promise<void> {
    if (hook.exec !== undefined) {
      const r = await this.#d.runtime.execSync(id, hook.exec.command ?? [], timeoutSeconds);
      if (r.exitCode !== 0) throw new Error(`command ${JSON.stringify(hook.exec.command ?? [])} exited with ${r.exitCode}: ${r.stderr.toString().trim()}`);
      return;
    }
    if (hook.httpGet !== undefined) {
      const h = hook.httpGet;
      const port = typeof h.port === 'number' ? h.port : Number(h.port);
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: h.host ?? (ip !== '' ? ip : '127.0.0.1'), port, path: h.path ?? '/', timeout: timeoutSeconds * 1000 }, (res) => {
          res.resume();
          if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve();
          else reject(new Error(`HTTP ${res.statusCode ?? '?'}`));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end();
      });
      return;
    }
    if (hook.sleep !== undefined) await new Promise((r) => setTimeout(r, Math.min(hook.sleep!.seconds, timeoutSeconds) * 1000));
  }

  /** The pod is being deleted (or is gone): stop everything gracefully, report, confirm, clean up. */
  async #terminate(o: Observed): Promise<number | undefined> {
    const pod = this.#pod;
    const grace = gracePeriodSeconds(pod);
    const ip = o.sandbox !== undefined ? await this.#sandboxIp(o.sandbox.id).catch(() => '') : '';
    const running = [...o.byName.values()].flatMap((list) => list.filter((c) => c.state === 'running' || c.state === 'created'));
    if (running.length > 0) {
      const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
      await Promise.all(
        running.map((s) => {
          const spec = specs.find((c) => c.name === s.name);
          if (spec !== undefined) this.#d.events.pod(pod, 'Normal', 'Killing', `Stopping container ${s.name}`, fieldPath(spec, (pod.spec?.initContainers ?? []).includes(spec)));
          return this.#kill(spec, s, grace, ip);
        }),
      );
    }
    this.#stopProbesExcept(new Set());
    for (const s of o.sandboxes) if (s.state === 'ready') await this.#d.runtime.stopPodSandbox(s.id);
    const after = running.length > 0 ? await this.#observe() : o;
    if (!this.#gone) {
      this.#report(after, ip, true);
      if (!this.#confirmed) {
        this.#confirmed = true;
        this.#log.info('pod stopped; confirming its deletion');
        this.#d.deletions.confirmDeleted({ namespace: pod.metadata.namespace, name: pod.metadata.name, uid: this.uid });
      }
      return undefined;
    }
    for (const list of after.byName.values()) for (const c of list) await this.#d.runtime.removeContainer(c.id);
    for (const s of after.sandboxes) await this.#d.runtime.removePodSandbox(s.id);
    await this.#d.volumes.tearDown(this.uid);
    await rm(join(this.#d.logsDir, `${pod.metadata.namespace}_${pod.metadata.name}_${this.uid}`), { recursive: true, force: true });
    this.#d.events.forget(this.uid);
    this.#finished = true;
    this.#log.info('pod removed');
    this.#d.removed(this.uid);
    return undefined;
  }

  /** Reports the status if it differs from what was reported (or, after a restart, from the cloud's copy). */
  #report(o: Observed, sandboxIp: string | undefined, terminating = false): void {
    if (this.#stopped) return;
    const pod = this.#pod;
    const node = this.#d.node();
    const view = (c: Container): ContainerView => {
      const list = o.byName.get(c.name) ?? [];
      const current = list[0];
      const probes = current !== undefined ? this.#probes.get(current.id) : undefined;
      return {
        spec: c,
        ...(current !== undefined ? { current } : {}),
        ...(list[1] !== undefined ? { previous: list[1] } : {}),
        ...(this.#waiting.has(c.name) && current?.state !== 'running' ? { waiting: this.#waiting.get(c.name)! } : {}),
        ready: probes?.ready ?? (c.readinessProbe === undefined && (c.startupProbe === undefined || current?.state === 'running')),
        started: probes?.started ?? true,
      };
    };
    const status = computePodStatus({
      pod,
      initContainers: (pod.spec?.initContainers ?? []).map(view),
      containers: (pod.spec?.containers ?? []).map(view),
      podIps: this.#rejected !== undefined ? [] : sandboxIp !== undefined && sandboxIp !== '' ? [sandboxIp] : sandboxIp === undefined ? [] : [...node.hostIps],
      hostIps: node.hostIps,
      ...(this.#startTime !== undefined ? { startTime: this.#startTime } : {}),
      runtimeName: this.#d.runtimeName,
      ...(this.#rejected !== undefined ? { rejected: this.#rejected } : {}),
      terminating,
      ...(this.#lastStatus !== undefined ? { previous: this.#lastStatus } : {}),
      now: new Date(),
    });
    // A pod keeps its IP in its status after its sandbox is stopped, as with the kubelet.
    if (status.podIP === undefined && this.#rejected === undefined && this.#lastStatus?.podIP !== undefined) {
      status.podIP = this.#lastStatus.podIP;
      status.podIPs = this.#lastStatus.podIPs ?? [{ ip: this.#lastStatus.podIP }];
    }
    this.#lastStatus = status;
    const json = JSON.stringify(status);
    if (json === this.#lastReported) return;
    const first = this.#lastReported === undefined;
    this.#lastReported = json;
    // After an edge restart the cloud may already hold exactly this.
    if (first && JSON.stringify(pod.status) === json) return;
    this.#log.debug('reporting pod status', { phase: status.phase });
    this.#d.statuses.put({ op: 'status', kind: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name, status: status as Record<string, unknown> });
  }
}

function fieldPath(c: Container, init: boolean): string {
  return `spec.${init ? 'initContainers' : 'containers'}{${c.name}}`;
}

/** `10s`, `2m40s`, as Go prints durations in back-off messages. */
function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Reads a container's termination message (what it wrote to terminationMessagePath). */
export async function readTerminationMessage(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined || text === '' ? undefined : text.slice(0, 4096);
}
