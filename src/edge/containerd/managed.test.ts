import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CriRuntime } from '../runtime/cri/cri-runtime.ts';
import { isolatedCniConfig } from './config.ts';
import { SANDBOX_IMAGE } from './managed.ts';
import { removeAllSandboxes, startTestContainerd } from './testing.ts';

const sandbox = (name: string, hostNetwork: boolean) => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
  hostname: name,
  logDirectory: `/tmp/kedge-managed-test-${name}`,
  hostNetwork,
  hostPid: false,
  hostIpc: false,
  portMappings: [],
  labels: { test: 'managed' },
  annotations: {},
});

test('a managed containerd answers the CRI with the sandbox image in place, gives pods an isolated network, is adopted after the edge dies and stops with it', async () => {
  const ctd = await startTestContainerd();
  const rt = new CriRuntime({ endpoint: ctd.endpoint });
  try {
    assert.equal((await rt.version()).name, 'containerd');
    const status = await rt.status();
    assert.equal(status.runtimeReady, true);
    assert.equal(status.networkReady, true, status.message);
    assert.ok(await rt.imageStatus(SANDBOX_IMAGE), 'the sandbox image was imported');

    const host = await rt.runPodSandbox(sandbox('host', true));
    const pod = await rt.runPodSandbox(sandbox('pod', false));
    assert.equal((await rt.podSandboxStatus(host)).ip, '');
    const ip = (await rt.podSandboxStatus(pod)).ip;
    assert.match(ip, /^10\.\d+\.\d+\.\d+$/);
    assert.equal(isolatedCniConfig(ctd.containerd.paths).subnet.split('.').slice(0, 3).join('.'), ip.split('.').slice(0, 3).join('.'));

    // An edge killed without stopping leaves containerd running; the next one adopts it.
    const pid = Number((await readFile(ctd.containerd.paths.pidFile, 'utf8')).trim());
    const { ManagedContainerd } = await import('./managed.ts');
    const { silentLogger } = await import('../../log/logger.ts');
    const second = new ManagedContainerd({ dir: ctd.containerd.paths.dir, log: silentLogger() });
    const lifetime = new AbortController();
    await second.start(lifetime.signal);
    assert.equal(Number((await readFile(ctd.containerd.paths.pidFile, 'utf8')).trim()), pid, 'the same containerd');
    assert.equal((await rt.listPodSandboxes({ test: 'managed' })).length, 2);
    await removeAllSandboxes(ctd.endpoint);
    lifetime.abort();
    await second.done;
    assert.equal(existsSync(ctd.containerd.paths.pidFile), false, 'stopping the edge stops containerd');
  } finally {
    rt.close();
    await ctd.dispose();
  }
  assert.equal(existsSync(ctd.dir), false);
});
