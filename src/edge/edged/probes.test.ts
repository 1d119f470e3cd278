import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Container } from 'kubernetes-types/core/v1.d.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { ContainerProbes, runProbe } from './probes.ts';

// httpGet and tcpSocket probes need no runtime; exec probes are covered with real runtimes in edged.test.ts.
const noRuntime = {} as Runtime;

test('httpGet probes: 2xx and 3xx succeed, others fail with the status; named ports; headers; a silent server times out', async () => {
  const seen: (string | undefined)[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req.headers['x-probe'] as string | undefined);
    if (req.url === '/slow') return;
    res.writeHead(req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 500).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const c: Container = { name: 'c', ports: [{ name: 'http', containerPort: port }] };
  const o = { runtime: noRuntime, containerId: 'x', container: c, podIp: '127.0.0.1' };
  try {
    assert.deepEqual(await runProbe({ httpGet: { path: '/ok', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, o), { ok: true, output: '' });
    assert.equal(seen[0], 'yes');
    assert.equal((await runProbe({ httpGet: { path: '/moved', port } }, o)).ok, true);
    assert.deepEqual(await runProbe({ httpGet: { path: '/boom', port } }, o), { ok: false, output: 'HTTP probe failed with statuscode: 500' });
    const slow = await runProbe({ httpGet: { path: '/slow', port }, timeoutSeconds: 1 }, o);
    assert.equal(slow.ok, false);
    assert.match(slow.output, /context deadline exceeded/);
    assert.equal((await runProbe({ httpGet: { path: '/', port: 'nope' } }, o)).ok, false, 'an unknown named port fails the probe');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('tcpSocket probes: a listening port succeeds, a closed one fails', async () => {
  const server = createServer((s) => s.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const o = { runtime: noRuntime, containerId: 'x', container: { name: 'c' }, podIp: '127.0.0.1' };
  assert.equal((await runProbe({ tcpSocket: { port } }, o)).ok, true);
  server.close();
  await once(server, 'close');
  const closed = await runProbe({ tcpSocket: { port } }, o);
  assert.equal(closed.ok, false);
  assert.match(closed.output, /ECONNREFUSED/);
});

test('a startup probe holds liveness and readiness back until it succeeds; readiness follows its threshold', async () => {
  let healthy = false;
  const server = createHttpServer((_req, res) => res.writeHead(healthy ? 200 : 503).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const events: string[] = [];
  const probe = { httpGet: { path: '/', port }, periodSeconds: 1, failureThreshold: 30 };
  const p = new ContainerProbes({
    runtime: noRuntime,
    containerId: 'x',
    container: { name: 'c', startupProbe: probe, readinessProbe: { ...probe, failureThreshold: 1 }, livenessProbe: probe },
    podIp: '127.0.0.1',
    startedAt: Date.now(),
    listener: { changed: () => events.push('changed'), failed: (kind) => events.push(`failed:${kind}`), unhealthy: (kind) => events.push(`unhealthy:${kind}`) },
  });
  try {
    p.start();
    assert.deepEqual([p.started, p.ready], [false, false]);
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(events.includes('failed:startup'));
    assert.ok(!events.some((e) => e.endsWith('liveness') || e.endsWith('readiness')), 'nothing but the startup probe runs yet');
    healthy = true;
    for (let i = 0; i < 60 && !p.ready; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([p.started, p.ready], [true, true]);
    assert.ok(!events.some((e) => e.startsWith('unhealthy')));
  } finally {
    p.stop();
    server.closeAllConnections();
    server.close();
  }
});
