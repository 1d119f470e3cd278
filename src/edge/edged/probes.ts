import { connect } from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.d.ts';
import { describeError } from '../../errors/platform-error.ts';
import type { Runtime } from '../runtime/runtime.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade reads every export, and
// http's WebSocket getters load undici and http2, about 10 MB an edge node never uses.
const { request: httpRequest } = process.getBuiltinModule('node:http');

/** One probe's verdict. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Why it failed, for the Unhealthy event. */
  readonly output: string;
}

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** What {@link ContainerProbes} reports to the pod worker. */
export interface ProbeListener {
  /** `started` or `ready` changed: the pod's status changes. */
  changed(): void;
  /** A probe failed (for the Unhealthy event). */
  failed(kind: ProbeKind, output: string): void;
  /** The liveness or startup probe failed `failureThreshold` times: restart the container. */
  unhealthy(kind: 'liveness' | 'startup'): void;
}

/** Options of {@link ContainerProbes}. */
export interface ContainerProbesOptions {
  readonly runtime: Runtime;
  readonly containerId: string;
  readonly container: Container;
  /** Where httpGet and tcpSocket probes connect when they name no host: the pod's IP. */
  readonly podIp: string;
  readonly listener: ProbeListener;
  /** When the container started (ms): initial delays count from there. */
  readonly startedAt: number;
}

/**
 * The probes of one running container, as the kubelet's prober runs them: the startup probe until
 * it succeeds, then liveness and readiness, each on its own period with its thresholds. Results are
 * level state (`started`, `ready`) plus an edge (`unhealthy`) that makes the worker restart the
 * container. Timers only; no probe runs while another of the same kind is in flight.
 */
export class ContainerProbes {
  readonly #o: ContainerProbesOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;
  #started: boolean;
  #ready: boolean;

  constructor(options: ContainerProbesOptions) {
    this.#o = options;
    const c = options.container;
    this.#started = c.startupProbe === undefined;
    this.#ready = this.#started && c.readinessProbe === undefined;
  }

  /** Whether the container counts as started (its startup probe succeeded, or it has none). */
  get started(): boolean {
    return this.#started;
  }

  /** Whether it is ready (readiness succeeded `successThreshold` times, or it has no readiness probe). */
  get ready(): boolean {
    return this.#ready;
  }

  start(): void {
    const c = this.#o.container;
    if (c.startupProbe !== undefined) this.#loop('startup', c.startupProbe);
    else this.#afterStartup();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #afterStartup(): void {
    const c = this.#o.container;
    if (c.livenessProbe !== undefined) this.#loop('liveness', c.livenessProbe);
    if (c.readinessProbe !== undefined) this.#loop('readiness', c.readinessProbe);
    else if (!this.#ready) {
      this.#ready = true;
      this.#o.listener.changed();
    }
  }

  #loop(kind: ProbeKind, probe: Probe): void {
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    const successThreshold = Math.max(1, probe.successThreshold ?? 1);
    let successes = 0;
    let failures = 0;
    /** One probe; @returns whether this probe keeps running. */
    const run = async (): Promise<boolean> => {
      const r = await runProbe(probe, this.#o);
      if (this.#stopped) return false;
      if (r.ok) {
        failures = 0;
        successes++;
        if (successes < successThreshold) return true;
        if (kind === 'startup') {
          this.#started = true;
          this.#o.listener.changed();
          this.#afterStartup();
          return false;
        }
        if (kind === 'readiness' && !this.#ready) {
          this.#ready = true;
          this.#o.listener.changed();
        }
        return true;
      }
      successes = 0;
      failures++;
      this.#o.listener.failed(kind, r.output);
      if (failures < failureThreshold) return true;
      if (kind === 'readiness') {
        if (this.#ready) {
          this.#ready = false;
          this.#o.listener.changed();
        }
        return true;
      }
      // The container is restarted; this prober ends with it.
      this.stop();
      this.#o.listener.unhealthy(kind);
      return false;
    };
    const schedule = (delayMs: number): void => {
      if (this.#stopped) return;
      const t = setTimeout(() => {
        this.#timers.delete(t);
        void run().then((again) => {
          if (again) schedule(periodMs);
        });
      }, delayMs);
      t.unref();
      this.#timers.add(t);
    };
    const initialMs = Math.max(0, probe.initialDelaySeconds ?? 0) * 1000;
    schedule(Math.max(0, this.#o.startedAt + initialMs - Date.now()));
  }
}

/** Runs one probe of any handler type; never throws. */
export async function runProbe(probe: Probe, o: Pick<ContainerProbesOptions, 'runtime' | 'containerId' | 'container' | 'podIp'>): Promise<ProbeResult> {
  const timeoutSeconds = Math.max(1, probe.timeoutSeconds ?? 1);
  try {
    if (probe.exec !== undefined) {
      const r = await o.runtime.execSync(o.containerId, probe.exec.command ?? [], timeoutSeconds);
      return { ok: r.exitCode === 0, output: `${r.stdout.toString()}${r.stderr.toString()}`.trim() || `command exited with ${r.exitCode}` };
    }
    if (probe.httpGet !== undefined) {
      const h = probe.httpGet;
      const port = resolvePort(h.port, o.container);
      const host = h.host ?? o.podIp;
      const path = h.path ?? '/';
      const headers: Record<string, string> = { 'User-Agent': 'kube-probe/kedge', Accept: '*/*' };
      for (const x of h.httpHeaders ?? []) headers[x.name] = x.value;
      return await httpProbe((h.scheme ?? 'HTTP') === 'HTTPS', host, port, path, headers, timeoutSeconds * 1000);
    }
    if (probe.tcpSocket !== undefined) {
      const port = resolvePort(probe.tcpSocket.port, o.container);
      return await tcpProbe(probe.tcpSocket.host ?? o.podIp, port, timeoutSeconds * 1000);
    }
    return { ok: true, output: '' };
  } catch (err) {
    return { ok: false, output: describeError(err) };
  }
}

/** A named port (`http`) → its number, from the container's ports. */
function resolvePort(port: number | string, c: Container): number {
  if (typeof port === 'number') return port;
  const n = Number(port);
  if (Number.isInteger(n) && n > 0) return n;
  const named = c.ports?.find((p) => p.name === port);
  if (named === undefined) throw new Error(`no port named ${port} in container ${c.name}`);
  return named.containerPort;
}

function httpProbe(tls: boolean, host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // node:https only for a probe with scheme HTTPS, which few pods have.
    const req = (tls ? process.getBuiltinModule('node:https').request : httpRequest)({ host, port, path, method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      // The kubelet counts 2xx and 3xx as success.
      resolve(status >= 200 && status < 400 ? { ok: true, output: '' } : { ok: false, output: `HTTP probe failed with statuscode: ${status}` });
    });
    req.on('timeout', () => {
      req.destroy(new Error(`Get "${tls ? 'https' : 'http'}://${host}:${port}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`));
    });
    req.on('error', (err) => resolve({ ok: false, output: err.message }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, output: '' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (err) => resolve({ ok: false, output: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}
