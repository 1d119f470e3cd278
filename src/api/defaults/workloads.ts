/** apps/v1 defaulting (`pkg/apis/apps/v1/defaults.go`): replicas, strategies, history limits, templates. */
import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import { isObject } from '../validation/util.ts';
import { defaultPodSpec } from './pod.ts';

/** `SetDefaults_Deployment`: one replica, a 25%/25% rolling update, ten old ReplicaSets, ten minutes to progress. */
export function defaultDeployment(d: Deployment): void {
  if (!isObject(d.spec)) return;
  const spec = d.spec;
  spec.replicas ??= 1;
  if (!isObject(spec.strategy)) spec.strategy = {};
  const strategy = spec.strategy;
  strategy.type ||= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    if (!isObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
    strategy.rollingUpdate.maxUnavailable ??= '25%';
    strategy.rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodSpec(spec.template?.spec);
}

/** `SetDefaults_ReplicaSet`: one replica. */
export function defaultReplicaSet(rs: ReplicaSet): void {
  if (!isObject(rs.spec)) return;
  rs.spec.replicas ??= 1;
  defaultPodSpec(rs.spec.template?.spec);
}

/** `SetDefaults_DaemonSet`: a rolling update one node at a time without surge, ten old revisions. */
export function defaultDaemonSet(ds: DaemonSet): void {
  if (!isObject(ds.spec)) return;
  const spec = ds.spec;
  if (!isObject(spec.updateStrategy)) spec.updateStrategy = {};
  const strategy = spec.updateStrategy;
  strategy.type ||= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    if (!isObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
    strategy.rollingUpdate.maxUnavailable ??= 1;
    strategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultPodSpec(spec.template?.spec);
}
