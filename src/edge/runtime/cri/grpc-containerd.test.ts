// The gRPC client against a real gRPC server: a test containerd, supervised with a short interval
// so that a containerd killed under the client comes back within the test.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { silentLogger } from '../../../log/logger.ts';
import { ManagedContainerd } from '../../containerd/managed.ts';
import { cleanUpContainerdDir, removeAllSandboxes } from '../../containerd/testing.ts';
import { EdgeError } from '../../errors.ts';
import { CriRuntime } from './cri-runtime.ts';
import { criServices, GrpcChannel, GrpcStatus, hasGrpcStatus } from './grpc.ts';

const run = promisify(execFile);

describe('the gRPC client against containerd', { timeout: 120_000 }, () => {
  let dir: string;
  let containerd: ManagedContainerd;
  const lifetime = new AbortController();
  let rt: CriRuntime;
  /** A registry that accepts connections and never answers: pulls from it hang. */
  let blackhole: Server;
  const held: Socket[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kedge-grpc-ctd-'));
    containerd = new ManagedContainerd({ dir: join(dir, 'containerd'), log: silentLogger(), superviseIntervalMs: 100 });
    await containerd.start(lifetime.signal);
    rt = new CriRuntime({ endpoint: containerd.endpoint, pullTimeoutMs: 500 });
    blackhole = createServer((s) => held.push(s.on('error', () => undefined)));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    rt.close();
    for (const s of held) s.destroy();
    blackhole.close();
    await removeAllSandboxes(containerd.endpoint).catch(() => undefined);
    lifetime.abort();
    await containerd.done;
    await cleanUpContainerdDir(join(dir, 'containerd'));
    await rm(dir, { recursive: true, force: true });
  });

  const hanging = (): string => `127.0.0.1:${(blackhole.address() as { port: number }).port}/kedge/never:1`;

  it('a call past its deadline fails as DEADLINE_EXCEEDED, on time', async () => {
    const started = performance.now();
    await assert.rejects(rt.pullImage(hanging()), (err: unknown) => err instanceof EdgeError && err.code === 'EDGE_IMAGE_PULL_FAILED' && hasGrpcStatus(err, GrpcStatus.DEADLINE_EXCEEDED));
    const took = performance.now() - started;
    assert.ok(took >= 450 && took < 10_000, `took ${took} ms`);
    // The connection is fine afterwards.
    assert.equal((await rt.version()).name, 'containerd');
  });

  it('an aborted pull is CANCELLED at once', async () => {
    const ac = new AbortController();
    const slow = new CriRuntime({ endpoint: containerd.endpoint, pullTimeoutMs: 60_000 });
    try {
      const pull = slow.pullImage(hanging(), ac.signal);
      await delay(100);
      const started = performance.now();
      ac.abort();
      await assert.rejects(pull, (err: unknown) => err instanceof EdgeError && hasGrpcStatus(err, GrpcStatus.CANCELLED));
      assert.ok(performance.now() - started < 5_000, 'long before the 60 s pull timeout');
    } finally {
      slow.close();
    }
  });

  it('NOT_FOUND from containerd is EDGE_RUNTIME_NOT_FOUND; stop and remove of what is gone succeed', async () => {
    await assert.rejects(rt.containerStatus('0'.repeat(64)), (err: unknown) => err instanceof EdgeError && err.code === 'EDGE_RUNTIME_NOT_FOUND' && hasGrpcStatus(err, GrpcStatus.NOT_FOUND));
    await rt.stopContainer('0'.repeat(64), 1);
    await rt.removePodSandbox('0'.repeat(64));
  });

  it('a socket that is not there is EDGE_RUNTIME_UNAVAILABLE', async () => {
    const missing = new CriRuntime({ endpoint: `unix://${join(dir, 'no-such.sock')}` });
    try {
      await assert.rejects(missing.version(), (err: unknown) => err instanceof EdgeError && err.code === 'EDGE_RUNTIME_UNAVAILABLE' && /ENOENT/.test(err.message));
    } finally {
      missing.close();
    }
  });

  it('containerd restarted between two calls: the second call reconnects', async () => {
    assert.equal((await rt.version()).name, 'containerd');
    const pid = Number((await readFile(containerd.paths.pidFile, 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    // While it is down, calls fail as UNAVAILABLE (not hang).
    await waitFor(async () => {
      try {
        await rt.version({ timeoutMs: 1_000 });
        return false;
      } catch (err) {
        return err instanceof EdgeError && err.code === 'EDGE_RUNTIME_UNAVAILABLE';
      }
    });
    // The supervisor starts a new containerd on the same socket; a separate channel watches for it,
    // so that the runtime's own next call is the first one after the restart.
    await waitFor(async () => {
      const next = Number((await readFile(containerd.paths.pidFile, 'utf8').catch(() => '')).trim());
      if (next === pid || next === 0) return false;
      const probe = new GrpcChannel(containerd.endpoint, 'probe');
      try {
        await probe.unary(criServices().runtime, 'Version', { version: 'v1' }, { timeoutMs: 1_000 });
        return true;
      } catch {
        return false;
      } finally {
        probe.close();
      }
    });
    assert.equal((await rt.version()).name, 'containerd');
    assert.equal((await rt.status()).runtimeReady, true);
  });

  it('the CRI path loads neither grpc-js nor protobufjs, and a process with an idle connection exits by itself', async () => {
    const src = (p: string): string => JSON.stringify(fileURLToPath(new URL(p, import.meta.url)));
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(s, c, next) { const r = next(s, c); loaded.push(r.url); return r; } });
      const { CriRuntime } = await import(${src('./cri-runtime.ts')});
      await import(${src('./image-import.ts')});
      await import(${src('../../containerd/managed.ts')});
      await import(${src('../select.ts')});
      const rt = new CriRuntime({ endpoint: ${JSON.stringify(containerd.endpoint)} });
      const v = await rt.version();
      const { createRequire } = await import('node:module');
      const all = [...loaded, ...Object.keys(createRequire(import.meta.url).cache)];
      console.log(JSON.stringify({ name: v.name, heavy: all.filter((u) => /node_modules\\/(@grpc|protobufjs|@protobufjs)\\//.test(u)), http2: process.moduleLoadList.includes('NativeModule http2') }));
      // No rt.close(): the idle connection must not keep the process alive.
    `;
    const started = performance.now();
    const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { timeout: 20_000 });
    const r = JSON.parse(stdout) as { name: string; heavy: string[]; http2: boolean };
    assert.equal(r.name, 'containerd');
    assert.deepEqual(r.heavy, []);
    assert.equal(r.http2, true, 'the check sees what was loaded');
    assert.ok(performance.now() - started < 15_000);
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await delay(50);
  }
}
