import type { ResourceType } from './resources/resource-type.ts';
import type { ResourceRegistry } from './resources/registry.ts';
import { compareStrings } from '../../api/compare.ts';
import { rfc3339 } from '../../api/time.ts';

/** A subresource served outside the generic status/scale ones (pods/binding, namespaces/finalize, ...). */
export interface ExtraSubresource {
  readonly group: string;
  readonly plural: string;
  readonly subresource: string;
  readonly kind: string;
  readonly verbs: readonly string[];
  /** For subresources of another group (Scale is autoscaling/v1, Binding is v1). */
  readonly responseGroup?: string;
  readonly responseVersion?: string;
}

/** The version kedge reports at /version: the Kubernetes API level it serves. */
export const KUBERNETES_VERSION = { major: '1', minor: '30', gitVersion: 'v1.30.0' } as const;

/**
 * Kubernetes' legacy discovery documents (/api, /apis, /api/v1, /apis/<group>[/<version>]),
 * computed from the registry and cached until the registry changes (a CRD is added or removed).
 */
export class Discovery {
  readonly #registry: ResourceRegistry;
  readonly #extras: readonly ExtraSubresource[];
  readonly #kedgeVersion: string;
  #cache = new Map<string, string | null>();

  constructor(options: { registry: ResourceRegistry; extraSubresources: readonly ExtraSubresource[]; kedgeVersion: string }) {
    this.#registry = options.registry;
    this.#extras = options.extraSubresources;
    this.#kedgeVersion = options.kedgeVersion;
    this.#registry.onChange(() => {
      this.#cache = new Map();
    });
  }

  /** The JSON document for a discovery path, or undefined if the path is not a discovery path. */
  document(path: string, serverAddress: string): string | undefined {
    const key = `${path}|${serverAddress}`;
    if (!this.#cache.has(key)) this.#cache.set(key, this.#build(path, serverAddress) ?? null);
    return this.#cache.get(key) ?? undefined;
  }

  version(): string {
    const now = rfc3339(Date.now());
    return JSON.stringify({
      major: KUBERNETES_VERSION.major,
      minor: KUBERNETES_VERSION.minor,
      gitVersion: `${KUBERNETES_VERSION.gitVersion}+kedge.${this.#kedgeVersion}`,
      gitCommit: 'kedge',
      gitTreeState: 'clean',
      buildDate: now,
      goVersion: `node${process.versions.node}`,
      compiler: 'kedge',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    });
  }

  #build(path: string, serverAddress: string): string | undefined {
    const parts = path.split('/').filter((p) => p !== '');
    const resources = this.#registry.resources();
    if (parts.length === 1 && parts[0] === 'api') {
      return JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] });
    }
    if (parts.length === 2 && parts[0] === 'api' && parts[1] === 'v1') return this.#resourceList('', 'v1', resources);
    if (parts[0] !== 'apis') return undefined;
    const groups = groupsOf(resources);
    if (parts.length === 1) {
      return JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups.entries()].map(([name, versions]) => apiGroup(name, versions)) });
    }
    const versions = groups.get(parts[1]!);
    if (versions === undefined) return undefined;
    if (parts.length === 2) return JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(parts[1]!, versions) });
    if (parts.length === 3 && versions.includes(parts[2]!)) return this.#resourceList(parts[1]!, parts[2]!, resources);
    return undefined;
  }

  #resourceList(group: string, version: string, all: readonly ResourceType[]): string | undefined {
    const rts = all.filter((r) => r.group === group && r.version === version).sort((a, b) => compareStrings(a.plural, b.plural));
    if (rts.length === 0) return undefined;
    const resources: Record<string, unknown>[] = [];
    for (const rt of rts) {
      resources.push({
        name: rt.plural,
        singularName: rt.singular,
        namespaced: rt.namespaced,
        kind: rt.kind,
        verbs: [...rt.verbs],
        ...(rt.shortNames.length > 0 ? { shortNames: [...rt.shortNames] } : {}),
        ...(rt.categories.length > 0 ? { categories: [...rt.categories] } : {}),
      });
      if (rt.statusSubresource) resources.push({ name: `${rt.plural}/status`, singularName: '', namespaced: rt.namespaced, kind: rt.kind, verbs: ['get', 'patch', 'update'] });
      if (rt.scale !== undefined) {
        resources.push({ name: `${rt.plural}/scale`, singularName: '', namespaced: rt.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
      }
      for (const x of this.#extras) {
        if (x.group !== rt.group || x.plural !== rt.plural) continue;
        resources.push({
          name: `${x.plural}/${x.subresource}`,
          singularName: '',
          namespaced: rt.namespaced,
          kind: x.kind,
          verbs: [...x.verbs],
          ...(x.responseGroup !== undefined ? { group: x.responseGroup, version: x.responseVersion } : {}),
        });
      }
    }
    return JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources });
  }
}

function groupsOf(resources: readonly ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const rt of resources) {
    if (rt.group === '') continue;
    const versions = groups.get(rt.group) ?? [];
    if (!versions.includes(rt.version)) versions.push(rt.version);
    groups.set(rt.group, versions);
  }
  for (const versions of groups.values()) versions.sort(compareVersions);
  return groups;
}

function apiGroup(name: string, versions: readonly string[]): Record<string, unknown> {
  const gv = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: gv, preferredVersion: gv[0] };
}

/** Kubernetes' version priority: GA before beta before alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (m === null) return [3, 0, 0];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return compareStrings(a, b);
}
