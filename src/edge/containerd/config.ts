import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Where a managed containerd keeps everything, under `<edge data dir>/containerd`. */
export interface ContainerdPaths {
  readonly dir: string;
  readonly config: string;
  readonly socket: string;
  readonly root: string;
  readonly state: string;
  readonly log: string;
  readonly pidFile: string;
  readonly cniConfDir: string;
  readonly cniStateDir: string;
}

/** The paths of the managed containerd in `dir`. */
export function containerdPaths(dir: string): ContainerdPaths {
  return {
    dir,
    config: join(dir, 'config.toml'),
    socket: join(dir, 'containerd.sock'),
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    log: join(dir, 'containerd.log'),
    pidFile: join(dir, 'containerd.pid'),
    cniConfDir: join(dir, 'net.d'),
    cniStateDir: join(dir, 'cni'),
  };
}

/** What goes into the containerd configuration. */
export interface ContainerdConfigOptions {
  readonly paths: ContainerdPaths;
  /** The image every pod sandbox runs (kedge's own, imported at start). */
  readonly sandboxImage: string;
  /** Where the CNI plugin binaries are (Debian: /usr/lib/cni). */
  readonly cniBinDir: string;
}

const toml = (s: string): string => JSON.stringify(s);

/**
 * containerd's configuration (version 2, containerd 1.6+) for an instance that lives entirely in
 * the data dir: its own socket, root, state and CNI configuration, so it can run beside a system
 * containerd or another edge's.
 *
 * - `restrict_oom_score_adj`: without CAP_SYS_RESOURCE a container may not get a lower OOM score
 *   than containerd itself, and runc fails every sandbox ("can't get final child's PID from pipe")
 *   unless the CRI clamps the score.
 * - `netns_mounts_under_state_dir`: pod network namespaces are mounted in the state dir instead of
 *   the host's /var/run/netns.
 * - the CRI streaming server listens on a free loopback port (exec, attach).
 */
export function containerdConfig(o: ContainerdConfigOptions): string {
  const p = o.paths;
  return `# Written by kedge for --managed-containerd; rewritten at every start.
version = 2
root = ${toml(p.root)}
state = ${toml(p.state)}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${toml(p.socket)}

[ttrpc]
  address = ${toml(`${p.socket}.ttrpc`)}

[debug]
  level = "warn"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = ${toml(o.sandboxImage)}
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          Root = ${toml(join(p.state, 'runc'))}
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = ${toml(o.cniBinDir)}
      conf_dir = ${toml(p.cniConfDir)}
      max_conf_num = 1
  [plugins."io.containerd.internal.v1.opt"]
    path = ${toml(join(p.dir, 'opt'))}
`;
}

/**
 * The pod network of a managed containerd: a bridge that only this node's pods are attached to.
 * The bridge has an address, so the node reaches its pods (probes, `kubectl port-forward`), but pods
 * get no default route and no masquerading: they reach each other and the node, nothing beyond.
 * Host-network pods are unaffected. The bridge's name and its /24 are derived from the data dir, so
 * two edges on one machine get different ones. For pods that must reach the outside, use host
 * networking or put your own CNI configuration in `<data-dir>/containerd/net.d` (kedge writes this
 * file only while that directory holds no other configuration).
 */
export function isolatedCniConfig(paths: ContainerdPaths): { name: string; body: string; bridge: string; subnet: string } {
  const bridge = podBridgeName(paths.dir);
  const h = createHash('sha256').update(paths.dir).digest();
  const subnet = `10.${88 + (h[0]! % 40)}.${h[1]!}.0/24`;
  const body = JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'kedge',
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          isDefaultGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(paths.cniStateDir, 'ipam') },
        },
      ],
    },
    null,
    2,
  );
  return { name: '10-kedge.conflist', body: `${body}\n`, bridge, subnet };
}

/** The pod bridge of the managed containerd in `dir`: `kedge-` and 8 hex digits (interface names have at most 15 characters). */
export function podBridgeName(dir: string): string {
  return `kedge-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
}
