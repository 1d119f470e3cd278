import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { resolveEdgeDataDir } from '../../edge/config.ts';
import { containerdPaths } from '../../edge/containerd/config.ts';
import { EdgeError } from '../../edge/errors.ts';
import { importImageArchive } from '../../edge/runtime/cri/image-import.ts';
import { DEFAULT_CRI_ENDPOINT } from '../../edge/runtime/select.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../flags.ts';

/**
 * `kedge image import`: loads image archives into the container runtime of an edge, for nodes
 * that cannot reach a registry. The runtime is the edge's managed containerd when its data dir has
 * one, otherwise the CRI endpoint.
 */
/** How long an edge's managed containerd may take to come up, as when the edge is starting. */
const MANAGED_SOCKET_WAIT_MS = 30_000;

/** Whether `path` exists within `timeoutMs`. */
async function appears(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() >= deadline) return false;
    await delay(100);
  }
  return true;
}

const USAGE = 'kedge image import [--data-dir D] [--container-runtime-endpoint E] <file.tar>...';

export const imageCommand: Command = {
  name: 'image',
  usage: USAGE,
  description: [
    'Loads images from docker-archive files ("docker save") or OCI image layout tars ("skopeo copy',
    '... oci-archive:", "ctr images export"), gzipped or not, into containerd: the blobs, the unpacked',
    'layers and a name for each image, as "ctr -n k8s.io images import" does. Pods then use the',
    'images by those names; set imagePullPolicy: IfNotPresent (or Never) so the node does not try a',
    'registry.',
    '',
    'The edge\'s managed containerd (<data-dir>/containerd, from "kedge edge --managed-containerd")',
    'is used when there is one (waiting up to 30 s for it while the edge starts); otherwise',
    '--container-runtime-endpoint.',
  ].join('\n'),
  flags: [
    { name: 'data-dir', type: 'string', description: 'the edge\'s data directory', default: '~/.kedge' },
    { name: 'container-runtime-endpoint', type: 'string', description: 'containerd\'s socket, when the edge does not manage its own', default: DEFAULT_CRI_ENDPOINT },
  ],
  envPrefix: 'KEDGE_IMAGE',
  async run(ctx) {
    const [sub, ...files] = ctx.positionals;
    if (sub !== 'import' || files.length === 0) throw new UsageError(`usage: ${USAGE}`);
    const dataDir = resolveEdgeDataDir(String(ctx.values['data-dir']));
    const managed = containerdPaths(join(dataDir, 'containerd'));
    let endpoint = String(ctx.values['container-runtime-endpoint']);
    // A config there means the edge manages its containerd; an edge that is starting may not have
    // it up yet, so its socket is waited for a while rather than another containerd used instead.
    if (existsSync(managed.config)) {
      if (!(await appears(managed.socket, MANAGED_SOCKET_WAIT_MS))) {
        ctx.stderr.write(`kedge image import: the edge's managed containerd is not running (no ${managed.socket} after ${MANAGED_SOCKET_WAIT_MS / 1000}s); start the edge first: kedge edge --data-dir ${dataDir}\n`);
        return 1;
      }
      endpoint = `unix://${managed.socket}`;
    }
    for (const file of files) {
      try {
        for (const image of await importImageArchive({ endpoint, file })) ctx.stdout.write(`imported ${image.name} (${image.id})\n`);
      } catch (err) {
        if (!(err instanceof EdgeError)) throw err;
        ctx.stderr.write(`kedge image import: ${file}: ${err.message} [${err.code}]\n`);
        return 1;
      }
    }
    return 0;
  },
};
