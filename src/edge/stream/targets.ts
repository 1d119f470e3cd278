import type { KubeObject } from '../../api/object.ts';
import { PlatformError } from '../../errors/platform-error.ts';
import { StreamError, type StreamErrorCode, type StreamRequest } from '../../protocol/stream.ts';
import { LABELS, type ContainerSummary, type Runtime } from '../runtime/runtime.ts';

/** What the stream handlers use of the runtime. */
export type StreamRuntime = Pick<Runtime, 'listContainers' | 'logs' | 'exec' | 'listPodSandboxes' | 'portForward'>;

/** The pods this node holds (MetaManager): the node answers only for these. */
export interface PodSource {
  get(kind: 'pods', namespace: string, name: string): { readonly uid: string; readonly object: KubeObject } | undefined;
}

interface PodShape {
  readonly spec?: { readonly nodeName?: string };
  readonly status?: { readonly containerStatuses?: readonly { readonly name: string; readonly state?: { readonly waiting?: { readonly reason?: string } } }[] };
}

/**
 * The pod a request names, if this node runs it: held in edge.db under the same uid the cloud
 * sees, and bound to this node.
 * @throws {StreamError} `STREAM_POD_NOT_FOUND`
 */
export function podOf(pods: PodSource, node: string, r: StreamRequest): KubeObject & PodShape {
  const stored = pods.get('pods', r.namespace, r.pod);
  const pod: (KubeObject & PodShape) | undefined = stored?.object;
  if (stored === undefined || pod === undefined || stored.uid !== r.uid || pod.spec?.nodeName !== node) {
    throw new StreamError('STREAM_POD_NOT_FOUND', `pod "${r.pod}" in namespace "${r.namespace}" (uid ${r.uid}) does not run on node "${node}"`);
  }
  return pod;
}

/**
 * The newest instance of a pod's container, as the kubelet picks it for logs and exec.
 * @throws {StreamError} `STREAM_CONTAINER_NOT_FOUND` when it never started (or, with `running`, is not running now)
 */
export async function containerOf(runtime: StreamRuntime, pod: KubeObject & PodShape, name: string, options: { running: boolean }): Promise<ContainerSummary> {
  const uid = pod.metadata.uid ?? '';
  const all = await runtime.listContainers({ labels: { [LABELS.podUid]: uid, [LABELS.containerName]: name } });
  const newest = all.toSorted((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt)[0];
  const podName = pod.metadata.name ?? '';
  if (newest === undefined || newest.state === 'created') {
    const waiting = pod.status?.containerStatuses?.find((s) => s.name === name)?.state?.waiting?.reason;
    throw new StreamError('STREAM_CONTAINER_NOT_FOUND', `container "${name}" in pod "${podName}" is waiting to start${waiting !== undefined ? `: ${waiting}` : ''}`);
  }
  if (options.running && newest.state !== 'running') throw new StreamError('STREAM_CONTAINER_NOT_FOUND', `container "${name}" in pod "${podName}" is not running`);
  return newest;
}

/**
 * The pod's running sandbox, whose network namespace a port-forward enters: the newest ready one.
 * @throws {StreamError} `STREAM_CONTAINER_NOT_FOUND` when the pod has none (not started, or stopped)
 */
export async function sandboxOf(runtime: StreamRuntime, pod: KubeObject & PodShape): Promise<string> {
  const sandboxes = await runtime.listPodSandboxes({ [LABELS.podUid]: pod.metadata.uid ?? '' });
  const ready = sandboxes.filter((s) => s.state === 'ready').toSorted((a, b) => b.createdAt - a.createdAt)[0];
  if (ready === undefined) throw new StreamError('STREAM_CONTAINER_NOT_FOUND', `pod "${pod.metadata.name ?? ''}" has no running sandbox to forward into`);
  return ready.id;
}

/** The error a stream ends with for anything a handler throws. */
export function streamErrorOf(err: unknown): { code: StreamErrorCode; message: string } {
  if (err instanceof StreamError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof PlatformError) {
    if (err.code === 'EDGE_RUNTIME_NOT_FOUND') return { code: 'STREAM_CONTAINER_NOT_FOUND', message };
    if (err.code === 'EDGE_RUNTIME_UNSUPPORTED') return { code: 'STREAM_UNSUPPORTED', message };
  }
  return { code: 'STREAM_FAILED', message };
}
