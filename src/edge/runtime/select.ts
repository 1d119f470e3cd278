import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import { CriRuntime } from './cri/cri-runtime.ts';
import { ProcessRuntime } from './process/process-runtime.ts';
import type { Runtime } from './runtime.ts';

/** `--runtime`: `cri` (containerd or another CRI runtime), `process`, or `auto` (CRI when its endpoint answers). */
export type RuntimeMode = 'auto' | 'cri' | 'process';
export const RUNTIME_MODES: readonly RuntimeMode[] = ['auto', 'cri', 'process'];

/** The CRI endpoint the kubelet defaults to: containerd's. */
export const DEFAULT_CRI_ENDPOINT = 'unix:///run/containerd/containerd.sock';

/** Options of {@link openRuntime}. */
export interface OpenRuntimeOptions {
  readonly mode: RuntimeMode;
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
}

/**
 * Picks and opens the container runtime: `cri` insists on the endpoint (waiting for it a while,
 * as a runtime may start after the edge), `process` never looks at it, and `auto` uses CRI when
 * the endpoint answers right away and processes otherwise.
 * @throws {EdgeError} `EDGE_RUNTIME_UNAVAILABLE` when `cri` is asked for and the endpoint never answers
 */
export async function openRuntime(o: OpenRuntimeOptions): Promise<OpenedRuntime> {
  if (o.mode !== 'process') {
    const cri = new CriRuntime({ endpoint: o.endpoint });
    const deadline = Date.now() + (o.mode === 'cri' ? (o.criWaitMs ?? 30_000) : 0);
    let lastError: unknown;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        const v = await cri.version({ timeoutMs: 2_000 });
        o.log.info('container runtime: CRI', { endpoint: o.endpoint, runtime: v.name, version: v.version, api: v.apiVersion });
        return { runtime: cri, versionString: `${v.name}://${v.version}` };
      } catch (err) {
        lastError = err;
      }
      if (Date.now() >= deadline || o.signal?.aborted === true) break;
      await delay(wait, undefined, o.signal !== undefined ? { signal: o.signal } : {}).catch(() => undefined);
    }
    cri.close();
    if (o.mode === 'cri') throw new EdgeError('EDGE_RUNTIME_UNAVAILABLE', `the container runtime at ${o.endpoint} does not answer: ${describeError(lastError)}`, { cause: lastError });
    o.log.info('container runtime: processes (no CRI runtime answers)', { code: 'EDGE_RUNTIME_UNAVAILABLE', endpoint: o.endpoint, err: describeError(lastError) });
  }
  const runtime = await ProcessRuntime.open({ stateDir: join(o.dataDir, 'process-runtime'), version: o.kedgeVersion, log: o.log.child({ runtime: 'process' }) });
  if (o.mode === 'process') o.log.info('container runtime: processes');
  return { runtime, versionString: `process://${o.kedgeVersion}` };
}
