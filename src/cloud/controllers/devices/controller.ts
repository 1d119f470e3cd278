import type { Logger } from '../../../log/logger.ts';
import { resolveDevice, type DeviceModelObject, type DeviceObject } from '../../../protocol/devices.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import { tidyStatus } from './status.ts';

/** Index of devices by `namespace/model`. */
export const DEVICES_BY_MODEL = 'model';

/** The model key (`namespace/name`) a device refers to. */
export function deviceModelKey(device: DeviceObject): string[] {
  const name = device.spec?.deviceModelRef?.name;
  return typeof name === 'string' && name !== '' ? [`${device.metadata.namespace ?? 'default'}/${name}`] : [];
}

/** Options of {@link DeviceController}. */
export interface DeviceControllerOptions {
  readonly devices: Informer<DeviceObject>;
  readonly models: Informer<DeviceModelObject>;
  readonly client: ResourceClient<DeviceObject>;
  readonly recorder: EventRecorder;
  readonly log: Logger;
}

/**
 * The cloud half of device management that needs no edge: keeps each Device's status consistent
 * with its spec and model, level-triggered. `status.twins` holds exactly the properties the device
 * has now (a property removed from the spec or the model takes its twin with it), in spec order,
 * and `status.state` starts as `unknown` until the device's edge reports one. A Device whose
 * DeviceModel is missing (deleted after the device was admitted) gets a Warning event.
 *
 * Sending Devices and their DeviceModels to the node in `spec.nodeName` is the hub's per-node
 * dispatch (src/cloud/hub/desired.ts); writing what edges report is {@link DeviceReportWriter}.
 * Both this controller and the writer write status with resourceVersion preconditions, so neither
 * overwrites the other.
 */
export class DeviceController implements Reconciler {
  readonly name = 'devices';
  readonly #o: DeviceControllerOptions;

  constructor(options: DeviceControllerOptions) {
    this.#o = options;
  }

  async reconcile(key: string): Promise<void> {
    const device = this.#o.devices.getByKey(key);
    if (device === undefined) return;
    const [modelKey] = deviceModelKey(device);
    const model = modelKey === undefined ? undefined : this.#o.models.getByKey(modelKey);
    if (model === undefined) {
      await this.#o.recorder.record(device, 'Warning', 'DeviceModelNotFound', `DeviceModel "${device.spec?.deviceModelRef?.name ?? ''}" does not exist in namespace "${device.metadata.namespace ?? 'default'}"; the device keeps its last status`);
      return;
    }
    const properties = new Set(resolveDevice(device, model).properties.map((p) => p.name));
    const status = tidyStatus(device, properties);
    if (status === undefined) return;
    this.#o.log.debug('tidying device status', { device: key });
    await this.#o.client.updateStatus({ ...device, status });
  }
}
