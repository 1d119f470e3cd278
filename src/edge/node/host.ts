import { readFileSync } from 'node:fs';
import { arch, availableParallelism, hostname, networkInterfaces, platform, release, totalmem } from 'node:os';
import type { NodeAddress, NodeSystemInfo } from 'kubernetes-types/core/v1.d.ts';

/** What the Node object reports about the machine the edge runs on. */
export interface HostFacts {
  readonly hostname: string;
  /** CPUs usable by this process. */
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly addresses: readonly NodeAddress[];
  readonly nodeInfo: NodeSystemInfo;
}

/** Options of {@link readHostFacts}. */
export interface HostFactsOptions {
  /** Reported as `kubeletVersion` (`v<version>`). */
  readonly kedgeVersion: string;
  /**
   * Reported as `containerRuntimeVersion`. A placeholder until the runtime (containerd or the
   * process runtime) reports its own.
   * @default 'unknown://0.0.0'
   */
  readonly containerRuntimeVersion?: string;
}

/** Node.js architecture names → Go's GOARCH, which Kubernetes labels and nodeInfo use. */
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };

/** GOARCH of this machine (`amd64`, `arm64`, ...). */
export function goArch(): string {
  return GOARCH[arch()] ?? arch();
}

/** Reads the host's identity, size and addresses, as the kubelet's node status setters do. */
export function readHostFacts(options: HostFactsOptions): HostFacts {
  const host = hostname();
  return {
    hostname: host,
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    addresses: [...internalIps().map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: host }],
    nodeInfo: {
      machineID: readTrimmed('/etc/machine-id'),
      systemUUID: readTrimmed('/sys/class/dmi/id/product_uuid') || readTrimmed('/etc/machine-id'),
      bootID: readTrimmed('/proc/sys/kernel/random/boot_id'),
      kernelVersion: release(),
      osImage: osImage(),
      containerRuntimeVersion: options.containerRuntimeVersion ?? 'unknown://0.0.0',
      kubeletVersion: `v${options.kedgeVersion}`,
      kubeProxyVersion: '',
      operatingSystem: platform(),
      architecture: goArch(),
    },
  };
}

/**
 * The machine's non-loopback IPv4 addresses, then IPv6 ones (link-local left out), falling back to
 * loopback on a machine with no network, so the node always has an InternalIP.
 */
function internalIps(): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') v4.push(a.address);
      else if (!a.address.toLowerCase().startsWith('fe80:')) v6.push(a.address);
    }
  }
  const all = [...v4, ...v6];
  return all.length > 0 ? all.slice(0, 1) : ['127.0.0.1'];
}

/** `PRETTY_NAME` of /etc/os-release, as the kubelet reports osImage. */
function osImage(): string {
  const text = readTrimmed('/etc/os-release') || readTrimmed('/usr/lib/os-release');
  const m = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(text);
  return m?.[1] ?? m?.[2] ?? platform();
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
