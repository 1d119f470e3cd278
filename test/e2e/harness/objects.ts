import type { KedgeCloud } from './cloud.ts';
import type { KubectlVersion } from './kubectl.ts';

/** A namespace name per scenario and kubectl version, so both versions share one server without colliding. */
export function namespaceFor(scenario: string, version: KubectlVersion): string {
  return `${scenario}-v${version.replace('.', '')}`;
}

/** `kubectl get <args> -o json`, parsed; fails the test if kubectl fails. */
export async function getJson<T = Record<string, unknown>>(cloud: KedgeCloud, version: KubectlVersion, args: readonly string[]): Promise<T> {
  return JSON.parse(await cloud.kubectlOk(version, ['get', ...args, '-o', 'json'])) as T;
}

/** The names `kubectl get -o name` printed, without their `kind/` prefix, sorted. */
export function names(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.slice(l.indexOf('/') + 1))
    .sort();
}

/** A Namespace manifest (names are quoted: YAML would read `y` or `no` as booleans). */
export function namespaceManifest(name: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${JSON.stringify(name)}\n`;
}

/** A ConfigMap manifest. */
export function configMapManifest(namespace: string, name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${JSON.stringify(name)}\n  namespace: ${JSON.stringify(namespace)}\n  labels: ${JSON.stringify(labels)}\ndata: ${JSON.stringify(data)}\n`;
}
