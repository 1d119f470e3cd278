import type { Backend } from '../../../store/backend.ts';
import type { Logger } from '../../../log/logger.ts';
import { policyFor } from '../storage/policies.ts';
import { composeHooks } from '../storage/compose-hooks.ts';
import type { ResourceHooks } from '../storage/hooks.ts';
import { crdHooks } from '../crd/crd-hooks.ts';
import { ResourceRegistry } from './registry.ts';
import type { ResourceType } from './resource-type.ts';
import { namespaceHooks, namespaceLifecycleHooks } from './hooks/namespaces.ts';
import { podHooks } from './hooks/pods.ts';
import { ServiceAllocator } from './hooks/services.ts';
import { deviceHooks, deviceModelHooks } from './hooks/devices.ts';

/**
 * The registry the API server serves from, with every resource's policy and admission hooks (the
 * namespace lifecycle, pods, service IPs, CRDs, devices). Tests that need a real in-process API build
 * theirs with it too, so they run the same admission as the server. Resources are added by the caller.
 */
export function createServedRegistry(options: { backend: Backend; log: Logger }): ResourceRegistry {
  const services = new ServiceAllocator(async () => {
    const s = registry.lookup('', 'v1', 'services');
    if (s === undefined) return [];
    const page = await s.list(undefined, {});
    return page.items.map((o) => s.served(o));
  });
  const registry: ResourceRegistry = new ResourceRegistry({
    backend: options.backend,
    log: options.log,
    factory: { policy: policyFor, hooks: (rt) => hooksFor(rt, () => registry, services) },
  });
  return registry;
}

function hooksFor(rt: ResourceType, registry: () => ResourceRegistry, services: ServiceAllocator): ResourceHooks | undefined {
  const lifecycle = rt.namespaced ? namespaceLifecycleHooks(() => registry().lookup('', 'v1', 'namespaces')) : undefined;
  // kedge's own CRDs: devices are admitted against their DeviceModel.
  if (rt.group === 'devices.kubeedge.io' && rt.plural === 'devices') return composeHooks(lifecycle, deviceHooks(() => registry().lookup(rt.group, rt.version, 'devicemodels')));
  if (rt.group === 'devices.kubeedge.io' && rt.plural === 'devicemodels') return composeHooks(lifecycle, deviceModelHooks());
  if (rt.crdName !== undefined) return lifecycle;
  switch (`${rt.group}/${rt.plural}`) {
    case '/namespaces':
      return namespaceHooks();
    case '/pods':
      return composeHooks(lifecycle, podHooks());
    case '/services':
      return composeHooks(lifecycle, services.hooks());
    case 'apiextensions.k8s.io/customresourcedefinitions':
      return crdHooks();
    default:
      return lifecycle;
  }
}