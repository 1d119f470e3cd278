/**
 * The behaviour every {@link Runtime} must have, as a suite each implementation's test runs with
 * its own factory (containerd through CRI, the process runtime). Commands are POSIX `sh` and paths
 * inside containers are relative to the working directory, which is `/` in an image without one
 * and the container's root directory for the process runtime, so the same commands run on both.
 * Not used by production code.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { hasCode } from '../../errors/platform-error.ts';
import type { ContainerConfig, ContainerStatus, LogEntry, PodSandboxConfig, Runtime } from './runtime.ts';

/** What a runtime under test needs. */
export interface RuntimeUnderTest {
  readonly runtime: Runtime;
  /** An image with `sh`, `sleep`, `echo`, `cat` (busybox); ignored by the process runtime. */
  readonly image: string;
  /** Called after the suite. */
  dispose(): Promise<void>;
}

const security = { privileged: false, readOnlyRootFilesystem: false, capabilitiesAdd: [], capabilitiesDrop: [], noNewPrivileges: false, hostNetwork: true, hostPid: false, hostIpc: false };
const resources = { cpuPeriod: 100_000, cpuQuota: 0, cpuShares: 2, memoryLimitBytes: 0, oomScoreAdj: 0 };

/** Polls the container until `until` holds (containers exit on their own time). */
export async function waitForContainer(rt: Runtime, id: string, until: (s: ContainerStatus) => boolean, timeoutMs = 20_000): Promise<ContainerStatus> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    const s = await rt.containerStatus(id);
    if (until(s)) return s;
    if (Date.now() > deadline) assert.fail(`container ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await delay(wait);
  }
}

async function collect(it: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(`${e.stream}:${e.content.toString()}`);
  return out;
}

/** Registers the conformance tests for one runtime. */
export function runRuntimeConformance(name: string, factory: () => Promise<RuntimeUnderTest>): void {
  let under: RuntimeUnderTest | undefined;
  let dir = '';
  let n = 0;
  const setup = async (): Promise<{ rt: Runtime; image: string; sandbox: PodSandboxConfig; sandboxId: string; data: string }> => {
    if (under === undefined) {
      under = await factory();
      dir = await mkdtemp(join(tmpdir(), 'kedge-conformance-'));
    }
    const uid = `conformance-${process.pid}-${++n}`;
    const sandbox: PodSandboxConfig = {
      metadata: { name: `pod-${n}`, namespace: 'conformance', uid, attempt: 0 },
      hostname: `pod-${n}`,
      logDirectory: join(dir, uid),
      hostNetwork: true,
      hostPid: false,
      hostIpc: false,
      portMappings: [],
      labels: { 'conformance.kedge.io/pod': uid, 'conformance.kedge.io/suite': 'yes' },
      annotations: { note: 'kept as given' },
    };
    const sandboxId = await under.runtime.runPodSandbox(sandbox);
    const data = await mkdtemp(join(dir, 'data-'));
    return { rt: under.runtime, image: under.image, sandbox, sandboxId, data };
  };
  const container = (image: string, data: string, name: string, script: string, attempt = 0): ContainerConfig => ({
    name,
    attempt,
    image,
    command: ['sh', '-c', script],
    args: [],
    workingDir: '',
    env: [{ name: 'FOO', value: 'bar baz' }],
    mounts: [{ containerPath: '/data', hostPath: data, readOnly: false }],
    labels: { 'conformance.kedge.io/container': name },
    annotations: { 'io.kubernetes.container.restartCount': String(attempt) },
    logPath: `${name}/${attempt}.log`,
    stdin: false,
    stdinOnce: false,
    tty: false,
    resources,
    security,
  });

  test(`${name} conformance`, async (t) => {
    try {
      await t.test('reports its version and is ready', async () => {
        const { rt } = await setup();
        const v = await rt.version();
        assert.ok(v.name !== '' && v.version !== '');
        assert.equal((await rt.status()).runtimeReady, true);
      });

      await t.test('runs a container to completion with its env and mounts; exit code, times and CRI-format logs', async () => {
        const { rt, image, sandbox, sandboxId, data } = await setup();
        const id = await rt.createContainer(sandboxId, container(image, data, 'once', 'echo "$FOO" > data/env; echo out; echo err >&2; exit 3'), sandbox);
        assert.equal((await rt.containerStatus(id)).state, 'created');
        await rt.startContainer(id);
        const s = await waitForContainer(rt, id, (x) => x.state === 'exited');
        assert.equal(s.exitCode, 3);
        assert.equal(s.reason, 'Error');
        assert.equal(s.name, 'once');
        assert.equal(s.labels['conformance.kedge.io/container'], 'once');
        assert.equal(s.annotations['io.kubernetes.container.restartCount'], '0');
        assert.ok(s.startedAt > 0 && s.finishedAt >= s.startedAt, 'start and finish times');
        assert.equal(s.logPath, join(sandbox.logDirectory, 'once/0.log'));
        assert.equal(await readFile(join(data, 'env'), 'utf8'), 'bar baz\n');
        assert.deepEqual((await collect(rt.logs(id, {}))).sort(), ['stderr:err\n', 'stdout:out\n']);
        const raw = await readFile(s.logPath, 'utf8');
        assert.match(raw, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) F (out|err)$/m);
      });

      await t.test('exec in a running container; stop with a grace period lets it handle SIGTERM', async () => {
        const { rt, image, sandbox, sandboxId, data } = await setup();
        const script = 'trap "echo bye > data/term; exit 0" TERM; touch data/ready; while true; do sleep 1 & wait $!; done';
        const id = await rt.createContainer(sandboxId, container(image, data, 'server', script), sandbox);
        await rt.startContainer(id);
        await waitFor(() => existsSync(join(data, 'ready')));
        const r = await rt.execSync(id, ['sh', '-c', 'echo "$FOO"; echo oops >&2; exit 4'], 5);
        assert.deepEqual([r.exitCode, r.stdout.toString(), r.stderr.toString()], [4, 'bar baz\n', 'oops\n']);
        const session = await rt.exec(id, ['sh', '-c', 'cat; echo done'], { stdin: true, tty: false });
        let out = '';
        session.stdout.on('data', (d: Buffer) => (out += d.toString()));
        session.stdin!.write('typed\n');
        await waitFor(() => out.includes('typed'));
        session.close();
        await session.exitCode;
        await rt.stopContainer(id, 10);
        const s = await rt.containerStatus(id);
        assert.equal(s.state, 'exited');
        assert.equal(s.exitCode, 0, 'the trap ran');
        assert.equal(await readFile(join(data, 'term'), 'utf8'), 'bye\n');
        await rt.stopContainer(id, 10);
      });

      await t.test('exec: piped stdin ends with its input; stdout, stderr and the exit code apart; a closed session kills the command', async () => {
        const { rt, image, sandbox, sandboxId, data } = await setup();
        const id = await rt.createContainer(sandboxId, container(image, data, 'execs', 'touch data/ready; while true; do sleep 1; done'), sandbox);
        await rt.startContainer(id);
        await waitFor(() => existsSync(join(data, 'ready')));

        const cat = await run(rt, id, ['cat'], 'hello\n');
        assert.deepEqual(cat, { exitCode: 0, stdout: 'hello\n', stderr: '' }, 'cat ends when its stdin does');
        const wc = await run(rt, id, ['sh', '-c', 'wc -c'], Buffer.alloc(1024 * 1024, 'x'));
        assert.deepEqual([wc.exitCode, wc.stdout.trim(), wc.stderr], [0, String(1024 * 1024), ''], 'all of 1 MiB arrives, then EOF');
        const mixed = await run(rt, id, ['sh', '-c', 'echo out; echo err >&2; exit 7'], undefined);
        assert.deepEqual(mixed, { exitCode: 7, stdout: 'out\n', stderr: 'err\n' });

        // `exec` makes the shell the sleep, so the pid written is the process the session runs.
        const session = await rt.exec(id, ['sh', '-c', 'echo $$ > data/pid; exec sleep 300'], { stdin: true, tty: false });
        session.stdout.resume();
        session.stderr?.resume();
        await waitFor(() => existsSync(join(data, 'pid')));
        const pid = (await readFile(join(data, 'pid'), 'utf8')).trim();
        const alive = async (): Promise<boolean> => (await rt.execSync(id, ['sh', '-c', `kill -0 ${pid}`], 5)).exitCode === 0;
        assert.equal(await alive(), true);
        session.close();
        const code = await session.exitCode;
        assert.notEqual(code, 0, 'killed, not finished');
        const deadline = Date.now() + 10_000;
        while (await alive()) {
          if (Date.now() > deadline) assert.fail(`the command (pid ${pid}) outlived its session`);
          await delay(50);
        }
        await rt.stopContainer(id, 1);
      });

      await t.test('a container that ignores SIGTERM is killed when the grace period ends', async () => {
        const { rt, image, sandbox, sandboxId, data } = await setup();
        const id = await rt.createContainer(sandboxId, container(image, data, 'stubborn', 'trap "" TERM; touch data/ready; while true; do sleep 1; done'), sandbox);
        await rt.startContainer(id);
        // Signalled before the trap is set, the shell would just die.
        await waitFor(() => existsSync(join(data, 'ready')));
        const started = Date.now();
        await rt.stopContainer(id, 1);
        const s = await rt.containerStatus(id);
        assert.equal(s.state, 'exited');
        assert.ok(Date.now() - started >= 900, 'it waited for the grace period');
        assert.equal(s.exitCode, 137, 'SIGKILL');
      });

      await t.test('lists by labels; previous logs; stop and remove are idempotent; gone is NOT_FOUND', async () => {
        const { rt, image, sandbox, sandboxId, data } = await setup();
        const first = await rt.createContainer(sandboxId, container(image, data, 'restarts', 'echo first'), sandbox);
        await rt.startContainer(first);
        await waitForContainer(rt, first, (x) => x.state === 'exited');
        const second = await rt.createContainer(sandboxId, container(image, data, 'restarts', 'echo second; sleep 30', 1), sandbox);
        await rt.startContainer(second);
        await waitForContainer(rt, second, (x) => x.state === 'running');
        assert.deepEqual(await collect(rt.logs(second, { previous: true })), ['stdout:first\n']);
        await assert.rejects(collect(rt.logs(first, { previous: true })), (e) => hasCode(e, 'EDGE_RUNTIME_NOT_FOUND'));

        const sandboxes = await rt.listPodSandboxes({ 'conformance.kedge.io/pod': sandbox.metadata.uid });
        assert.equal(sandboxes.length, 1);
        assert.equal(sandboxes[0]!.id, sandboxId);
        assert.equal(sandboxes[0]!.state, 'ready');
        assert.deepEqual(sandboxes[0]!.metadata, sandbox.metadata);
        assert.equal(sandboxes[0]!.annotations['note'], 'kept as given');
        const containers = await rt.listContainers({ sandboxId });
        assert.deepEqual(containers.map((c) => [c.name, c.attempt, c.state]).sort(), [
          ['restarts', 0, 'exited'],
          ['restarts', 1, 'running'],
        ]);
        assert.equal((await rt.listContainers({ labels: { 'conformance.kedge.io/container': 'restarts' } })).length, 2);

        await rt.stopPodSandbox(sandboxId);
        assert.equal((await rt.containerStatus(second)).state, 'exited', 'stopping the sandbox stops its containers');
        assert.equal((await rt.podSandboxStatus(sandboxId)).state, 'notready');
        await rt.stopPodSandbox(sandboxId);
        await rt.removePodSandbox(sandboxId);
        await rt.removePodSandbox(sandboxId);
        await rt.removeContainer(second);
        await rt.stopContainer(second, 1);
        await assert.rejects(rt.containerStatus(second), (e) => hasCode(e, 'EDGE_RUNTIME_NOT_FOUND'));
        await assert.rejects(rt.podSandboxStatus(sandboxId), (e) => hasCode(e, 'EDGE_RUNTIME_NOT_FOUND'));
        assert.equal((await rt.listPodSandboxes({ 'conformance.kedge.io/pod': sandbox.metadata.uid })).length, 0);
      });
    } finally {
      if (under !== undefined) {
        for (const s of await under.runtime.listPodSandboxes({ 'conformance.kedge.io/suite': 'yes' })) {
          await under.runtime.stopPodSandbox(s.id);
          await under.runtime.removePodSandbox(s.id);
        }
        await under.dispose();
      }
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    }
  });
}

/** Runs a command with `input` on its stdin (then closed) and collects what it writes. */
async function run(rt: Runtime, id: string, cmd: readonly string[], input: string | Buffer | undefined): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const session = await rt.exec(id, cmd, { stdin: input !== undefined, tty: false });
  let stdout = '';
  let stderr = '';
  session.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  session.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (input !== undefined) session.stdin!.end(input);
  const timeout = setTimeout(() => session.close(), 20_000);
  try {
    return { exitCode: await session.exitCode, stdout, stderr };
  } finally {
    clearTimeout(timeout);
    session.close();
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail('timed out');
    await delay(10);
  }
}
