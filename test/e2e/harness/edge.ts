/**
 * Edge nodes for the e2e tests: a `kedge cloud` with fixed hub and join ports (so it can be killed
 * and restarted in place), join tokens from `kedge token`, and `kedge edge join` / `kedge edge`
 * processes on temporary data dirs that can be crashed with SIGKILL and started again. Everything
 * runs as the real binaries; the edge's own log lines ("in sync with the cloud") carry the byte
 * counts the tests check.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, afterEach, type SuiteContext, type TestContext } from 'node:test';
import { freePort, KedgeCloud, REPO_ROOT } from './cloud.ts';
import type { ClientIdentity } from './https.ts';
import { eventually } from './wait.ts';

const KEDGE_BIN = process.env['KEDGE_E2E_BIN'] ?? join(REPO_ROOT, 'bin', 'kedge');
const STOP_TIMEOUT_MS = 15_000;

/** A cloud whose hub and join service listen on ports chosen once and kept across restarts. */
export interface EdgeCloud {
  readonly cloud: KedgeCloud;
  readonly hubPort: number;
  readonly joinPort: number;
}

/**
 * Starts a `kedge cloud` for edge tests (stopped after the file's tests). `args` are extra flags,
 * e.g. a short `--node-monitor-grace-period`.
 */
export async function useEdgeCloud(args: readonly string[] = []): Promise<EdgeCloud> {
  const hubPort = await freePort();
  const joinPort = await freePort();
  const cloud = await KedgeCloud.start({ args: ['--hub-port', String(hubPort), '--join-port', String(joinPort), ...args] });
  after(() => cloud.dispose());
  afterEach((ctx) => dumpOnFailure(ctx, 'kedge cloud', cloud.log));
  return { cloud, hubPort, joinPort };
}

/** Runs `kedge <args>` to completion. */
export async function runKedge(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(KEDGE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Creates a join token on `cloud` (`kedge token create`); returns it. */
export async function createToken(c: EdgeCloud, ttl = '1h'): Promise<string> {
  const r = await runKedge(['token', 'create', '--data-dir', c.cloud.dataDir, '--ttl', ttl], { HOME: c.cloud.dataDir });
  if (r.code !== 0) throw new Error(`kedge token create exited ${r.code}: ${r.stderr}`);
  const token = r.stdout.trim().split('\n').at(-1)?.trim() ?? '';
  if (!/^[0-9a-f]{64}\.[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token)) throw new Error(`kedge token create printed no token: ${r.stdout}`);
  return token;
}

/** What an edge logged when it got in sync: the inventory exchange and its byte counts. */
export interface EdgeSync {
  readonly inventoryItems: number;
  readonly received: number;
  readonly applied: number;
  readonly ms: number;
  readonly wireBytesIn: number;
  readonly wireBytesOut: number;
  readonly frameBytesIn: number;
  readonly frameBytesOut: number;
  /** When the line was seen by the test (ms since the epoch). */
  readonly seenAt: number;
}

/** Options of {@link KedgeEdge.join}. */
export interface EdgeJoinOptions {
  readonly nodeName: string;
  readonly token: string;
  readonly labels?: readonly string[];
  /** Extra flags for every start. */
  readonly args?: readonly string[];
}

/**
 * One edge node process: joined with `kedge edge join`, restarted with `kedge edge`. Its stderr
 * (JSON log lines) is kept across restarts and printed when a test fails.
 */
export class KedgeEdge {
  readonly dataDir: string;
  readonly nodeName: string;
  readonly metaServerPort: number;
  readonly #c: EdgeCloud;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';
  #generation = 0;
  readonly #syncs: EdgeSync[] = [];
  #partial = '';

  private constructor(c: EdgeCloud, dataDir: string, nodeName: string, metaServerPort: number, args: readonly string[]) {
    this.#c = c;
    this.dataDir = dataDir;
    this.nodeName = nodeName;
    this.metaServerPort = metaServerPort;
    this.#args = args;
  }

  /**
   * Joins a new edge node (a fresh data dir) and resolves once it is in sync with the cloud.
   * The process is stopped and its data dir removed after the file's tests.
   */
  static async join(c: EdgeCloud, options: EdgeJoinOptions): Promise<KedgeEdge> {
    const dataDir = await mkdtemp(join(tmpdir(), 'kedge-e2e-edge-'));
    const edge = new KedgeEdge(c, dataDir, options.nodeName, await freePort(), options.args ?? []);
    after(() => edge.dispose());
    afterEach((ctx) => dumpOnFailure(ctx, `kedge edge ${options.nodeName}`, edge.log));
    const labels = options.labels !== undefined && options.labels.length > 0 ? ['--labels', options.labels.join(',')] : [];
    edge.#launch(['join', '--cloud', '127.0.0.1', '--join-port', String(c.joinPort), '--token', options.token, '--node-name', options.nodeName, ...labels]);
    await edge.waitForSync(0, 30_000);
    // In sync comes before the container runtime opens (a managed containerd may still be
    // starting): tests that import images or run pods next need the whole edge.
    await eventually(
      () => {
        if (!edge.running) throw new Error(`the edge exited:\n${edge.log.split('\n').slice(-30).join('\n')}`);
        assert.ok(edge.log.slice(edge.log.lastIndexOf('----- kedge edge start #')).includes(' is running; MetaServer on '), 'not running yet');
      },
      { timeoutMs: 60_000, intervalMs: 25, what: `edge ${options.nodeName} to be running` },
    );
    return edge;
  }

  /** Everything the edge wrote to stderr, across restarts. */
  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Every "in sync with the cloud" the edge logged, oldest first. */
  get syncs(): readonly EdgeSync[] {
    return this.#syncs;
  }

  /** The node's client certificate and key, as stored in the data dir. */
  async identity(): Promise<ClientIdentity> {
    const pem = await readFile(join(this.dataDir, 'edge-pki', 'node.pem'), 'utf8');
    const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(pem)?.[0];
    const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(pem)?.[0];
    if (cert === undefined || key === undefined) throw new Error(`no certificate and key in ${this.dataDir}/edge-pki/node.pem`);
    return { certPem: cert, keyPem: key };
  }

  #launch(sub: readonly string[]): void {
    const generation = ++this.#generation;
    this.#log += `----- kedge edge start #${generation} (${this.nodeName}, data dir ${this.dataDir}) -----\n`;
    // A free port for the EventBus too: several edges run side by side in one test file.
    const child = spawn(KEDGE_BIN, ['edge', ...sub, '--data-dir', this.dataDir, '--metaserver-port', String(this.metaServerPort), '--mqtt-port', '0', ...this.#args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: this.dataDir },
    });
    this.#child = child;
    this.#partial = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (this.#log += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => this.#onStderr(s));
    this.#exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.#log += `----- kedge edge start #${generation} exited (code ${code}, signal ${signal}) -----\n`;
        done();
      });
    });
  }

  #onStderr(chunk: string): void {
    this.#log += chunk;
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"in sync with the cloud"')) continue;
      try {
        const j = JSON.parse(line) as Omit<EdgeSync, 'seenAt'>;
        this.#syncs.push({ ...j, seenAt: Date.now() });
      } catch {
        // not a log line of ours
      }
    }
  }

  /** Resolves once the edge has logged more than `count` syncs; returns the newest. */
  async waitForSync(count = this.#syncs.length, timeoutMs = 20_000): Promise<EdgeSync> {
    return eventually(
      () => {
        if (this.#syncs.length > count) return this.#syncs.at(-1)!;
        if (!this.running) throw new Error(`the edge exited:\n${this.#log.split('\n').slice(-30).join('\n')}`);
        throw new Error(`${this.#syncs.length} syncs so far`);
      },
      { timeoutMs, intervalMs: 25, what: `edge ${this.nodeName} to be in sync` },
    );
  }

  /** Starts the joined edge again (`kedge edge --data-dir D`, no cloud flags). */
  start(): void {
    if (this.running) throw new Error('the edge is running');
    this.#launch([]);
  }

  /** `kill -9`: no shutdown code runs. */
  async crash(): Promise<void> {
    if (!this.running) return;
    this.#child!.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, and waits for the exit. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const child = this.#child!;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    try {
      await this.stop();
    } finally {
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }

  /**
   * What edge.db holds, read with a separate SQLite connection (the edge keeps writing in WAL
   * mode): `kind/namespace/name` → resourceVersion.
   */
  stored(): Map<string, string> {
    const db = new DatabaseSync(join(this.dataDir, 'edge.db'), { readOnly: true });
    try {
      const rows = db.prepare('SELECT kind, namespace, name, resource_version FROM meta_objects').all() as { kind: string; namespace: string; name: string; resource_version: string }[];
      return new Map(rows.map((r) => [`${r.kind}/${r.namespace}/${r.name}`, r.resource_version]));
    } finally {
      db.close();
    }
  }

  /** The stored object, parsed, or undefined. */
  storedObject(kind: string, namespace: string, name: string): Record<string, unknown> | undefined {
    const db = new DatabaseSync(join(this.dataDir, 'edge.db'), { readOnly: true });
    try {
      const row = db.prepare('SELECT value FROM meta_objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, namespace, name) as { value: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.value) as Record<string, unknown>);
    } finally {
      db.close();
    }
  }

  /** The cloud this edge joined. */
  get cloud(): EdgeCloud {
    return this.#c;
  }
}

function dumpOnFailure(ctx: TestContext | SuiteContext, what: string, log: string): void {
  const t = ctx as TestContext & { passed?: boolean; error?: unknown };
  if (t.passed !== false) return;
  const failure = t.error as { failureType?: string } | null;
  if (failure?.failureType === 'subtestsFailed') return;
  const lines = log.split('\n');
  console.error(`\n===== ${what} log for failed test "${t.fullName}" (last 200 of ${lines.length} lines) =====\n${lines.slice(-200).join('\n')}\n===== end of log =====`);
}
