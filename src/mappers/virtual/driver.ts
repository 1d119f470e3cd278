import { isJsonObject } from '../../api/object.ts';
import { checkValue, parseBoolean } from '../../protocol/devices.ts';
import type { DeviceConnection, DeviceDriver, MapperDevice, MapperProperty } from '../lib/driver.ts';
import { MapperError } from '../lib/errors.ts';

export const GENERATORS = ['random', 'sine', 'counter', 'constant'] as const;
export type Generator = (typeof GENERATORS)[number];

/** A virtual property's visitor configData. */
export interface VirtualVisitor {
  /** @default 'random' for ReadOnly properties, 'constant' for ReadWrite ones */
  readonly generator: Generator;
  /** @default the property's minimum, or 0 */
  readonly min: number;
  /** @default the property's maximum, or 100 */
  readonly max: number;
  /** Period of `sine`. @default 60_000 */
  readonly periodMs: number;
  /** Increment of `counter`. @default 1 */
  readonly step: number;
  /** Start value of `constant` (and of a counter). */
  readonly value: string | undefined;
}

/**
 * Parses a virtual visitor.
 * @throws {MapperError} `MAPPER_CONFIG_INVALID`
 */
export function parseVirtualVisitor(p: MapperProperty): VirtualVisitor {
  const c = isJsonObject(p.visitors?.configData) ? p.visitors.configData : {};
  const g = c['generator'] ?? (p.accessMode === 'ReadOnly' ? 'random' : 'constant');
  if (typeof g !== 'string' || !(GENERATORS as readonly string[]).includes(g)) throw new MapperError('MAPPER_CONFIG_INVALID', `property "${p.name}": visitors.configData.generator must be one of ${GENERATORS.join(', ')}`);
  const num = (k: string, fallback: number): number => {
    const v = c[k];
    if (v === undefined) return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new MapperError('MAPPER_CONFIG_INVALID', `property "${p.name}": visitors.configData.${k} must be a number`);
    return n;
  };
  const min = num('min', p.minimum !== undefined ? Number(p.minimum) : 0);
  const max = num('max', p.maximum !== undefined ? Number(p.maximum) : 100);
  if (min > max) throw new MapperError('MAPPER_CONFIG_INVALID', `property "${p.name}": visitors.configData.min is above max`);
  return { generator: g as Generator, min, max, periodMs: Math.max(1, num('periodMs', 60_000)), step: num('step', 1), value: typeof c['value'] === 'string' || typeof c['value'] === 'number' || typeof c['value'] === 'boolean' ? String(c['value']) : undefined };
}

function format(n: number, p: MapperProperty): string {
  if (p.type === 'INT') return String(Math.round(n));
  if (p.type === 'BOOLEAN') return String(n >= 0.5);
  if (p.type === 'STRING' || p.type === 'BYTES') return `v${Math.round(n)}`;
  return String(Number(n.toFixed(3)));
}

/**
 * Virtual devices for demos, tests and benchmarks: every read generates a value (random within the
 * property's range, a sine wave, a counter, or a constant), every write is kept and read back.
 */
export class VirtualDriver implements DeviceDriver {
  readonly protocol = 'virtual';
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  connect(device: MapperDevice): Promise<DeviceConnection> {
    try {
      const visitors = new Map(device.properties.map((p) => [p.name, parseVirtualVisitor(p)]));
      return Promise.resolve(new VirtualConnection(visitors, this.#now));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

class VirtualConnection implements DeviceConnection {
  readonly #visitors: Map<string, VirtualVisitor>;
  readonly #now: () => number;
  readonly #values = new Map<string, string>();
  readonly #counters = new Map<string, number>();

  constructor(visitors: Map<string, VirtualVisitor>, now: () => number) {
    this.#visitors = visitors;
    this.#now = now;
  }

  read(p: MapperProperty): Promise<string> {
    const v = this.#visitors.get(p.name) ?? parseVirtualVisitor(p);
    const written = this.#values.get(p.name);
    if (written !== undefined) return Promise.resolve(written);
    switch (v.generator) {
      case 'constant':
        return Promise.resolve(v.value ?? format(v.min, p));
      case 'random':
        return Promise.resolve(format(v.min + Math.random() * (v.max - v.min), p));
      case 'sine': {
        const phase = (2 * Math.PI * (this.#now() % v.periodMs)) / v.periodMs;
        return Promise.resolve(format(v.min + ((Math.sin(phase) + 1) / 2) * (v.max - v.min), p));
      }
      case 'counter': {
        const start = v.value !== undefined ? Number(v.value) : v.min;
        const prev = this.#counters.get(p.name);
        let next = prev === undefined ? start : prev + v.step;
        if (next > v.max) next = v.min;
        this.#counters.set(p.name, next);
        return Promise.resolve(format(next, p));
      }
    }
  }

  write(p: MapperProperty, value: string): Promise<void> {
    if (p.accessMode === 'ReadOnly') return Promise.reject(new MapperError('MAPPER_NOT_WRITABLE', `property "${p.name}" is ReadOnly`));
    const why = checkValue(value, p);
    if (why !== undefined || (p.type === 'BOOLEAN' && parseBoolean(value) === undefined)) return Promise.reject(new MapperError('MAPPER_VALUE_INVALID', `property "${p.name}": ${JSON.stringify(value)} ${why ?? 'is not a boolean'}`));
    this.#values.set(p.name, value);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
