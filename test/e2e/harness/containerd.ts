/**
 * Containers for the e2e tests: a busybox image built from Debian's busybox-static (no registry
 * is reachable), imported with `kedge image import`, and the clean-up of edges that ran
 * `--managed-containerd` (their containers outlive the edge by design, so a test must remove them:
 * every sandbox through the CRI, then containerd, leftover mounts and the pod bridge).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { startTestContainerd } from '../../../src/edge/containerd/testing.ts';
import { CriRuntime } from '../../../src/edge/runtime/cri/cri-runtime.ts';
import { buildImageArchive, busyboxRootfs } from '../../../src/edge/runtime/image/build.ts';
import { runKedge, type KedgeEdge } from './edge.ts';

/** The name the e2e busybox image is imported under. */
export const BUSYBOX_IMAGE = 'kedge.local/busybox:e2e';

let archive: Promise<string> | undefined;

/** A docker-archive of busybox (every applet), built once per test process. */
export function busyboxArchive(): Promise<string> {
  archive ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-e2e-image-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'busybox.tar');
    await writeFile(file, buildImageArchive({ name: BUSYBOX_IMAGE, layers: [busyboxRootfs()], config: { Cmd: ['sh'] }, format: 'docker' }));
    return file;
  })();
  return archive;
}

/** `kedge image import --data-dir <edge> <file>`; returns its stdout. */
export async function importImage(edge: KedgeEdge, file: string): Promise<string> {
  const r = await runKedge(['image', 'import', '--data-dir', edge.dataDir, file], { HOME: edge.dataDir });
  if (r.code !== 0) throw new Error(`kedge image import exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The CRI of an edge's managed containerd, for looking at containers directly. */
export function edgeCri(edge: KedgeEdge): CriRuntime {
  return new CriRuntime({ endpoint: `unix://${join(edge.dataDir, 'containerd', 'containerd.sock')}` });
}

/**
 * Registers (call it before the edges are joined, so it runs before their own clean-up) the
 * removal of everything the tracked managed-containerd edges leave: the edge is stopped, a
 * containerd is started on its directory once more to remove every sandbox, and then stopped.
 */
export function useContainerdCleanup(): { track(edge: KedgeEdge): void } {
  const edges: KedgeEdge[] = [];
  after(async () => {
    for (const edge of edges) {
      await edge.stop();
      const ctd = await startTestContainerd({ dir: edge.dataDir });
      await ctd.dispose();
    }
  });
  return { track: (edge) => void edges.push(edge) };
}
