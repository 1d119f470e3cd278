import type { DeviceObject, DeviceStatus, DeviceTwinStatus } from '../../../protocol/devices.ts';
import type { DeviceReport } from '../../../protocol/envelope.ts';

/** What is waiting to be written for one device: reports merged, the newest winning per property. */
export interface PendingReport {
  readonly uid: string;
  readonly state?: string;
  readonly lastOnlineTime?: string;
  /** propertyName → twin. */
  readonly twins: ReadonlyMap<string, DeviceTwinStatus>;
}

/** A report as a {@link PendingReport}. */
export function pendingOf(report: DeviceReport): PendingReport {
  return {
    uid: report.uid,
    ...(report.state !== undefined ? { state: report.state } : {}),
    ...(report.lastOnlineTime !== undefined ? { lastOnlineTime: report.lastOnlineTime } : {}),
    twins: new Map(report.twins.map((t) => [t.propertyName, t])),
  };
}

/**
 * `newer` on top of `older`: per property the newer twin, the newer state and online time when it
 * has them. Reports of another uid (the device was re-created) do not mix: the newer wins whole.
 */
export function mergePending(older: PendingReport | undefined, newer: PendingReport): PendingReport {
  if (older === undefined || older.uid !== newer.uid) return newer;
  const state = newer.state ?? older.state;
  const lastOnlineTime = newer.lastOnlineTime ?? older.lastOnlineTime;
  return {
    uid: newer.uid,
    ...(state !== undefined ? { state } : {}),
    ...(lastOnlineTime !== undefined ? { lastOnlineTime } : {}),
    twins: new Map([...older.twins, ...newer.twins]),
  };
}

/**
 * The Device status after applying an edge report: each reported property's twin replaced whole
 * (the edge sends everything it knows of it), the others kept; state and lastOnlineTime when
 * reported; every other status field as it was. Twins are ordered as the spec lists the
 * properties, then by name, so a rewrite with the same values is byte-identical (and skipped).
 */
export function applyReport(device: DeviceObject, report: PendingReport): DeviceStatus {
  const current = device.status ?? {};
  const twins = new Map<string, DeviceTwinStatus>();
  for (const t of listOf(current.twins)) if (typeof t?.propertyName === 'string') twins.set(t.propertyName, t);
  for (const [name, t] of report.twins) twins.set(name, t);
  const next: DeviceStatus = {
    ...current,
    ...(report.state !== undefined ? { state: report.state } : {}),
    ...(report.lastOnlineTime !== undefined ? { lastOnlineTime: report.lastOnlineTime } : {}),
    twins: orderTwins(device, twins),
  };
  return next;
}

/**
 * The status with only the twins of `properties` (what the device has now), in spec order, and a
 * state (`unknown` until the edge reports one). Undefined when nothing changes.
 */
export function tidyStatus(device: DeviceObject, properties: ReadonlySet<string>): DeviceStatus | undefined {
  const current = device.status ?? {};
  const twins = new Map<string, DeviceTwinStatus>();
  for (const t of listOf(current.twins)) if (typeof t?.propertyName === 'string' && properties.has(t.propertyName)) twins.set(t.propertyName, t);
  const next: DeviceStatus = { ...current, state: current.state ?? 'unknown', twins: orderTwins(device, twins) };
  return sameStatus(current, next) ? undefined : next;
}

/** True when two statuses serialize the same (what the API server would store). */
export function sameStatus(a: DeviceStatus | undefined, b: DeviceStatus | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}

function orderTwins(device: DeviceObject, twins: Map<string, DeviceTwinStatus>): DeviceTwinStatus[] {
  const out: DeviceTwinStatus[] = [];
  for (const p of listOf(device.spec?.properties)) {
    const t = typeof p?.name === 'string' ? twins.get(p.name) : undefined;
    if (t === undefined) continue;
    out.push(t);
    twins.delete(p.name);
  }
  for (const name of [...twins.keys()].sort()) out.push(twins.get(name)!);
  return out;
}

/** A list from an object that passed schema validation, or nothing if it is not one. */
function listOf<T>(v: readonly T[] | undefined): readonly T[] {
  return Array.isArray(v) ? (v as readonly T[]) : [];
}
