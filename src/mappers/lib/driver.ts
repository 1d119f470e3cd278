import type { MembershipDevice, MembershipProperty } from '../../edge/twin/messages.ts';

/**
 * A device as a mapper sees it: the membership entry DeviceTwin publishes (KubeEdge's device plus
 * kedge's protocol and property definitions).
 */
export type MapperDevice = MembershipDevice;
export type MapperProperty = MembershipProperty;

/**
 * What a protocol plugs into the mapper library: KubeEdge mapper-framework's driver
 * (`NewClient`/`InitDevice`, `GetDeviceData`, `SetDeviceData`, `StopDevice`) in TypeScript. The
 * library does the rest: membership, scheduling, reporting, state and reconnects.
 */
export interface DeviceDriver {
  /** The `protocolName` of the devices this driver serves (`modbus`, `opcua`, `virtual`). */
  readonly protocol: string;
  /**
   * Connects to a device, ready to read and write.
   * @throws {MapperError} `MAPPER_CONFIG_INVALID` for a device configuration the driver cannot use,
   *   `MAPPER_DEVICE_UNREACHABLE` or `MAPPER_TIMEOUT` when the device does not answer
   */
  connect(device: MapperDevice, signal: AbortSignal): Promise<DeviceConnection>;
}

/** One live connection to a device. Calls are made one at a time. */
export interface DeviceConnection {
  /**
   * Reads a property's value, formatted as a twin value (a string).
   * @throws {MapperError} with `connectionLost` true when the connection must be made again
   */
  read(property: MapperProperty): Promise<string>;
  /**
   * Writes a desired value to the device.
   * @throws {MapperError} `MAPPER_NOT_WRITABLE`, `MAPPER_VALUE_INVALID`, or as {@link read}
   */
  write(property: MapperProperty, value: string): Promise<void>;
  /** Closes the connection; never throws. */
  close(): Promise<void>;
}
