// Pods through kubectl, for the edge e2e tests: apply, read, and wait for a state.
import type { KedgeCloud } from './cloud.ts';
import { eventually } from './wait.ts';

/** The parts of a Pod the tests read. */
export interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    podIP?: string;
    hostIP?: string;
    startTime?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      started?: boolean;
      restartCount: number;
      containerID?: string;
      imageID: string;
      image: string;
      state?: { running?: object; waiting?: { reason?: string; message?: string }; terminated?: { exitCode: number; reason?: string } };
      lastState?: { terminated?: { exitCode: number; reason?: string } };
    }[];
  };
}

/** Pod helpers bound to one cloud and namespace (kubectl 1.33). */
export function podsIn(cloud: KedgeCloud, namespace: string): {
  apply: (...objects: object[]) => Promise<void>;
  getPod: (name: string) => Promise<PodJson | undefined>;
  waitPod: (name: string, what: string, ok: (p: PodJson) => boolean, timeoutMs?: number) => Promise<PodJson>;
} {
  const getPod = async (name: string): Promise<PodJson | undefined> => {
    const r = await cloud.kubectl('1.33', ['get', 'pod', name, '-n', namespace, '-o', 'json']);
    if (r.code !== 0) {
      if (/NotFound/.test(r.stderr)) return undefined;
      throw new Error(r.stderr);
    }
    return JSON.parse(r.stdout) as PodJson;
  };
  return {
    async apply(...objects: object[]): Promise<void> {
      await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    },
    getPod,
    waitPod: (name, what, ok, timeoutMs = 45_000) =>
      eventually(
        async () => {
          const p = await getPod(name);
          if (p === undefined || !ok(p)) throw new Error(`pod ${name}: ${JSON.stringify(p?.status)}`);
          return p;
        },
        { timeoutMs, intervalMs: 200, what: `${name}: ${what}` },
      ),
  };
}

/** Running, with the Ready condition True. */
export const runningAndReady = (p: PodJson): boolean => p.status?.phase === 'Running' && p.status.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
