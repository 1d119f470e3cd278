import assert from 'node:assert/strict';
import type { DeploymentStrategy } from 'kubernetes-types/apps/v1.d.ts';
import { after, before, describe, it } from 'node:test';
import { replicaSetModule } from '../replicaset/index.ts';
import type { DeploymentObject, PodObject, ReplicaSetObject } from '../replicaset/objects.ts';
import { eventually, TestApi } from '../replicaset/testing.ts';
import { deploymentModule } from './index.ts';

function deployment(name: string, o: { replicas?: number; image?: string; strategy?: DeploymentStrategy; revisionHistoryLimit?: number; progressDeadlineSeconds?: number; paused?: boolean } = {}): DeploymentObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: o.image ?? 'busybox:1' }] } },
      ...(o.strategy !== undefined ? { strategy: o.strategy } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
      ...(o.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      ...(o.paused !== undefined ? { paused: o.paused } : {}),
    },
  };
}

async function setImage(api: TestApi, name: string, image: string): Promise<void> {
  await api.deployments.patch('default', name, 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });
}

async function setsOf(api: TestApi, d: DeploymentObject): Promise<ReplicaSetObject[]> {
  return (await api.replicaSets.list('default')).items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
}

/** Waits for `kubectl rollout status` to call the rollout done. */
async function rolledOut(api: TestApi, name: string, timeoutMs = 8_000): Promise<DeploymentObject> {
  return eventually(async () => {
    const d = await api.deployments.get('default', name);
    const s = d?.status;
    const want = d?.spec?.replicas ?? 1;
    assert.ok((s?.observedGeneration ?? 0) >= (d?.metadata.generation ?? 0), 'generation observed');
    assert.equal(s?.updatedReplicas ?? 0, want, 'updated');
    assert.equal(s?.replicas ?? 0, want, 'replicas');
    assert.equal(s?.availableReplicas ?? 0, want, 'available');
    return d!;
  }, timeoutMs);
}

function imageOf(pod: PodObject): string | undefined {
  return pod.spec?.containers[0]?.image;
}

describe('Deployment controller', () => {
  let api: TestApi;
  /** Images whose pods the simulated kubelet never makes ready. */
  const NEVER_READY = 'never-ready';
  before(async () => {
    api = await TestApi.start();
    await api.run(replicaSetModule);
    await api.run(deploymentModule);
    api.kubelet({ ready: (p) => imageOf(p) !== NEVER_READY });
  });
  after(() => api.close());

  it('creates a replica set named and labelled by the template hash, and reports the rollout complete', async () => {
    const d = await api.deployments.create('default', deployment('web', { replicas: 3 }));
    const done = await rolledOut(api, 'web');
    const [rs, ...more] = await setsOf(api, d);
    assert.equal(more.length, 0);
    const hash = rs!.metadata.labels?.['pod-template-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs!.metadata.name, `web-${hash}`);
    assert.deepEqual(rs!.spec?.selector.matchLabels, { app: 'web', 'pod-template-hash': hash });
    assert.equal(rs!.spec?.template?.metadata?.labels?.['pod-template-hash'], hash);
    assert.equal(rs!.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs!.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs!.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    assert.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const pods = await api.podsOf(rs!.metadata.uid);
    assert.equal(pods.length, 3);
    for (const p of pods) assert.equal(p.metadata.labels?.['pod-template-hash'], hash);

    const cond = (type: string) => done.status?.conditions?.find((c) => c.type === type);
    assert.equal(cond('Available')?.status, 'True');
    assert.equal(cond('Available')?.reason, 'MinimumReplicasAvailable');
    await eventually(async () => {
      const cur = await api.deployments.get('default', 'web');
      const p = cur?.status?.conditions?.find((c) => c.type === 'Progressing');
      assert.equal(p?.status, 'True');
      assert.equal(p?.reason, 'NewReplicaSetAvailable');
      assert.equal(p?.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
      assert.equal(cur?.status?.readyReplicas, 3);
      assert.equal(cur?.status?.unavailableReplicas, undefined);
    });
    const scaling = (await api.eventsFor(d.metadata.uid)).filter((e) => e.reason === 'ScalingReplicaSet');
    assert.deepEqual(
      scaling.map((e) => e.message),
      [`Scaled up replica set web-${hash} from 0 to 3`],
    );
  });

  it('rolls out a new template without going below replicas - maxUnavailable ready pods or above replicas + maxSurge pods', async () => {
    const d = await api.deployments.create('default', deployment('roll', { replicas: 6, image: 'v1' }));
    await rolledOut(api, 'roll');
    const state = new Map<string, PodObject>();
    let minReady = Infinity;
    let maxPods = 0;
    const watcher = api.kubelet({
      ready: () => false,
      onChange(type, pod) {
        if (pod.metadata.labels?.['app'] !== 'roll') return;
        if (type === 'DELETED' || pod.metadata.deletionTimestamp !== undefined) state.delete(pod.metadata.name!);
        else state.set(pod.metadata.name!, pod);
        const active = [...state.values()];
        maxPods = Math.max(maxPods, active.length);
        minReady = Math.min(minReady, active.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length);
      },
    });
    for (const p of (await api.pods.list('default')).items) if (p.metadata.labels?.['app'] === 'roll') state.set(p.metadata.name!, p);
    await setImage(api, 'roll', 'v2');
    const done = await rolledOut(api, 'roll', 15_000);
    watcher.stop();
    assert.ok(minReady >= 5 && minReady <= 6, `ready pods fell to ${minReady}`);
    assert.ok(maxPods > 6 && maxPods <= 8, `pods rose to ${maxPods}`);
    assert.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const sets = await setsOf(api, d);
    assert.equal(sets.length, 2);
    const fresh = sets.find((rs) => rs.spec?.template?.spec?.containers[0]?.image === 'v2');
    const old = sets.find((rs) => rs.spec?.template?.spec?.containers[0]?.image === 'v1');
    assert.equal(fresh?.spec?.replicas, 6);
    assert.equal(old?.spec?.replicas, 0);
    const pods = (await api.pods.list('default')).items.filter((p) => p.metadata.labels?.['app'] === 'roll');
    assert.deepEqual(pods.map(imageOf), Array(6).fill('v2'));
  });

  it('Recreate: removes every old pod before creating new ones', async () => {
    await api.deployments.create('default', deployment('recreate', { replicas: 3, image: 'v1', strategy: { type: 'Recreate' } }));
    await rolledOut(api, 'recreate');
    let overlap = false;
    const images = new Map<string, string>();
    const watcher = api.kubelet({
      ready: () => false,
      onChange(type, pod) {
        if (pod.metadata.labels?.['app'] !== 'recreate') return;
        if (type === 'DELETED') images.delete(pod.metadata.name!);
        else images.set(pod.metadata.name!, imageOf(pod) ?? '');
        if (new Set(images.values()).size > 1) overlap = true;
      },
    });
    for (const p of (await api.pods.list('default')).items) if (p.metadata.labels?.['app'] === 'recreate') images.set(p.metadata.name!, imageOf(p) ?? '');
    await setImage(api, 'recreate', 'v2');
    await rolledOut(api, 'recreate');
    watcher.stop();
    assert.equal(overlap, false, 'old and new pods existed together');
  });

  it('scales through spec.replicas and keeps the revision', async () => {
    const d = await api.deployments.create('default', deployment('scale', { replicas: 2 }));
    await rolledOut(api, 'scale');
    await api.deployments.patch('default', 'scale', 'merge', { spec: { replicas: 5 } });
    const done = await rolledOut(api, 'scale');
    assert.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const [rs] = await setsOf(api, d);
    assert.equal(rs?.spec?.replicas, 5);
    assert.equal(rs?.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '5');
    await eventually(async () => {
      const msgs = (await api.eventsFor(d.metadata.uid)).map((e) => e.message);
      assert.ok(msgs.includes(`Scaled up replica set ${rs?.metadata.name} from 2 to 5`), JSON.stringify(msgs));
    });
  });

  it('rolling back to an old template reuses its replica set under a new revision', async () => {
    const d = await api.deployments.create('default', deployment('undo', { replicas: 2, image: 'v1' }));
    await rolledOut(api, 'undo');
    await setImage(api, 'undo', 'v2');
    await rolledOut(api, 'undo');
    // What `kubectl rollout undo` does: put the old set's template (without its hash) back.
    await setImage(api, 'undo', 'v1');
    const done = await rolledOut(api, 'undo');
    assert.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    const sets = await setsOf(api, d);
    assert.equal(sets.length, 2, 'no third replica set');
    const v1 = sets.find((rs) => rs.spec?.template?.spec?.containers[0]?.image === 'v1');
    assert.equal(v1?.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(v1?.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(v1?.spec?.replicas, 2);
  });

  it('keeps only revisionHistoryLimit old replica sets', async () => {
    const d = await api.deployments.create('default', deployment('history', { replicas: 1, image: 'v1', revisionHistoryLimit: 1 }));
    await rolledOut(api, 'history');
    for (const v of ['v2', 'v3', 'v4']) {
      await setImage(api, 'history', v);
      await rolledOut(api, 'history');
    }
    await eventually(async () => {
      const sets = await setsOf(api, d);
      assert.deepEqual(sets.map((rs) => rs.spec?.template?.spec?.containers[0]?.image).sort(), ['v3', 'v4']);
    });
  });

  it('does not roll out while paused, and reports it; resumes where it stopped', async () => {
    const d = await api.deployments.create('default', deployment('pause', { replicas: 2, image: 'v1' }));
    await rolledOut(api, 'pause');
    await api.deployments.patch('default', 'pause', 'merge', { spec: { paused: true } });
    await setImage(api, 'pause', 'v2');
    await eventually(async () => {
      const cur = await api.deployments.get('default', 'pause');
      const p = cur?.status?.conditions?.find((c) => c.type === 'Progressing');
      assert.equal(p?.status, 'Unknown');
      assert.equal(p?.reason, 'DeploymentPaused');
      assert.equal(cur?.status?.observedGeneration, cur?.metadata.generation);
    });
    assert.equal((await setsOf(api, d)).length, 1, 'no new replica set while paused');
    await api.deployments.patch('default', 'pause', 'merge', { spec: { paused: false } });
    await rolledOut(api, 'pause');
    const pods = (await api.pods.list('default')).items.filter((p) => p.metadata.labels?.['app'] === 'pause');
    assert.deepEqual(pods.map(imageOf), ['v2', 'v2']);
  });

  it('reports ProgressDeadlineExceeded when the rollout does not move within progressDeadlineSeconds', async () => {
    await api.deployments.create('default', deployment('stuck', { replicas: 1, progressDeadlineSeconds: 1, image: NEVER_READY }));
      await eventually(async () => {
        const cur = await api.deployments.get('default', 'stuck');
        const p = cur?.status?.conditions?.find((c) => c.type === 'Progressing');
        assert.equal(p?.status, 'False');
        assert.equal(p?.reason, 'ProgressDeadlineExceeded');
        assert.match(p?.message ?? '', /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
        const a = cur?.status?.conditions?.find((c) => c.type === 'Available');
        assert.equal(a?.status, 'False');
    }, 6_000);
  });

  it('scales every replica set in proportion when the size changes during a rollout', async () => {
    const d = await api.deployments.create('default', deployment('spread', { replicas: 10, image: 'v1' }));
    await rolledOut(api, 'spread');
    // The new pods never become ready, so the rollout holds at 8 old and 5 new (maxSurge 3, maxUnavailable 2).
    await setImage(api, 'spread', NEVER_READY);
    const sizes = async (): Promise<Record<string, number | undefined>> =>
      Object.fromEntries((await setsOf(api, d)).map((rs): [string, number | undefined] => [rs.spec?.template?.spec?.containers[0]?.image ?? '', rs.spec?.replicas]));
    await eventually(async () => assert.deepEqual(await sizes(), { v1: 8, [NEVER_READY]: 5 }));
    await api.deployments.patch('default', 'spread', 'merge', { spec: { replicas: 20 } });
    // 20 + maxSurge 5 = 25 allowed, against the 13 both were sized for: 8 → round(8·25/13) = 15, 5 → round(5·25/13) = 10.
    await eventually(async () => assert.deepEqual(await sizes(), { v1: 15, [NEVER_READY]: 10 }));
  });
});
