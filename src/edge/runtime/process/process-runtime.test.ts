import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../../errors/platform-error.ts';
import { silentLogger } from '../../../log/logger.ts';
import { runRuntimeConformance, waitForContainer } from '../conformance.ts';
import { isRunning } from './proc.ts';
import { ProcessRuntime } from './process-runtime.ts';

runRuntimeConformance('process', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'kedge-process-rt-'));
  const runtime = await ProcessRuntime.open({ stateDir, version: 'test', log: silentLogger() });
  return {
    runtime,
    image: 'ignored',
    dispose: async () => {
      runtime.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
});

test('process runtime: a process an earlier edge left running is stopped when the next one opens the state dir, never run twice', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'kedge-process-rt-'));
  try {
    const first = await ProcessRuntime.open({ stateDir, version: 'test', log: silentLogger() });
    const sandbox = { metadata: { name: 'p', namespace: 'ns', uid: 'u', attempt: 0 }, hostname: 'p', logDirectory: join(stateDir, 'logs'), hostNetwork: true, hostPid: false, hostIpc: false, portMappings: [], labels: {}, annotations: {} };
    const sb = await first.runPodSandbox(sandbox);
    const security = { privileged: false, readOnlyRootFilesystem: false, capabilitiesAdd: [], capabilitiesDrop: [], noNewPrivileges: false, hostNetwork: true, hostPid: false, hostIpc: false };
    const config = { name: 'c', attempt: 0, image: 'x', command: ['sh', '-c', 'echo $$ > pid; trap "exit 0" TERM; while true; do sleep 1 & wait $!; done'], args: [], workingDir: '', env: [], mounts: [], labels: {}, annotations: {}, logPath: 'c/0.log', stdin: false, stdinOnce: false, tty: false, resources: { cpuPeriod: 0, cpuQuota: 0, cpuShares: 2, memoryLimitBytes: 0, oomScoreAdj: 0 }, security };
    const id = await first.createContainer(sb, config);
    await first.startContainer(id);
    await waitForContainer(first, id, (s) => s.state === 'running');
    const pidFile = join(stateDir, 'containers', id, 'root', 'pid');
    for (let i = 0; i < 200 && !existsSync(pidFile); i++) await delay(10);
    // The edge "dies": its runtime is abandoned without stopping anything (this process lives on,
    // so no parent-death signal reaches the container either).
    const second = await ProcessRuntime.open({ stateDir, version: 'test', log: silentLogger() });
    const s = await second.containerStatus(id);
    assert.equal(s.state, 'exited');
    assert.equal(s.exitCode, 143, 'stopped with SIGTERM');
    const pid = Number((await readFile(join(stateDir, 'containers', id, 'root', 'pid'), 'utf8')).trim());
    assert.equal(isRunning(pid), false, 'the old process is gone');
    assert.equal((await second.listPodSandboxes()).length, 1, 'the sandbox record survives');
    await assert.rejects(second.createContainer(sb, { ...config, command: [], args: [] }), (e) => hasCode(e, 'EDGE_RUNTIME_UNSUPPORTED'));
    await second.removePodSandbox(sb);
    second.close();
    first.close();
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
