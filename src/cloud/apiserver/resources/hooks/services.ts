import { ApiError } from '../../../../api/errors.ts';
import type { KubeObject } from '../../../../api/object.ts';
import type { ResourceHooks } from '../../storage/hooks.ts';

/** The service network kedge allocates cluster IPs from, as kubeadm's default. */
export const SERVICE_CIDR = { base: (10 << 24) | (96 << 16), size: 1 << 20 } as const;
const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

interface ServiceLike {
  spec?: { type?: string; clusterIP?: string; clusterIPs?: string[]; ports?: { nodePort?: number }[] };
}

function ipToString(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function ipToNumber(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (m === null) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/**
 * Cluster IP and node port allocation for Services. The allocator learns what is taken from the
 * stored services the first time it is used (`load`), then tracks creates and deletes.
 */
export class ServiceAllocator {
  readonly #usedIps = new Set<number>();
  readonly #usedPorts = new Set<number>();
  readonly #load: () => Promise<readonly KubeObject[]>;
  #loaded: Promise<void> | undefined;

  constructor(load: () => Promise<readonly KubeObject[]>) {
    this.#load = load;
  }

  async #ensureLoaded(): Promise<void> {
    this.#loaded ??= this.#load().then((services) => {
      for (const s of services) this.#mark(s as KubeObject & ServiceLike);
    });
    await this.#loaded;
  }

  #mark(s: ServiceLike): void {
    const ip = ipToNumber(s.spec?.clusterIP ?? '');
    if (ip !== undefined) this.#usedIps.add(ip);
    for (const p of s.spec?.ports ?? []) if (p.nodePort !== undefined) this.#usedPorts.add(p.nodePort);
  }

  hooks(): ResourceHooks {
    return {
      admitCreate: async (obj, ctx) => {
        await this.#ensureLoaded();
        const svc = obj as KubeObject & ServiceLike;
        svc.spec ??= {};
        const type = svc.spec.type ?? 'ClusterIP';
        if (type !== 'ExternalName' && svc.spec.clusterIP !== 'None') {
          const wanted = svc.spec.clusterIP !== undefined && svc.spec.clusterIP !== '' ? ipToNumber(svc.spec.clusterIP) : undefined;
          if (wanted !== undefined && this.#usedIps.has(wanted)) {
            throw new ApiError('API_INVALID', 422, 'Invalid', `Service "${obj.metadata.name ?? ''}" is invalid: spec.clusterIPs: Invalid value: ["${svc.spec.clusterIP ?? ''}"]: failed to allocate IP ${svc.spec.clusterIP ?? ''}: provided IP is already allocated`);
          }
          const ip = wanted ?? this.#freeIp();
          svc.spec.clusterIP = ipToString(ip);
          svc.spec.clusterIPs = [svc.spec.clusterIP];
          if (!ctx.dryRun) this.#usedIps.add(ip);
        }
        if (type === 'NodePort' || type === 'LoadBalancer') {
          for (const p of svc.spec.ports ?? []) {
            if (p.nodePort === undefined || p.nodePort === 0) p.nodePort = this.#freePort();
            if (!ctx.dryRun) this.#usedPorts.add(p.nodePort);
          }
        }
      },
      admitUpdate: (obj, old) => {
        // Allocated addresses stay with the service.
        const svc = obj as KubeObject & ServiceLike;
        const prev = old as KubeObject & ServiceLike;
        if (svc.spec !== undefined && prev.spec?.clusterIP !== undefined && (svc.spec.clusterIP === undefined || svc.spec.clusterIP === '')) {
          svc.spec.clusterIP = prev.spec.clusterIP;
          svc.spec.clusterIPs = prev.spec.clusterIPs ?? [prev.spec.clusterIP];
        }
      },
      afterDelete: (obj) => {
        const svc = obj as KubeObject & ServiceLike;
        const ip = ipToNumber(svc.spec?.clusterIP ?? '');
        if (ip !== undefined) this.#usedIps.delete(ip);
        for (const p of svc.spec?.ports ?? []) if (p.nodePort !== undefined) this.#usedPorts.delete(p.nodePort);
      },
    };
  }

  #freeIp(): number {
    // .0 is the network and .1 is the `kubernetes` service.
    for (let i = 0; i < SERVICE_CIDR.size - 2; i++) {
      const candidate = (SERVICE_CIDR.base + 2 + ((Math.random() * (SERVICE_CIDR.size - 3)) | 0)) >>> 0;
      if (!this.#usedIps.has(candidate)) return candidate;
    }
    throw new ApiError('API_INTERNAL', 500, 'InternalError', 'the service IP range is full');
  }

  #freePort(): number {
    for (let p = NODE_PORT_RANGE.min; p <= NODE_PORT_RANGE.max; p++) if (!this.#usedPorts.has(p)) return p;
    throw new ApiError('API_INTERNAL', 500, 'InternalError', 'the node port range is full');
  }
}
