import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../../api/errors.ts';
import { StreamError, STREAM_ERROR_CODES } from '../../protocol/stream.ts';
import { podLogOptions } from '../apiserver/http/pod-log.ts';
import { Query } from '../apiserver/http/query.ts';
import { apiErrorOf, containerFor, type StreamPod } from './pod-target.ts';
import { execStatus } from './remote-command.ts';
import { negotiate, upgradeKind } from './upgrade.ts';

const pod = (containers: string[], init: string[] = []): StreamPod =>
  ({ metadata: { name: 'web', namespace: 'default', uid: 'u' }, spec: { containers: containers.map((name) => ({ name })), initContainers: init.map((name) => ({ name })) } });

function status(err: unknown): [number, string] {
  assert.ok(err instanceof ApiError);
  return [err.httpStatus, err.message];
}

test('the container is the one named, or the only one; otherwise a 400 naming the choices, as kube-apiserver says it', () => {
  assert.equal(containerFor(pod(['app']), undefined), 'app');
  assert.equal(containerFor(pod(['app', 'sidecar']), 'sidecar'), 'sidecar');
  assert.equal(containerFor(pod(['app'], ['setup']), 'setup'), 'setup');
  assert.throws(() => containerFor(pod(['app', 'sidecar']), ''), (e) => status(e)[0] === 400 && status(e)[1] === 'a container name must be specified for pod web, choose one of: [app sidecar]');
  assert.throws(() => containerFor(pod(['app']), 'nope'), (e) => status(e)[1] === 'container nope is not valid for pod web');
});

test('PodLogOptions are read and checked as kube-apiserver does', () => {
  const q = (s: string): Query => new Query(new URLSearchParams(s));
  assert.deepEqual(podLogOptions(q('follow=true&tailLines=10&timestamps=1&container=c&limitBytes=5&sinceSeconds=60'), 'web'), {
    follow: true,
    previous: false,
    timestamps: true,
    container: 'c',
    tailLines: 10,
    sinceSeconds: 60,
    limitBytes: 5,
  });
  for (const [query, code] of [
    ['tailLines=-1', 422],
    ['limitBytes=0', 422],
    ['sinceSeconds=0', 422],
    ['sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z', 422],
    ['tailLines=ten', 400],
    ['sinceTime=yesterday', 400],
    ['follow=maybe', 400],
  ] as const) {
    assert.throws(() => podLogOptions(q(query), 'web'), (e) => status(e)[0] === code, query);
  }
});

test('each stream error becomes the Status a client expects', () => {
  const expected: Record<(typeof STREAM_ERROR_CODES)[number], number> = {
    STREAM_POD_NOT_FOUND: 404,
    STREAM_CONTAINER_NOT_FOUND: 400,
    STREAM_UNSUPPORTED: 400,
    STREAM_PORT_UNREACHABLE: 500,
    STREAM_LIMIT: 429,
    STREAM_FAILED: 500,
    STREAM_NODE_UNAVAILABLE: 503,
    STREAM_TIMEOUT: 504,
    STREAM_CLOSED: 503,
  };
  for (const code of STREAM_ERROR_CODES) {
    const err = apiErrorOf(new StreamError(code, `because ${code}`));
    assert.equal(err.httpStatus, expected[code], code);
    assert.match(err.message, new RegExp(`because ${code}`));
  }
});

test('the final Status of an exec carries the exit code as kubectl reads it', () => {
  assert.deepEqual(execStatus({ exitCode: 0 }), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  const failed = execStatus({ exitCode: 3 });
  assert.equal(failed['status'], 'Failure');
  assert.equal(failed['reason'], 'NonZeroExitCode');
  assert.deepEqual(failed['details'], { causes: [{ reason: 'ExitCode', message: '3' }] });
  const broken = execStatus({ error: { code: 'STREAM_CLOSED', message: 'the tunnel closed' } });
  assert.equal(broken['status'], 'Failure');
  assert.equal(broken['message'], 'the tunnel closed');
});

test('upgrades: WebSocket or SPDY, and the client\'s most preferred protocol we speak', () => {
  const req = (headers: Record<string, string | string[]>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
  assert.equal(upgradeKind(req({ connection: 'Upgrade', upgrade: 'websocket' })), 'websocket');
  assert.equal(upgradeKind(req({ connection: 'keep-alive, Upgrade', upgrade: 'SPDY/3.1' })), 'spdy');
  assert.throws(() => upgradeKind(req({})), (e) => status(e)[1] === 'Upgrade request required');
  assert.equal(negotiate(req({ 'sec-websocket-protocol': 'v5.channel.k8s.io, v4.channel.k8s.io' }), 'websocket', ['v4.channel.k8s.io', 'v5.channel.k8s.io']), 'v5.channel.k8s.io');
  assert.equal(negotiate(req({ 'x-stream-protocol-version': ['v5.channel.k8s.io', 'v4.channel.k8s.io'] }), 'spdy', ['v4.channel.k8s.io']), 'v4.channel.k8s.io');
  assert.throws(() => negotiate(req({ 'sec-websocket-protocol': 'channel.k8s.io' }), 'websocket', ['v5.channel.k8s.io']), (e) => status(e)[0] === 400);
});
