import type { DatabaseSync } from 'node:sqlite';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { envelope } from '../../protocol/codec.ts';
import { checkValue, isOnlineState, metadataType, resolveDevice, type DeviceObject, type ResolvedDevice, type ResolvedProperty } from '../../protocol/devices.ts';
import { MAX_REPORT_DEVICES, type DeviceReport, type SyncedKind } from '../../protocol/envelope.ts';
import type { EventBus } from '../eventbus/bus.ts';
import type { BatchUplink } from '../hub/session.ts';
import type { Change, StoredObject } from '../meta/meta-manager.ts';
import { TwinError } from './errors.ts';
import {
  decodeGet,
  decodeStateUpdate,
  decodeTwinUpdate,
  eventIdOf,
  parseInboundTopic,
  topics,
  TWIN_SUBSCRIPTIONS,
  type DeviceUpdated,
  type ErrorResult,
  type MembershipResult,
  type StateResult,
  type TwinResult,
  type MembershipDevice,
  type MembershipUpdate,
  type MsgAttr,
  type MsgTwin,
  type StateUpdate,
  type TwinDelta,
  type TwinDocument,
  type TwinUpdate,
} from './messages.ts';
import { TwinStore, type StoredDevice, type StoredTwin } from './store.ts';
import { rfc3339 } from '../../api/time.ts';

/** What DeviceTwin reads of MetaManager: the Devices and DeviceModels the cloud sent, and their changes. */
export interface TwinMetaSource {
  get(kind: SyncedKind, namespace: string, name: string): StoredObject | undefined;
  list(kind: SyncedKind, namespace?: string): StoredObject[];
  /** Called synchronously after every committed batch of changes. @returns unsubscribe */
  subscribe(listener: (changes: readonly Change[]) => void): () => void;
}

/** Options of {@link DeviceTwin}. */
export interface DeviceTwinOptions {
  readonly nodeName: string;
  /** edge.db. */
  readonly db: DatabaseSync;
  readonly meta: TwinMetaSource;
  readonly bus: EventBus;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
  /** Devices per report sent to the cloud. @default 500 */
  readonly maxReportDevices?: number;
}

/** Counters since start. */
export interface TwinStats {
  /** twin/update messages applied. */
  readonly updates: number;
  /** Inbound messages refused with an error result. */
  readonly refused: number;
  /** Devices on this node. */
  readonly devices: number;
  /** Devices whose latest report the cloud has not taken yet. */
  readonly pendingReports: number;
  /** edge.db transactions committed. */
  readonly commits: number;
}

/** A device in memory: what is stored, plus its resolved spec. */
interface Entry extends StoredDevice {
  readonly namespace: string;
  readonly name: string;
  resolved: ResolvedDevice;
  props: Map<string, ResolvedProperty>;
  description: string;
  /** What mappers see of the device beyond its twins; a change is announced on membership/updated. */
  membershipKey: string;
}

/** What the next flush writes for one device. */
interface PendingWrite {
  deleted: boolean;
  device: boolean;
  attributes: boolean;
  readonly twins: Set<string>;
}

/**
 * DeviceTwin: the digital twins of this node's devices, kept in edge.db and spoken over the
 * EventBus in KubeEdge's MQTT protocol (topics and payloads in `messages.ts`).
 *
 * - From the cloud (MetaManager): each Device with its DeviceModel becomes a device with one twin
 *   per property. A desired value (`spec.properties[].desired`) becomes the twin's `expected`; when
 *   it differs from the actual value it is published on `.../twin/update/delta` for the mapper to
 *   write. Devices added, changed and removed are announced on `$hw/events/node/<node>/membership/updated`.
 * - From mappers: `twin/update` sets actual values (and the desired value the mapper applied, its
 *   `expected`, which the cloud shows as `observedDesired`). Every value is checked against the
 *   property's type and range in the model; an update with any bad value is refused whole, with a
 *   code and reason on `.../twin/update/result`. `state/update` sets the device's state.
 * - To the cloud: each device's latest twins and state, latest-wins and durable (a dirty mark in
 *   edge.db), sent by EdgeHub through {@link uplink} whenever it is connected: an edge offline for a
 *   day sends each device's latest once, not every value it saw.
 *
 * Writes are grouped: everything that happens in one turn of the event loop is committed in one
 * edge.db transaction, and only then are the answers published, so an accepted update is on disk.
 * Malformed input of any kind gets an error result and changes nothing; it never throws.
 */
export class DeviceTwin {
  readonly #o: DeviceTwinOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #store: TwinStore;
  readonly #devices = new Map<string, Entry>();
  readonly #writes = new Map<string, PendingWrite>();
  #outbox: { topic: string; payload: string }[] = [];
  readonly #added = new Map<string, Entry>();
  readonly #removed = new Map<string, { id: string; name: string; namespace: string }>();
  /** Devices whose report waits for the cloud, in the order they became dirty. */
  readonly #dirty = new Set<string>();
  /** Devices to report again because a new session started. */
  readonly #resync = new Set<string>();
  readonly #pendingListeners = new Set<() => void>();
  #inFlight = false;
  #seq = 0;
  #flushScheduled = false;
  #notify = false;
  #started = false;
  #stopped = false;
  #stats = { updates: 0, refused: 0, commits: 0 };

  constructor(options: DeviceTwinOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#store = new TwinStore(options.db);
  }

  get stats(): TwinStats {
    return { ...this.#stats, devices: this.#devices.size, pendingReports: this.#dirty.size };
  }

  /**
   * Loads the twins from edge.db, reconciles them with the Devices MetaManager holds (changes made
   * while the edge was down are applied and announced), subscribes to the device topics, and
   * resolves. Runs until `signal` aborts.
   */
  async start(signal: AbortSignal): Promise<void> {
    const stored = this.#store.loadAll();
    for (const s of stored.values()) this.#seq = Math.max(this.#seq, s.dirty);
    const present = new Set<string>();
    for (const obj of this.#o.meta.list('devices')) {
      const id = `${obj.namespace}/${obj.name}`;
      present.add(id);
      const s = stored.get(id);
      if (s !== undefined && s.uid === obj.uid) this.#devices.set(id, this.#entry(obj, s));
      this.#syncDevice(obj.namespace, obj.name);
    }
    for (const s of stored.values()) {
      if (present.has(s.id)) continue;
      const [namespace = '', name = ''] = s.id.split('/', 2);
      this.#removed.set(s.id, { id: s.id, name, namespace });
      this.#write(s.id).deleted = true;
    }
    for (const e of this.#devices.values()) if (e.dirty > 0) this.#dirty.add(e.id);
    const unsubscribe = this.#o.meta.subscribe((changes) => this.#onMetaChanges(changes));
    signal.addEventListener(
      'abort',
      () => {
        unsubscribe();
        // What this turn changed is written now, while edge.db is still open; nothing after it is.
        this.#flush();
        this.#stopped = true;
      },
      { once: true },
    );
    for (const filter of TWIN_SUBSCRIPTIONS) await this.#o.bus.subscribe(filter, (topic, payload) => this.#onMessage(topic, payload));
    this.#started = true;
    this.#flush();
    this.#log.info('DeviceTwin started', { devices: this.#devices.size, pendingReports: this.#dirty.size, bus: this.#o.bus.url });
  }

  /** The device reports EdgeHub sends to the cloud (group `twin`, op `report`). */
  readonly uplink: BatchUplink = {
    next: () => this.#nextBatch(),
    onPending: (listener) => {
      this.#pendingListeners.add(listener);
      return () => this.#pendingListeners.delete(listener);
    },
    resync: () => {
      for (const id of this.#devices.keys()) this.#resync.add(id);
      if (this.#devices.size > 0) this.#notifyPending();
    },
  };

  // -------------------------------------------------------------------------------------------
  // MQTT

  #onMessage(topic: string, payload: Buffer): void {
    if (this.#stopped) return;
    const t = parseInboundTopic(topic);
    if (t === undefined) return;
    const resultTopic =
      t.kind === 'membership-get'
        ? topics.membershipGetResult(t.node)
        : t.kind === 'twin-update'
          ? topics.twinUpdateResult(t.namespace, t.name)
          : t.kind === 'twin-get'
            ? topics.twinGetResult(t.namespace, t.name)
            : topics.stateUpdateResult(t.namespace, t.name);
    try {
      switch (t.kind) {
        case 'twin-update':
          this.#twinUpdate(this.#existing(t.namespace, t.name), decodeTwinUpdate(payload), resultTopic);
          break;
        case 'state-update':
          this.#stateUpdate(this.#existing(t.namespace, t.name), decodeStateUpdate(payload), resultTopic);
          break;
        case 'twin-get': {
          const e = this.#existing(t.namespace, t.name);
          const req = decodeGet(payload);
          this.#publish(resultTopic, { event_id: req.event_id, timestamp: this.#now(), twin: this.#msgTwins(e, true) });
          break;
        }
        case 'membership-get': {
          const req = decodeGet(payload);
          if (t.node !== this.#o.nodeName) throw new TwinError('TWIN_DEVICE_NOT_FOUND', `node ${t.node} is not this node (${this.#o.nodeName}); ask $hw/events/node/${this.#o.nodeName}/membership/get`);
          this.#publish(resultTopic, { event_id: req.event_id, timestamp: this.#now(), devices: [...this.#devices.values()].map((e) => this.#membershipDevice(e)) });
          break;
        }
      }
    } catch (err) {
      const e = err instanceof TwinError ? err : new TwinError('TWIN_INTERNAL', `cannot handle the message: ${describeError(err)}`, { cause: err });
      if (e.code === 'TWIN_INTERNAL') this.#log.error('twin message failed', { topic, err: describeError(err) });
      else this.#log.debug('twin message refused', { topic, code: e.code, err: e.message });
      this.#stats.refused++;
      const result: ErrorResult = { event_id: eventIdOf(payload), timestamp: this.#now(), code: e.mqttCode, reason: e.message, error: e.code };
      this.#publish(resultTopic, result);
    }
    this.#schedule();
  }

  #existing(namespace: string, name: string): Entry {
    const e = this.#devices.get(`${namespace}/${name}`);
    if (e === undefined) throw new TwinError('TWIN_DEVICE_NOT_FOUND', `update rejected: device ${namespace}/${name} does not exist on node ${this.#o.nodeName}`);
    return e;
  }

  #twinUpdate(e: Entry, msg: TwinUpdate, resultTopic: string): void {
    // Everything is checked before anything is applied: an update is taken whole or not at all.
    for (const [name, t] of Object.entries(msg.twin)) {
      const prop = e.props.get(name);
      if (prop === undefined) throw new TwinError('TWIN_PROPERTY_NOT_FOUND', `device ${e.id} has no property "${name}" (its model ${e.resolved.model} has: ${[...e.props.keys()].join(', ') || 'none'})`);
      for (const side of ['actual', 'expected'] as const) {
        const value = t[side]?.value;
        if (value === undefined) continue;
        const why = checkValue(value, prop);
        if (why !== undefined) throw new TwinError('TWIN_VALUE_INVALID', `property "${name}" of device ${e.id}: ${side} value ${JSON.stringify(value)} ${why} (${prop.type}${rangeOf(prop)} in DeviceModel ${e.resolved.model})`);
      }
    }
    const now = this.#now();
    const result: Record<string, MsgTwin> = {};
    const docs: TwinDocument['twin'][string][] = [];
    const docNames: string[] = [];
    let forCloud = false;
    for (const [name, t] of Object.entries(msg.twin)) {
      const prop = e.props.get(name)!;
      const twin = e.twins.get(name) ?? newTwin();
      e.twins.set(name, twin);
      const last = this.#msgTwin(prop, twin, true);
      let changed = false;
      const actual = t.actual?.value;
      if (actual !== undefined) {
        if (actual !== twin.actual?.value) {
          twin.actualVersion++;
          changed = true;
        }
        twin.actual = { value: actual, ts: t.actual?.metadata?.timestamp ?? (msg.timestamp > 0 ? msg.timestamp : now), type: t.metadata?.type ?? metadataType(prop.type) };
      }
      const observed = t.expected?.value;
      if (observed !== undefined) {
        if (observed !== twin.observed?.value) changed = true;
        twin.observed = { value: observed, ts: t.expected?.metadata?.timestamp ?? now };
      }
      this.#write(e.id).twins.add(name);
      result[name] = this.#msgTwin(prop, twin, false);
      if (changed) {
        docNames.push(name);
        docs.push({ last: twin.actualVersion === 1 && last.actual === undefined && last.expected === undefined ? null : last, current: this.#msgTwin(prop, twin, true) });
        if (prop.reportToCloud) forCloud = true;
      }
    }
    this.#stats.updates++;
    this.#publish(resultTopic, { event_id: msg.event_id, timestamp: now, twin: result });
    if (docNames.length > 0) {
      const doc: TwinDocument = { event_id: msg.event_id, timestamp: now, twin: Object.fromEntries(docNames.map((n, i) => [n, docs[i]!])) };
      this.#publish(topics.twinDocument(e.namespace, e.name), doc);
    }
    this.#publishDelta(e, msg.event_id);
    if (forCloud) this.#markDirty(e);
  }

  #stateUpdate(e: Entry, msg: StateUpdate, resultTopic: string): void {
    const now = this.#now();
    const before = e.state;
    if (isOnlineState(msg.state)) e.lastOnline = rfc3339(now);
    e.state = msg.state;
    this.#write(e.id).device = true;
    // The cloud hears of transitions; the online time it gets with one is the latest seen.
    if (before !== msg.state && e.resolved.reportState) this.#markDirty(e);
    this.#publish(resultTopic, { event_id: msg.event_id, timestamp: now, device: { name: e.name, state: e.state, lastOnlineTime: e.lastOnline } });
  }

  #publishDelta(e: Entry, eventId: string): void {
    const delta: Record<string, string> = {};
    for (const [name, t] of e.twins) if (t.expected !== undefined && t.expected.value !== t.actual?.value) delta[name] = t.expected.value;
    if (Object.keys(delta).length === 0) return;
    const msg: TwinDelta = { event_id: eventId, timestamp: this.#now(), twin: this.#msgTwins(e, true), delta };
    this.#publish(topics.twinDelta(e.namespace, e.name), msg);
  }

  #publish(topic: string, payload: TwinResult | ErrorResult | StateResult | MembershipResult | TwinDelta | TwinDocument | DeviceUpdated): void {
    this.#outbox.push({ topic, payload: JSON.stringify(payload) });
  }

  // -------------------------------------------------------------------------------------------
  // Devices from the cloud

  #onMetaChanges(changes: readonly Change[]): void {
    for (const c of changes) {
      const o = c.object;
      if (o.kind === 'devices') this.#syncDevice(o.namespace, o.name);
      else if (o.kind === 'devicemodels') {
        for (const d of this.#o.meta.list('devices', o.namespace)) if ((d.object as DeviceObject).spec?.deviceModelRef?.name === o.name) this.#syncDevice(d.namespace, d.name);
      }
    }
    this.#schedule();
  }

  /** Brings one device in line with what MetaManager holds: added, changed or removed. */
  #syncDevice(namespace: string, name: string): void {
    const id = `${namespace}/${name}`;
    const stored = this.#o.meta.get('devices', namespace, name);
    let e = this.#devices.get(id);
    if (e !== undefined && (stored === undefined || stored.uid !== e.uid)) {
      this.#remove(e);
      e = undefined;
    }
    if (stored === undefined) return;
    if (e === undefined) {
      e = this.#entry(stored, { id, uid: stored.uid, state: '', lastOnline: '', dirty: 0, attributes: new Map(), twins: new Map() });
      this.#devices.set(id, e);
      const w = this.#write(id);
      w.device = true;
      w.attributes = true;
      this.#removed.delete(id);
      this.#added.set(id, e);
    }
    this.#apply(e, stored);
  }

  /** A device entry for `stored` with the stored twin state `s` (its spec applied by {@link #apply}). */
  #entry(stored: StoredObject, s: StoredDevice): Entry {
    const device = stored.object as DeviceObject;
    const resolved = this.#resolve(device, stored.namespace);
    return { ...s, namespace: stored.namespace, name: stored.name, resolved, props: new Map(resolved.properties.map((p) => [p.name, p])), description: descriptionOf(device), membershipKey: membershipKey(resolved, descriptionOf(device)) };
  }

  #resolve(device: DeviceObject, namespace: string): ResolvedDevice {
    const modelName = device.spec?.deviceModelRef?.name;
    const model = modelName === undefined || modelName === '' ? undefined : (this.#o.meta.get('devicemodels', namespace, modelName)?.object);
    return resolveDevice(device, model);
  }

  /** Applies the device's spec: properties added and removed, desired values, attributes. */
  #apply(e: Entry, stored: StoredObject): void {
    const device = stored.object as DeviceObject;
    const resolved = this.#resolve(device, stored.namespace);
    const description = descriptionOf(device);
    const key = membershipKey(resolved, description);
    e.resolved = resolved;
    e.props = new Map(resolved.properties.map((p) => [p.name, p]));
    e.description = description;
    if (key !== e.membershipKey) {
      e.membershipKey = key;
      if (!this.#added.has(e.id)) this.#added.set(e.id, e);
    }
    const now = this.#now();
    const version = Number.isSafeInteger(Number(stored.resourceVersion)) ? Number(stored.resourceVersion) : 0;
    const docs: Record<string, { last: MsgTwin | null; current: MsgTwin | null }> = {};
    let desiredChanged = false;
    const w = this.#write(e.id);
    for (const [name, twin] of e.twins) {
      if (e.props.has(name)) continue;
      e.twins.delete(name);
      w.twins.add(name);
      docs[name] = { last: this.#msgTwin(undefined, twin, true), current: null };
    }
    for (const p of resolved.properties) {
      let twin = e.twins.get(p.name);
      if (twin === undefined) {
        twin = newTwin();
        e.twins.set(p.name, twin);
        w.twins.add(p.name);
      }
      const want = p.desired?.value;
      if (want === twin.expected?.value) continue;
      const last = this.#msgTwin(p, twin, true);
      if (want === undefined) delete twin.expected;
      else twin.expected = { value: want, ts: now };
      twin.expectedVersion = version;
      w.twins.add(p.name);
      docs[p.name] = { last, current: this.#msgTwin(p, twin, true) };
      desiredChanged = true;
    }
    const attributes = new Map(Object.entries(device.metadata.labels ?? {}));
    if (!sameMap(attributes, e.attributes)) {
      e.attributes = attributes;
      w.attributes = true;
      if (this.#started && !this.#added.has(e.id)) this.#publish(topics.deviceUpdated(e.namespace, e.name), { event_id: '', timestamp: now, attributes: attributesOf(e) });
    }
    if (Object.keys(docs).length > 0) this.#publish(topics.twinDocument(e.namespace, e.name), { event_id: '', timestamp: now, twin: docs });
    if (desiredChanged) this.#publishDelta(e, '');
  }

  #remove(e: Entry): void {
    this.#devices.delete(e.id);
    this.#added.delete(e.id);
    this.#removed.set(e.id, { id: e.id, name: e.name, namespace: e.namespace });
    this.#dirty.delete(e.id);
    this.#resync.delete(e.id);
    const w = this.#write(e.id);
    w.deleted = true;
    w.device = false;
    w.attributes = false;
    w.twins.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Persistence and publication

  #write(id: string): PendingWrite {
    let w = this.#writes.get(id);
    if (w === undefined) {
      w = { deleted: false, device: false, attributes: false, twins: new Set() };
      this.#writes.set(id, w);
    }
    return w;
  }

  #markDirty(e: Entry): void {
    e.dirty = ++this.#seq;
    this.#write(e.id).device = true;
    this.#dirty.delete(e.id);
    this.#dirty.add(e.id);
    this.#notify = true;
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /**
   * Commits what this turn changed in one transaction, then publishes the answers and notices
   * (only durable changes are announced), then wakes the uplink.
   */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#stopped) return;
    const writes = [...this.#writes];
    this.#writes.clear();
    let outbox = this.#outbox;
    this.#outbox = [];
    if (this.#added.size > 0 || this.#removed.size > 0) {
      const update: MembershipUpdate = { event_id: '', timestamp: this.#now(), added_devices: [...this.#added.values()].map((e) => this.#membershipDevice(e)), removed_devices: [...this.#removed.values()] };
      outbox.push({ topic: topics.membershipUpdated(this.#o.nodeName), payload: JSON.stringify(update) });
      this.#added.clear();
      this.#removed.clear();
    }
    if (writes.length > 0) {
      try {
        this.#store.transaction(() => {
          for (const [id, w] of writes) {
            if (w.deleted) this.#store.deleteDevice(id);
            const e = this.#devices.get(id);
            if (e === undefined) continue;
            if (w.device || w.deleted) this.#store.putDevice(e);
            if (w.attributes || w.deleted) this.#store.putAttributes(id, e.attributes);
            for (const name of w.twins) {
              const t = e.twins.get(name);
              if (t === undefined) this.#store.deleteTwin(id, name);
              else this.#store.putTwin(id, name, t);
            }
          }
        });
        this.#stats.commits++;
      } catch (err) {
        // Nothing of this turn is on disk: say so to whoever asked, and go back to what is.
        this.#log.error('cannot store twins in edge.db; reloading', { code: 'TWIN_INTERNAL', err: describeError(err) });
        outbox = outbox.filter((m) => m.topic.endsWith('/result')).map((m) => ({ topic: m.topic, payload: JSON.stringify({ event_id: eventIdOf(Buffer.from(m.payload)), timestamp: this.#now(), code: 500, reason: 'edge.db could not store the update; send it again', error: 'TWIN_INTERNAL' }) }));
        this.#reload();
      }
    }
    for (const m of outbox) this.#o.bus.publish(m.topic, m.payload);
    if (this.#notify) {
      this.#notify = false;
      this.#notifyPending();
    }
  }

  #reload(): void {
    const stored = this.#store.loadAll();
    for (const [id, e] of this.#devices) {
      const s = stored.get(id);
      if (s === undefined || s.uid !== e.uid) {
        this.#devices.delete(id);
        continue;
      }
      Object.assign(e, { state: s.state, lastOnline: s.lastOnline, dirty: s.dirty, attributes: s.attributes, twins: s.twins });
    }
    for (const obj of this.#o.meta.list('devices')) this.#syncDevice(obj.namespace, obj.name);
    this.#schedule();
  }

  #notifyPending(): void {
    for (const l of this.#pendingListeners) l();
  }

  // -------------------------------------------------------------------------------------------
  // The uplink

  #nextBatch(): ReturnType<BatchUplink['next']> {
    if (this.#inFlight || this.#stopped) return undefined;
    const max = Math.min(this.#o.maxReportDevices ?? 500, MAX_REPORT_DEVICES);
    const sent = new Map<string, number>();
    const devices: DeviceReport[] = [];
    const take = (id: string): void => {
      if (sent.has(id) || devices.length >= max) return;
      const e = this.#devices.get(id);
      if (e === undefined) return;
      sent.set(id, e.dirty);
      const r = this.#report(e);
      if (r !== undefined) devices.push(r);
    };
    for (const id of this.#dirty) {
      if (devices.length >= max) break;
      take(id);
    }
    for (const id of this.#resync) {
      if (devices.length >= max) break;
      take(id);
    }
    if (sent.size === 0) return undefined;
    if (devices.length === 0) {
      // Only devices with nothing to say yet: nothing to send for them.
      this.#settle(sent);
      return undefined;
    }
    this.#inFlight = true;
    let done = false;
    return {
      envelope: envelope('edge', 'twin', 'report', { devices }),
      settle: () => {
        if (done) return;
        done = true;
        this.#settle(sent);
      },
      release: () => {
        done = true;
        this.#inFlight = false;
      },
    };
  }

  /** The cloud has the reports numbered in `sent`: those devices are clean unless they changed since. */
  #settle(sent: ReadonlyMap<string, number>): void {
    if (this.#stopped) return;
    const cleaned: [string, number][] = [];
    for (const [id, seq] of sent) {
      this.#resync.delete(id);
      const e = this.#devices.get(id);
      if (e === undefined || seq === 0 || e.dirty !== seq) continue;
      e.dirty = 0;
      this.#dirty.delete(id);
      cleaned.push([id, seq]);
    }
    if (cleaned.length === 0) return;
    try {
      this.#store.transaction(() => {
        for (const [id, seq] of cleaned) this.#store.settle(id, seq);
      });
    } catch (err) {
      // The marks stay on disk: after a restart these devices are reported once more, which is harmless.
      this.#log.warn('cannot clear report marks in edge.db', { err: describeError(err) });
    }
  }

  /** What the cloud gets for one device: its state and the twins of properties reported to the cloud; undefined when it has nothing yet. */
  #report(e: Entry): DeviceReport | undefined {
    const twins: DeviceReport['twins'][number][] = [];
    for (const p of e.resolved.properties) {
      if (!p.reportToCloud) continue;
      const t = e.twins.get(p.name);
      if (t?.actual === undefined && t?.observed === undefined) continue;
      twins.push({
        propertyName: p.name,
        ...(t.actual !== undefined ? { reported: { value: t.actual.value, metadata: { timestamp: String(t.actual.ts), type: t.actual.type } } } : {}),
        ...(t.observed !== undefined ? { observedDesired: { value: t.observed.value, metadata: { timestamp: String(t.observed.ts) } } } : {}),
      });
    }
    const state = e.resolved.reportState && e.state !== '' ? e.state : undefined;
    if (twins.length === 0 && state === undefined) return undefined;
    return {
      namespace: e.namespace,
      name: e.name,
      uid: e.uid,
      ...(state !== undefined ? { state } : {}),
      ...(state !== undefined && e.lastOnline !== '' ? { lastOnlineTime: e.lastOnline } : {}),
      twins,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Payload builders

  #msgTwin(prop: ResolvedProperty | undefined, t: StoredTwin, versions: boolean): MsgTwin {
    return {
      ...(t.expected !== undefined ? { expected: { value: t.expected.value, metadata: { timestamp: t.expected.ts } } } : {}),
      ...(t.actual !== undefined ? { actual: { value: t.actual.value, metadata: { timestamp: t.actual.ts } } } : {}),
      optional: false,
      metadata: { type: prop !== undefined ? metadataType(prop.type) : 'deleted' },
      ...(versions ? { expected_version: { cloud: t.expectedVersion, edge: 0 }, actual_version: { cloud: 0, edge: t.actualVersion } } : {}),
    };
  }

  #msgTwins(e: Entry, versions: boolean): Record<string, MsgTwin> {
    const out: Record<string, MsgTwin> = {};
    for (const [name, t] of e.twins) out[name] = this.#msgTwin(e.props.get(name), t, versions);
    return out;
  }

  #membershipDevice(e: Entry): MembershipDevice {
    return {
      id: e.id,
      name: e.name,
      description: e.description,
      state: e.state === '' ? 'unknown' : e.state,
      last_online: e.lastOnline,
      attributes: attributesOf(e),
      twin: this.#msgTwins(e, true),
      namespace: e.namespace,
      model: e.resolved.model,
      protocol: { protocolName: e.resolved.protocolName, configData: e.resolved.protocolConfig },
      properties: e.resolved.properties.map(({ desired: _, ...p }) => p),
    };
  }
}

function newTwin(): StoredTwin {
  return { expectedVersion: 0, actualVersion: 0 };
}

function rangeOf(p: ResolvedProperty): string {
  return p.minimum !== undefined || p.maximum !== undefined ? ` in [${p.minimum ?? '-∞'}, ${p.maximum ?? '∞'}]` : '';
}

/** KubeEdge takes a device's description from its `description` label. */
function descriptionOf(device: DeviceObject): string {
  return device.metadata.labels?.['description'] ?? '';
}

function membershipKey(resolved: ResolvedDevice, description: string): string {
  return JSON.stringify([description, resolved.model, resolved.protocolName, resolved.protocolConfig, resolved.properties.map(({ desired: _, ...p }) => p)]);
}

function attributesOf(e: Entry): Record<string, MsgAttr> {
  const out: Record<string, MsgAttr> = {};
  for (const [k, v] of e.attributes) out[k] = { value: v, optional: false, metadata: { type: 'string' } };
  return out;
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

