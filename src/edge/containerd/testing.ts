/**
 * A real containerd for tests: started the way `kedge edge --managed-containerd` starts it, in a
 * temporary directory, and torn down completely afterwards (sandboxes, containerd, mounts, the pod
 * bridge, the directory). Not used by production code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type Logger } from '../../log/logger.ts';
import { CriRuntime } from '../runtime/cri/cri-runtime.ts';
import { podBridgeName } from './config.ts';
import { ManagedContainerd } from './managed.ts';

const run = promisify(execFile);

/** A running test containerd. */
export interface TestContainerd {
  readonly dir: string;
  readonly endpoint: string;
  readonly containerd: ManagedContainerd;
  /** Removes every sandbox, stops containerd and removes everything it left. */
  dispose(): Promise<void>;
}

/** Starts containerd in a fresh temporary directory (or in `dir`). */
export async function startTestContainerd(options: { dir?: string; log?: Logger } = {}): Promise<TestContainerd> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kedge-ctd-')));
  const lifetime = new AbortController();
  const containerd = new ManagedContainerd({ dir: join(dir, 'containerd'), log: options.log ?? silentLogger() });
  await containerd.start(lifetime.signal);
  return {
    dir,
    endpoint: containerd.endpoint,
    containerd,
    dispose: async () => {
      await removeAllSandboxes(containerd.endpoint).catch(() => undefined);
      lifetime.abort();
      await containerd.done;
      await cleanUpContainerdDir(join(dir, 'containerd'));
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Stops and removes every sandbox (and so every container) of the containerd at `endpoint`. */
export async function removeAllSandboxes(endpoint: string): Promise<void> {
  const rt = new CriRuntime({ endpoint, callTimeoutMs: 30_000 });
  try {
    for (const s of await rt.listPodSandboxes()) {
      await rt.stopPodSandbox(s.id);
      await rt.removePodSandbox(s.id);
    }
  } finally {
    rt.close();
  }
}

/**
 * What a stopped containerd leaves behind in its directory: mounts (snapshots, network namespaces,
 * shm) are unmounted, deepest first, and the pod bridge is deleted.
 */
export async function cleanUpContainerdDir(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
  await run('ip', ['link', 'del', podBridgeName(dir)]).catch(() => undefined);
}
