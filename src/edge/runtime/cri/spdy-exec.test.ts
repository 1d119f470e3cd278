// What the conformance suite cannot check on both runtimes: exec with a TTY (the process runtime
// has none) and its resizes, through containerd's streaming server over SPDY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestContainerd } from '../../containerd/testing.ts';
import { buildImageArchive, busyboxRootfs } from '../image/build.ts';
import type { PodSandboxConfig } from '../runtime.ts';
import { CriRuntime } from './cri-runtime.ts';
import { importImageArchive } from './image-import.ts';

const IMAGE = 'kedge.local/spdy-exec-busybox:1';

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

test('cri exec over SPDY', async (t) => {
  const ctd = await startTestContainerd();
  const rt = new CriRuntime({ endpoint: ctd.endpoint });
  try {
    const file = join(ctd.dir, 'busybox.tar');
    await writeFile(file, buildImageArchive({ name: IMAGE, layers: [busyboxRootfs()], format: 'docker' }));
    await importImageArchive({ endpoint: ctd.endpoint, file });
    const sandbox: PodSandboxConfig = {
      metadata: { name: 'tty', namespace: 'spdy', uid: `spdy-${process.pid}`, attempt: 0 },
      hostname: 'tty',
      logDirectory: await mkdtemp(join(ctd.dir, 'logs-')),
      hostNetwork: true,
      hostPid: false,
      hostIpc: false,
      portMappings: [],
      labels: {},
      annotations: {},
    };
    const sandboxId = await rt.runPodSandbox(sandbox);
    const security = { privileged: false, readOnlyRootFilesystem: false, capabilitiesAdd: [], capabilitiesDrop: [], noNewPrivileges: false, hostNetwork: true, hostPid: false, hostIpc: false };
    const id = await rt.createContainer(
      sandboxId,
      {
        name: 'c', attempt: 0, image: IMAGE, command: ['sleep', '1000'], args: [], workingDir: '', env: [], mounts: [], labels: {}, annotations: {},
        logPath: 'c.log', stdin: false, stdinOnce: false, tty: false,
        resources: { cpuPeriod: 100_000, cpuQuota: 0, cpuShares: 2, memoryLimitBytes: 0, oomScoreAdj: 0 },
        security,
      },
      sandbox,
    );
    await rt.startContainer(id);

    await t.test('a TTY session: one output stream, the size it is given and then resized to, its exit code', async () => {
      const session = await rt.exec(id, ['sh'], { stdin: true, tty: true });
      assert.equal(session.stderr, undefined, 'a TTY merges stderr into stdout');
      let out = '';
      session.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      // containerd serves the resize and stdin streams from separate goroutines, so a command typed
      // right after a resize can run before the size is applied; ask again until the size shows.
      const untilSize = async (size: string): Promise<void> => {
        const asking = setInterval(() => session.stdin!.write('stty size\n'), 200);
        try {
          await until(() => out.includes(size), `the size ${size}`);
        } finally {
          clearInterval(asking);
        }
      };
      session.resize({ width: 100, height: 40 });
      await untilSize('40 100');
      // The quotes keep the terminal's echo of the command line from matching.
      session.stdin!.write('echo o""ops >&2\n');
      await until(() => out.includes('oops'), 'stderr in the one output stream');
      session.resize({ width: 120, height: 50 });
      await untilSize('50 120');
      session.stdin!.write('exit 3\n');
      assert.equal(await session.exitCode, 3);
      session.close();
    });

    await t.test('a command that cannot start ends the session with a failure, not a hang', async () => {
      const session = await rt.exec(id, ['/no/such/command'], { stdin: true, tty: false });
      session.stdout.resume();
      session.stderr?.resume();
      assert.notEqual(await session.exitCode, 0);
      session.close();
    });
  } finally {
    rt.close();
    await ctd.dispose();
  }
});
