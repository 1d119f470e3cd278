import type { DeviceModelObject, DeviceObject } from '../../../protocol/devices.ts';
import { DEVICES_GROUP, DEVICES_VERSION } from '../../../protocol/devices.ts';
import type { ControllerContext, ControllerModule } from '../index.ts';
import { Controller } from '../runtime/controller.ts';
import { objectKey } from '../runtime/informer.ts';
import { DEVICES_BY_MODEL, DeviceController, deviceModelKey } from './controller.ts';

export { DeviceController, DEVICES_BY_MODEL, deviceModelKey } from './controller.ts';
export { DeviceReportWriter, type DeviceCache, type DeviceReportWriterOptions } from './report-writer.ts';

/** Wires the device controller: Devices and DeviceModels, one key per device; a model change requeues its devices. */
export const deviceModule: ControllerModule = {
  name: 'devices',
  async start(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const served = await ctx.client.serverResources();
    if (!served.some((r) => r.group === DEVICES_GROUP && r.plural === 'devices')) {
      ctx.log.warn('devices.kubeedge.io is not served; the device controller does not run');
      return;
    }
    const client = ctx.client.resource<DeviceObject>(DEVICES_GROUP, DEVICES_VERSION, 'devices');
    const devices = ctx.informers.get<DeviceObject>(DEVICES_GROUP, DEVICES_VERSION, 'devices');
    const models = ctx.informers.get<DeviceModelObject>(DEVICES_GROUP, DEVICES_VERSION, 'devicemodels');
    devices.addIndex(DEVICES_BY_MODEL, deviceModelKey);
    const controller = new Controller({ reconciler: new DeviceController({ devices, models, client, recorder: ctx.recorder('device-controller'), log: ctx.log }), log: ctx.log });
    const byKey = (d: DeviceObject): void => controller.enqueue(objectKey(d));
    // Twin reports change only the status, many times a second: the controller has nothing to do
    // for them, only for spec changes (the generation) and devices that have no state yet.
    devices.addHandler({ add: byKey, update: (old, d) => (old.metadata.generation !== d.metadata.generation || d.status?.state === undefined ? byKey(d) : undefined) });
    const byModel = (m: DeviceModelObject): void => {
      for (const d of devices.byIndex(DEVICES_BY_MODEL, objectKey(m))) byKey(d);
    };
    models.addHandler({ add: byModel, update: (_old, m) => byModel(m), delete: byModel });
    await models.start(signal);
    await devices.start(signal);
    controller.start(signal);
  },
};
