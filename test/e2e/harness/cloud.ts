import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueClientCertificate, loadCa } from '../../../src/pki/index.ts';
import { apiRequest, openWatch, probeReadyz, readKubeconfig, type ApiRequest, type ApiResponse, type ClientIdentity, type KubeconfigCredentials, type RawWatch } from './https.ts';
import { kubectl, spawnKubectl, type KubectlOptions, type KubectlResult, type KubectlStream, type KubectlVersion } from './kubectl.ts';

/** The repository root, found from this file so tests run from any working directory. */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
/** The kedge command under test: this checkout's, unless KEDGE_E2E_BIN names another build. */
const KEDGE_BIN = process.env['KEDGE_E2E_BIN'] ?? join(REPO_ROOT, 'bin', 'kedge');

/** How long a start may take before the harness gives up (the first start creates a CA). */
const START_TIMEOUT_MS = 60_000;
/** How long a SIGTERM may take before the harness escalates to SIGKILL and fails the stop. */
const STOP_TIMEOUT_MS = 15_000;

/** Asks the kernel for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Options of {@link KedgeCloud.start}. */
export interface CloudStartOptions {
  /** Extra flags for `kedge cloud`. */
  args?: readonly string[];
}

/**
 * One `kedge cloud` process on a free loopback port with a temporary data dir, started the way a
 * user starts it (`bin/kedge cloud`), and restartable on the same data dir and port. Its stderr
 * (JSON log lines) is kept across restarts so a failing test can print it.
 */
export class KedgeCloud {
  readonly dataDir: string;
  #port: number;
  #args: readonly string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';
  #generation = 0;
  #credentials: KubeconfigCredentials | undefined;

  private constructor(dataDir: string, args: readonly string[]) {
    this.dataDir = dataDir;
    // The first start lets the kernel pick the port (no probe-then-bind race); restarts reuse it.
    this.#port = 0;
    this.#args = args;
  }

  /** Starts a fresh cloud and resolves once `/readyz` answers 200 and the kubeconfig is written. */
  static async start(options: CloudStartOptions = {}): Promise<KedgeCloud> {
    const dataDir = await mkdtemp(join(tmpdir(), 'kedge-e2e-'));
    const cloud = new KedgeCloud(dataDir, options.args ?? []);
    try {
      await cloud.#launch();
    } catch (err) {
      await cloud.dispose();
      throw err;
    }
    return cloud;
  }

  /** The API's port (known once the first start is ready). */
  get port(): number {
    return this.#port;
  }

  /** `<data-dir>/kubeconfig`, the admin kubeconfig kedge writes. */
  get kubeconfigPath(): string {
    return join(this.dataDir, 'kubeconfig');
  }

  /** The server URL, CA and admin credential from the kubeconfig. */
  get credentials(): KubeconfigCredentials {
    if (this.#credentials === undefined) throw new Error('the cloud has not started');
    return this.#credentials;
  }

  get admin(): ClientIdentity {
    return this.credentials.admin;
  }

  /** Everything the server wrote to stderr, across restarts. */
  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async #launch(): Promise<void> {
    const generation = ++this.#generation;
    this.#log += `----- kedge cloud start #${generation} (port ${this.#port === 0 ? 'any' : this.#port}, data dir ${this.dataDir}) -----\n`;
    const logStart = this.#log.length;
    // Free hub and join ports unless a test pins them (later flags win), so clouds of tests running
    // side by side never collide on 10000/10002.
    const child = spawn(KEDGE_BIN, ['cloud', '--data-dir', this.dataDir, '--api-port', String(this.#port), '--bind-address', '127.0.0.1', '--hub-port', '0', '--join-port', '0', ...this.#args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: this.dataDir },
    });
    this.#child = child;
    // If the test process dies without running its hooks, the server must not outlive it.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (this.#log += s));
    child.stderr.on('data', (s: string) => (this.#log += s));
    this.#exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.#log += `----- kedge cloud start #${generation} exited (code ${code}, signal ${signal}) -----\n`;
        done();
      });
    });
    const spawned = await Promise.race([once(child, 'spawn').then(() => true), once(child, 'error').then(([e]) => e as Error)]);
    if (spawned !== true) throw new Error(`cannot run ${KEDGE_BIN}`, { cause: spawned });
    await this.#waitReady(logStart);
  }

  async #waitReady(logStart: number): Promise<void> {
    const started = Date.now();
    const fail = (why: string, cause?: unknown): Error => new Error(`kedge cloud ${why} (after ${Date.now() - started} ms); its log:\n${this.#log}`, { cause });
    let last: unknown;
    for (;;) {
      if (!this.running) throw fail('exited before it was ready');
      // The CLI reports a fatal start error as `kedge: <error>` on stderr.
      if (/^kedge: /m.test(this.#log.slice(logStart))) throw fail('reported a fatal error instead of becoming ready');
      try {
        await this.#probe();
        return;
      } catch (err) {
        last = err;
      }
      if (Date.now() - started > START_TIMEOUT_MS) throw fail('did not become ready', last);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ready means: the kubeconfig names this server's port, and `/readyz` answers 200 `ok` there. */
  async #probe(): Promise<void> {
    if (!existsSync(this.kubeconfigPath)) throw new Error('no kubeconfig yet');
    const creds = await readKubeconfig(this.kubeconfigPath);
    const port = Number(new URL(creds.server).port);
    if (this.#port === 0) this.#port = port;
    else if (port !== this.#port) throw new Error(`kubeconfig names ${creds.server}, not port ${this.#port}`);
    const res = await probeReadyz(this.#port);
    if (res.status !== 200 || res.body.trim() !== 'ok') throw new Error(`/readyz answered ${res.status} ${res.body.slice(0, 200)}`);
    this.#credentials = creds;
  }

  /** Stops with SIGTERM and waits for the exit (SIGKILL and an error if it hangs). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
    if (child.signalCode === 'SIGKILL') throw new Error(`kedge cloud did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
  }

  /** Crashes the server with SIGKILL (`kill -9`): no shutdown code runs. */
  async crash(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** The exit code of the last run, once it has exited. */
  get exitCode(): number | null {
    return this.#child?.exitCode ?? null;
  }

  /**
   * Starts again on the same data dir and port (after {@link stop} or {@link crash}; a running
   * server is stopped first), optionally with other extra flags from now on.
   */
  async restart(options: CloudStartOptions = {}): Promise<void> {
    if (this.running) await this.stop();
    if (options.args !== undefined) this.#args = options.args;
    await this.#launch();
  }

  /** Stops the server and removes the data dir; safe to call more than once. */
  async dispose(): Promise<void> {
    try {
      if (this.running) await this.stop().catch(() => this.crash());
    } finally {
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }

  /** A raw request as the admin unless another identity is given. */
  request(r: Omit<ApiRequest, 'identity'> & { identity?: ClientIdentity }): Promise<ApiResponse> {
    return apiRequest(this.credentials, { ...r, identity: r.identity ?? this.admin });
  }

  /** A raw watch as the admin unless another identity is given. */
  watch(path: string, identity: ClientIdentity = this.admin): Promise<RawWatch> {
    return openWatch(this.credentials, identity, path);
  }

  /** Runs kubectl `version` against this cloud's admin kubeconfig. */
  kubectl(version: KubectlVersion, args: readonly string[], options: Omit<KubectlOptions, 'kubeconfig' | 'cacheDir'> = {}): Promise<KubectlResult> {
    return kubectl(version, args, { ...options, kubeconfig: this.kubeconfigPath, cacheDir: join(this.dataDir, `kubectl-cache-${version}`) });
  }

  /** Like {@link kubectl}, but fails the test when kubectl exits non-zero; returns stdout. */
  async kubectlOk(version: KubectlVersion, args: readonly string[], options: Omit<KubectlOptions, 'kubeconfig' | 'cacheDir'> = {}): Promise<string> {
    const r = await this.kubectl(version, args, options);
    if (r.code !== 0) throw new Error(`kubectl.${version} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** `kubectl apply -f -` of the given manifests (joined as one multi-document stream); returns stdout. */
  apply(version: KubectlVersion, ...manifests: string[]): Promise<string> {
    return this.kubectlOk(version, ['apply', '-f', '-'], { stdin: manifests.join('---\n') });
  }

  /** Starts a long-running kubectl (e.g. `get -w`) against this cloud. */
  spawnKubectl(version: KubectlVersion, args: readonly string[]): KubectlStream {
    return spawnKubectl(version, args, { kubeconfig: this.kubeconfigPath, cacheDir: join(this.dataDir, `kubectl-cache-${version}`) });
  }

  /**
   * A client certificate for `system:node:<name>` (group `system:nodes`), signed by the cluster CA
   * the way the join service would sign it. The CA key is found in `<data-dir>/pki/` as the
   * private key that belongs to the kubeconfig's CA certificate, whatever the file is called.
   */
  async nodeIdentity(name: string): Promise<ClientIdentity> {
    const pki = join(this.dataDir, 'pki');
    const caPem = this.credentials.caPem;
    for (const file of await listFiles(pki)) {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (!text.includes('PRIVATE KEY')) continue;
      const ca = await loadCa(caPem, text).catch(() => undefined);
      if (ca === undefined) continue;
      const issued = await issueClientCertificate(ca, { commonName: `system:node:${name}`, organizations: ['system:nodes'] });
      return { certPem: issued.certPem, keyPem: issued.keyPem };
    }
    throw new Error(`no private key under ${pki} belongs to the kubeconfig's CA`);
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
