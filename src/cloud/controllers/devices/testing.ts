/**
 * A real, in-process API serving Devices and DeviceModels for the unit tests of the device
 * controller, the status writer and device admission: the API server's storage with kedge's
 * devices.kubeedge.io CRDs (the same YAML the API server installs), their admission hooks and
 * namespace semantics, on SQLite in a temporary directory, reached through the in-process client.
 */
import { createServedRegistry } from '../../apiserver/resources/served-registry.ts';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../../api/object.ts';
import { silentLogger } from '../../../log/logger.ts';
import type { DeviceModelObject, DeviceObject } from '../../../protocol/devices.ts';
import { SqliteBackend } from '../../../store/sqlite.ts';
import { crdResourceTypes } from '../../apiserver/crd/resource-types.ts';
import { BUILTIN_RESOURCES } from '../../apiserver/resources/builtin.ts';
import type { ResourceRegistry } from '../../apiserver/resources/registry.ts';
import type { KubeClient, ResourceClient } from '../../client/client.ts';
import { LocalClient } from '../../client/local-client.ts';

const DEVICE_CRDS = new URL('../../apiserver/crd/builtin/devices.kubeedge.io.yaml', import.meta.url);

/** The in-process API with clients for devices, models, nodes and events. */
export class DeviceTestApi {
  readonly client: KubeClient;
  readonly registry: ResourceRegistry;
  readonly devices: ResourceClient<DeviceObject>;
  readonly models: ResourceClient<DeviceModelObject>;
  readonly nodes: ResourceClient;
  readonly events: ResourceClient;
  readonly #backend: SqliteBackend;
  readonly #dir: string;

  private constructor(registry: ResourceRegistry, backend: SqliteBackend, dir: string) {
    this.registry = registry;
    this.#backend = backend;
    this.#dir = dir;
    this.client = new LocalClient(registry, 'system:kube-controller-manager', { backend });
    this.devices = this.client.resource('devices.kubeedge.io', 'v1beta1', 'devices');
    this.models = this.client.resource('devices.kubeedge.io', 'v1beta1', 'devicemodels');
    this.nodes = this.client.resource('', 'v1', 'nodes');
    this.events = this.client.resource('', 'v1', 'events');
  }

  /** Serves the built-in resources and the device CRDs on a fresh store, with the `default` namespace. */
  static async start(): Promise<DeviceTestApi> {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-devices-'));
    const log = silentLogger();
    const backend = await SqliteBackend.open(join(dir, 'state.db'), { log });
    const registry = createServedRegistry({ backend, log });
    for (const rt of BUILTIN_RESOURCES) await registry.add(rt);
    for (const doc of parseAllDocuments(readFileSync(DEVICE_CRDS, 'utf8'))) for (const rt of crdResourceTypes(doc.toJSON() as KubeObject)) await registry.add(rt);
    const api = new DeviceTestApi(registry, backend, dir);
    await api.client.resource('', 'v1', 'namespaces').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    return api;
  }

  async close(): Promise<void> {
    this.registry.stop();
    await this.#backend.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** A DeviceModel `name` in `default` with the given properties. */
  createModel(name: string, properties: NonNullable<DeviceModelObject['spec']>['properties'], protocol = 'modbus'): Promise<DeviceModelObject> {
    return this.models.create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name, namespace: 'default' }, spec: { protocol, properties } });
  }

  /** A Device `name` in `default` of `model` on `nodeName`. */
  createDevice(name: string, model: string, spec: Partial<NonNullable<DeviceObject['spec']>> = {}, nodeName = 'edge-1'): Promise<DeviceObject> {
    return this.devices.create('default', {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name, namespace: 'default' },
      spec: { deviceModelRef: { name: model }, nodeName, protocol: { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: 502 } }, ...spec },
    });
  }
}
