import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import type { Runtime } from './runtime.ts';

/** `--runtime`: `cri` (containerd or another CRI runtime), `process`, or `auto` (CRI when its endpoint answers). */
export type RuntimeMode = 'auto' | 'cri' | 'process';
export const RUNTIME_MODES: readonly RuntimeMode[] = ['auto', 'cri', 'process'];

/** The CRI endpoint the kubelet defaults to: containerd's. */
export const DEFAULT_CRI_ENDPOINT = 'unix:///run/containerd/containerd.sock';

/** Options of {@link openRuntime}. */
export interface OpenRuntimeOptions {
  readonly mode: RuntimeMode;
  /** Start (or adopt) a containerd of the edge's own under `<data-dir>/containerd` and use it. @default false */
  readonly managedContainerd?: boolean;
  /** The CRI endpoint, `unix:///run/containerd/containerd.sock`. */
  readonly endpoint: string;
  /** The edge's data dir (the process runtime keeps its state in `process-runtime/`). */
  readonly dataDir: string;
  /** kedge's version, reported by the process runtime as its own. */
  readonly kedgeVersion: string;
  readonly log: Logger;
  /** How long `cri` waits for the endpoint to answer (`auto` asks once). @default 30_000 */
  readonly criWaitMs?: number;
  readonly signal?: AbortSignal;
}

/** The runtime Edged uses, and what the Node reports as `nodeInfo.containerRuntimeVersion`. */
export interface OpenedRuntime {
  readonly runtime: Runtime;
  /** `containerd://1.6.20`, `process://0.1.0`: the kubelet's format. */
  readonly versionString: string;
  /** Settles once a managed containerd has stopped after `signal` aborted (at once without one). */
  readonly done: Promise<void>;
}

/**
 * Picks and opens the container runtime: `cri` insists on the endpoint (waiting for it a while,
 * as a runtime may start after the edge), `process` never looks at it, and `auto` uses CRI when
 * the endpoint answers right away and processes otherwise. A managed containerd is started first
 * and stopped when `signal` aborts. The CRI client (gRPC) is loaded only when it is used: a
 * gateway running processes does not carry it.
 * @throws {EdgeError} `EDGE_RUNTIME_UNAVAILABLE` when `cri` is asked for and the endpoint never
 * answers; `EDGE_CONTAINERD_FAILED` when a managed containerd cannot be started
 */
export async function openRuntime(o: OpenRuntimeOptions): Promise<OpenedRuntime> {
  let endpoint = o.endpoint;
  let done: Promise<void> = Promise.resolve();
  const containerdLifetime = new AbortController();
  const stop = (): void => containerdLifetime.abort();
  if (o.managedContainerd === true) {
    const { ManagedContainerd } = await import('../containerd/managed.ts');
    const containerd = new ManagedContainerd({ dir: join(o.dataDir, 'containerd'), log: o.log.child({ component: 'containerd' }) });
    o.signal?.addEventListener('abort', stop, { once: true });
    await containerd.start(containerdLifetime.signal);
    endpoint = containerd.endpoint;
    done = containerd.done.finally(() => o.signal?.removeEventListener('abort', stop));
  }
  try {
    if (o.mode !== 'process') {
      const { CriRuntime } = await import('./cri/cri-runtime.ts');
      const cri = new CriRuntime({ endpoint });
      const deadline = Date.now() + (o.mode === 'cri' ? (o.criWaitMs ?? 30_000) : 0);
      let lastError: unknown;
      for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
        try {
          const v = await cri.version({ timeoutMs: 2_000 });
          o.log.info('container runtime: CRI', { endpoint, runtime: v.name, version: v.version, api: v.apiVersion });
          return { runtime: cri, versionString: `${v.name}://${v.version}`, done };
        } catch (err) {
          lastError = err;
        }
        if (Date.now() >= deadline || o.signal?.aborted === true) break;
        await delay(wait, undefined, o.signal !== undefined ? { signal: o.signal } : {}).catch(() => undefined);
      }
      cri.close();
      if (o.mode === 'cri') throw new EdgeError('EDGE_RUNTIME_UNAVAILABLE', `the container runtime at ${endpoint} does not answer: ${describeError(lastError)}`, { cause: lastError });
      o.log.info('container runtime: processes (no CRI runtime answers)', { code: 'EDGE_RUNTIME_UNAVAILABLE', endpoint, err: describeError(lastError) });
    }
    const { ProcessRuntime } = await import('./process/process-runtime.ts');
    const runtime = await ProcessRuntime.open({ stateDir: join(o.dataDir, 'process-runtime'), version: o.kedgeVersion, log: o.log.child({ runtime: 'process' }) });
    if (o.mode === 'process') o.log.info('container runtime: processes');
    return { runtime, versionString: `process://${o.kedgeVersion}`, done };
  } catch (err) {
    stop();
    await done;
    throw err;
  }
}
