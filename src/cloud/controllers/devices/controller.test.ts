import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../log/logger.ts';
import type { DeviceObject } from '../../../protocol/devices.ts';
import type { DeviceReport } from '../../../protocol/envelope.ts';
import { SharedInformers } from '../runtime/shared-informers.ts';
import { EventRecorder } from '../events/recorder.ts';
import { eventually } from '../gc/testing.ts';
import type { ControllerContext } from '../index.ts';
import { Informer } from '../runtime/informer.ts';
import { deviceModule } from './index.ts';
import { TokenBucket } from './rate-limiter.ts';
import { DeviceReportWriter } from './report-writer.ts';
import { applyReport, mergePending, pendingOf, tidyStatus } from './status.ts';
import { DeviceTestApi } from './testing.ts';

let api: DeviceTestApi;
const abort = new AbortController();
let writer: DeviceReportWriter;

before(async () => {
  api = await DeviceTestApi.start();
  const log = silentLogger();
  const ctx: ControllerContext = { client: api.client, log, config: { nodeMonitorGracePeriodMs: 40_000 }, informers: new SharedInformers({ client: api.client, log }), recorder: (component) => new EventRecorder({ client: api.client, component, log }) };
  await deviceModule.start(ctx, abort.signal);
  const cache = new Informer<DeviceObject>({ client: api.devices, log });
  writer = new DeviceReportWriter({ devices: api.devices, cache, log, writesPerSecond: 1000 });
  await cache.start(abort.signal);
  writer.start(abort.signal);
  await api.createModel('sensor', [
    { name: 'temperature', type: 'INT', accessMode: 'ReadOnly' },
    { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite' },
    { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' },
  ]);
});
after(async () => {
  abort.abort();
  await api.close();
});

const twin = (propertyName: string, value: string, ts = '1'): DeviceReport['twins'][number] => ({ propertyName, reported: { value, metadata: { timestamp: ts, type: 'int' } } });

test('status merge: a report replaces its properties, keeps the others, orders by spec, never drops other status fields', () => {
  const device: DeviceObject = {
    metadata: { name: 'd', uid: 'u' },
    spec: { properties: [{ name: 'b' }, { name: 'a' }] },
    status: { state: 'online', reportCycle: 5, twins: [twin('a', '1'), twin('b', '2')] },
  };
  const next = applyReport(device, pendingOf({ namespace: 'default', name: 'd', uid: 'u', state: 'offline', twins: [twin('a', '9'), twin('z', '0')] }));
  assert.deepEqual(next, { state: 'offline', reportCycle: 5, twins: [twin('b', '2'), twin('a', '9'), twin('z', '0')] });
  const merged = mergePending(pendingOf({ namespace: 'default', name: 'd', uid: 'u', state: 'online', twins: [twin('a', '1'), twin('b', '1')] }), pendingOf({ namespace: 'default', name: 'd', uid: 'u', twins: [twin('a', '2')] }));
  assert.equal(merged.state, 'online');
  assert.deepEqual([...merged.twins.values()].map((t) => t.reported?.value), ['2', '1']);
  const other = mergePending(merged, pendingOf({ namespace: 'default', name: 'd', uid: 'v', twins: [] }));
  assert.equal(other.twins.size, 0, 'a report of a re-created device does not mix with the old one');
  assert.equal(tidyStatus({ ...device, status: next }, new Set(['a', 'b', 'z'])), undefined);
  assert.deepEqual(tidyStatus({ ...device, status: next }, new Set(['a']))?.twins, [twin('a', '9')]);
});

test('the token bucket lets a burst through, then paces takers in order', async () => {
  let now = 0;
  const bucket = new TokenBucket({ perSecond: 100, burst: 2, now: () => now });
  await bucket.take();
  await bucket.take();
  const started = performance.now();
  now = 0;
  await Promise.all([bucket.take(), bucket.take()]);
  assert.ok(performance.now() - started >= 15, 'the third and fourth take waited for new tokens');
});

test('the controller starts a device as unknown and drops twins of properties it no longer has', async () => {
  const d = await api.createDevice('tidy', 'sensor', { properties: [{ name: 'temperature' }, { name: 'setpoint' }] });
  await eventually(async () => assert.equal((await api.devices.get('default', 'tidy'))?.status?.state, 'unknown'));
  writer.accept([{ namespace: 'default', name: 'tidy', uid: d.metadata.uid!, state: 'online', twins: [twin('temperature', '21'), twin('setpoint', '30')] }]);
  await eventually(async () => assert.equal((await api.devices.get('default', 'tidy'))?.status?.twins?.length, 2));
  await api.devices.patch('default', 'tidy', 'json', [{ op: 'remove', path: '/spec/properties/1' }]);
  await eventually(async () => {
    const s = (await api.devices.get('default', 'tidy'))?.status;
    assert.deepEqual(s?.twins?.map((t) => t.propertyName), ['temperature']);
    assert.equal(s?.state, 'online');
  });
});

test('reports are written into status (spec untouched), merged per device, latest winning', async () => {
  const d = await api.createDevice('w1', 'sensor', { properties: [{ name: 'temperature' }, { name: 'setpoint', desired: { value: '40' } }] });
  const before = writer.writes;
  const uid = d.metadata.uid!;
  for (let i = 0; i < 200; i++) writer.accept([{ namespace: 'default', name: 'w1', uid, state: 'online', lastOnlineTime: '2026-01-01T00:00:00Z', twins: [twin('temperature', String(i))] }]);
  writer.accept([{ namespace: 'default', name: 'w1', uid, twins: [{ propertyName: 'setpoint', reported: { value: '40' }, observedDesired: { value: '40' } }] }]);
  const final = await eventually(async () => {
    const got = await api.devices.get('default', 'w1');
    assert.equal(got?.status?.twins?.find((t) => t.propertyName === 'temperature')?.reported?.value, '199');
    assert.equal(got?.status?.twins?.find((t) => t.propertyName === 'setpoint')?.observedDesired?.value, '40');
    return got;
  });
  assert.equal(final?.status?.state, 'online');
  assert.equal(final?.status?.lastOnlineTime, '2026-01-01T00:00:00Z');
  assert.equal(final?.spec?.properties?.[1]?.desired?.value, '40', 'the spec is never touched');
  assert.ok(writer.writes - before < 20, `200 reports cost ${writer.writes - before} writes`);
});

test('a report for a re-created device (another uid) or a deleted one is dropped', async () => {
  const d = await api.createDevice('gone', 'sensor', { properties: [{ name: 'temperature' }] });
  await api.devices.delete('default', 'gone');
  await api.createDevice('gone', 'sensor', { properties: [{ name: 'temperature' }] });
  writer.accept([{ namespace: 'default', name: 'gone', uid: d.metadata.uid!, state: 'online', twins: [twin('temperature', '5')] }]);
  writer.accept([{ namespace: 'default', name: 'never', uid: 'x', state: 'online', twins: [] }]);
  await eventually(() => assert.equal(writer.backlog, 0));
  const now = await api.devices.get('default', 'gone');
  assert.equal(now?.status?.twins?.length ?? 0, 0);
});

test('a device whose model is deleted gets a Warning event', async () => {
  await api.createModel('doomed', [{ name: 'x', type: 'INT' }]);
  const d = await api.createDevice('orphan', 'doomed', { properties: [{ name: 'x' }] });
  await api.models.delete('default', 'doomed');
  await eventually(async () => {
    const events = (await api.events.list('default')).items as { reason?: string; involvedObject?: { uid?: string } }[];
    assert.ok(events.some((e) => e.reason === 'DeviceModelNotFound' && e.involvedObject?.uid === d.metadata.uid));
  });
});
