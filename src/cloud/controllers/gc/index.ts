import type { ControllerContext, ControllerModule } from '../index.ts';
import { Controller } from '../runtime/controller.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { NamespaceController, type NamespaceObject } from './namespace.ts';
import { PodGarbageCollector, type NodeObject, type PodObject } from './pod-gc.ts';

export { GarbageCollector } from './garbage-collector.ts';
export { NamespaceController, KUBERNETES_FINALIZER } from './namespace.ts';
export { PodGarbageCollector, ORPHAN_QUARANTINE_MS } from './pod-gc.ts';
export { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from './graph.ts';

/** How often the garbage collector looks for resources that appeared (CRDs) or went. */
const RESOURCE_RESYNC_MS = 5_000;

/** The garbage collector over every served resource; follows CRDs as they come and go. */
export const garbageCollectorModule: ControllerModule = {
  name: 'garbage-collector',
  async start(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    let gc: GarbageCollector | undefined = undefined;
    const controller = new Controller({ reconciler: { name: 'garbage-collector', reconcile: (uid) => gc!.reconcile(uid) }, workers: 4, log: ctx.log });
    gc = new GarbageCollector({ client: ctx.client, informers: ctx.informers, log: ctx.log, enqueue: (uid) => controller.enqueue(uid) });
    await gc.syncResources(signal);
    controller.start(signal);
    const collector = gc;
    const timer = setInterval(() => {
      collector.syncResources(signal).catch((err: unknown) => ctx.log.warn('cannot follow served resources', { err: String(err) }));
    }, RESOURCE_RESYNC_MS);
    timer.unref();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  },
};

/** The namespace controller: empties and finalizes namespaces being deleted. */
export const namespaceModule: ControllerModule = {
  name: 'namespace',
  async start(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const namespaces = ctx.informers.get<NamespaceObject>('', 'v1', 'namespaces');
    const reconciler = new NamespaceController({ namespaces, client: ctx.client, log: ctx.log });
    const controller = new Controller({ reconciler, log: ctx.log });
    const enqueue = (ns: NamespaceObject): void => {
      if (ns.metadata.deletionTimestamp !== undefined) controller.enqueue(ns.metadata.name ?? '');
    };
    namespaces.addHandler({ add: enqueue, update: (_old, ns) => enqueue(ns) });
    await namespaces.start(signal);
    controller.start(signal);
  },
};

/** The pod garbage collector: pods bound to nodes that no longer exist. */
export const podGcModule: ControllerModule = {
  name: 'pod-gc',
  async start(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const podClient = ctx.client.resource<PodObject>('', 'v1', 'pods');
    const nodeClient = ctx.client.resource<NodeObject>('', 'v1', 'nodes');
    const nodes = ctx.informers.get<NodeObject>('', 'v1', 'nodes');
    const pods = ctx.informers.get<PodObject>('', 'v1', 'pods');
    pods.addIndex('nodeName', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    const reconciler = new PodGarbageCollector({ pods, nodes, podClient, nodeClient, recorder: ctx.recorder('pod-garbage-collector'), log: ctx.log });
    const controller = new Controller({ reconciler, log: ctx.log });
    const check = (p: PodObject): void => {
      if (reconciler.orphaned(p)) controller.enqueue(`${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`);
    };
    pods.addHandler({ add: check, update: (_old, p) => check(p) });
    nodes.addHandler({
      add: (n) => reconciler.nodeSeen(n.metadata.name ?? ''),
      delete: (n) => {
        for (const p of pods.byIndex('nodeName', n.metadata.name ?? '')) check(p);
      },
    });
    await nodes.start(signal);
    await pods.start(signal);
    controller.start(signal);
  },
};
