import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { hasCode } from '../../errors/platform-error.ts';
import { CHANNEL_STDIN, FRAME_TYPES, MAX_STREAM_CHUNK, STREAM_WINDOW_BYTES, type LogsRequest, type StreamRequest } from '../../protocol/stream.ts';
import { StreamMux, type MuxStream, type StreamEvent } from '../../protocol/stream-mux.ts';
import { EdgeError } from '../errors.ts';
import type { ExecSession, LogEntry } from '../runtime/runtime.ts';
import { serveExec } from './exec.ts';
import { serveLogs } from './logs.ts';
import { servePortForward } from './port-forward.ts';
import { podOf, streamErrorOf, type StreamRuntime } from './targets.ts';

const TARGET = { namespace: 'default', pod: 'p', uid: 'u-1' };

/** A cloud and an edge mux back to back; the edge serves each stream with `serve`. Counts data frames to the cloud. */
function tunnel(serve: (s: MuxStream) => Promise<void>) {
  const wire = { dataFrames: 0 };
  const edge: StreamMux = new StreamMux({
    role: 'acceptor',
    send: (f) => {
      if (f[0] === FRAME_TYPES.data) wire.dataFrames++;
      setImmediate(() => cloud.receive(f));
    },
    onOpen: (s) => {
      void serve(s).catch((err: unknown) => s.end({ error: streamErrorOf(err) }));
    },
  });
  const cloud: StreamMux = new StreamMux({ role: 'opener', send: (f) => setImmediate(() => edge.receive(f)) });
  return { cloud, wire };
}

async function drain(s: MuxStream): Promise<{ text: string; end: StreamEvent }> {
  let text = '';
  for await (const e of s.events()) {
    if (e.type === 'data') text += e.data.toString();
    if (e.type === 'end') return { text, end: e };
  }
  throw new Error('no end');
}

/** A runtime whose logs come from `lines` (then, when following, from `more` until aborted). */
function logRuntime(lines: string[], options: { more?: () => string; pulled?: { n: number }; previousMissing?: boolean } = {}): StreamRuntime {
  const unused = (): never => {
    throw new Error('not used');
  };
  return {
    listContainers: unused,
    listPodSandboxes: unused,
    portForward: unused,
    exec: unused,
    async *logs(_id, o, signal): AsyncIterable<LogEntry> {
      if (o.previous === true && options.previousMissing === true) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', 'no log of a previous instance in /var/log/pods/x');
      const selected = o.tail !== undefined ? lines.slice(-o.tail) : lines;
      for (const l of selected) {
        if (options.pulled !== undefined) options.pulled.n++;
        yield { time: '2026-01-01T00:00:00.000000001Z', stream: 'stdout', content: Buffer.from(`${l}\n`) };
      }
      while (o.follow === true && options.more !== undefined && signal?.aborted !== true) {
        if (options.pulled !== undefined) options.pulled.n++;
        yield { time: '2026-01-01T00:00:01.000000001Z', stream: 'stdout', content: Buffer.from(`${options.more()}\n`) };
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

const logs = (extra: Partial<Omit<LogsRequest, 'kind'>> = {}): LogsRequest => ({ kind: 'logs', ...TARGET, container: 'c', follow: false, previous: false, timestamps: false, ...extra });

test('logs: a long log travels in few frames; tail, timestamps and limitBytes as the kubelet applies them', async () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i + 1}`);
  const { cloud, wire } = tunnel((s) => serveLogs(s, s.request as never, logRuntime(lines), 'ctr'));
  const all = cloud.open(logs());
  await all.ready();
  const { text, end } = await drain(all);
  assert.equal(text, lines.map((l) => `${l}\n`).join(''));
  assert.deepEqual(end, { type: 'end', result: {} });
  assert.ok(wire.dataFrames <= Math.ceil(text.length / MAX_STREAM_CHUNK) + 2, `${wire.dataFrames} frames for ${text.length} bytes`);

  const tail = cloud.open(logs({ tailLines: 2, timestamps: true }));
  assert.equal((await drain(tail)).text, '2026-01-01T00:00:00.000000001Z line 4999\n2026-01-01T00:00:00.000000001Z line 5000\n');
  const limited = cloud.open(logs({ limitBytes: 12 }));
  assert.equal((await drain(limited)).text, 'line 1\nline ');
});

test('logs --previous without an earlier instance is refused before the stream is accepted, in the kubelet\'s words', async () => {
  const { cloud } = tunnel((s) => serveLogs(s, s.request as never, logRuntime([], { previousMissing: true }), 'ctr'));
  const s = cloud.open(logs({ previous: true }));
  await assert.rejects(s.ready(), (e: unknown) => hasCode(e, 'STREAM_CONTAINER_NOT_FOUND') && /previous terminated container "c" in pod "p" not found/.test((e as Error).message));
});

test('logs -f: a client that stops reading stops the reader at the node within a window, and leaving ends it', async () => {
  const pulled = { n: 0 };
  let i = 0;
  const { cloud } = tunnel((s) => serveLogs(s, s.request as never, logRuntime([], { pulled, more: () => `${'x'.repeat(1000)} ${++i}` }), 'ctr'));
  const s = cloud.open(logs({ follow: true }));
  await s.ready();
  await delay(300);
  const stalled = pulled.n;
  assert.ok(stalled * 1000 < STREAM_WINDOW_BYTES + 2 * MAX_STREAM_CHUNK, `read ${stalled} lines ahead of a client that reads nothing`);
  await delay(200);
  assert.ok(pulled.n <= stalled + 1, 'and stays stopped');

  const it = s.events();
  for (let read = 0; read < 2 * STREAM_WINDOW_BYTES; ) {
    const e = (await it.next()).value as StreamEvent;
    if (e.type === 'data') read += e.data.length;
  }
  assert.ok(pulled.n > stalled, 'reading resumes the reader');
  s.cancel('client went away');
  const at = pulled.n;
  await delay(100);
  assert.ok(pulled.n <= at + 1, 'the reader stops when the client leaves');
});

/** An exec session over a real process group, as the process runtime gives (close kills the group). */
function shRuntime(spawned: number[]): StreamRuntime {
  const unused = (): never => {
    throw new Error('not used');
  };
  return {
    listContainers: unused,
    listPodSandboxes: unused,
    portForward: unused,
    logs: unused,
    exec(_id, cmd, options): Promise<ExecSession> {
      const child = spawn(cmd[0]!, cmd.slice(1), { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
      spawned.push(child.pid!);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      child.stdout!.pipe(stdout);
      child.stderr!.pipe(stderr);
      return Promise.resolve({
        stdin: child.stdin ?? undefined,
        stdout,
        stderr,
        resize: () => undefined,
        exitCode: new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? 137))),
        close: () => {
          if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
        },
      });
    },
  };
}

const exec = (command: string[], stdin = false): StreamRequest => ({ kind: 'exec', ...TARGET, container: 'c', command, stdin, stdout: true, stderr: true, tty: false });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('exec: stdin in, stdout and stderr out on their channels, stdin EOF seen, exit code last', async () => {
  const { cloud } = tunnel((s) => serveExec(s, s.request as never, shRuntime([]), 'ctr'));
  const s = cloud.open(exec(['sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 3'], true));
  await s.ready();
  await s.write(0, Buffer.from('hello\n'));
  s.eof(0);
  const out: Record<number, string> = { 1: '', 2: '' };
  let end: StreamEvent | undefined;
  for await (const e of s.events()) {
    if (e.type === 'data') out[e.channel] += e.data.toString();
    if (e.type === 'end') end = e;
  }
  assert.deepEqual(out, { 1: 'HELLO\n', 2: 'oops\n' });
  assert.deepEqual(end, { type: 'end', result: { exitCode: 3 } });
});

test('exec: a cancelled stream kills the command, and a client that never reads cannot wedge it', async () => {
  const spawned: number[] = [];
  const { cloud } = tunnel((s) => serveExec(s, s.request as never, shRuntime(spawned), 'ctr'));
  const s = cloud.open(exec(['sh', '-c', 'cat /dev/zero'], false));
  await s.ready();
  await delay(200);
  const pid = spawned[0]!;
  assert.ok(alive(pid));
  const before = process.cpuUsage();
  s.cancel('kubectl was killed');
  for (let i = 0; i < 50 && alive(pid); i++) await delay(20);
  assert.equal(alive(pid), false, 'the command is gone');
  await delay(300);
  const used = process.cpuUsage(before);
  assert.ok(used.user + used.system < 200_000, `nothing spins after the cancel: ${used.user + used.system} µs`);
});

test('a node answers only for pods it holds, under the uid the cloud names, bound to itself', () => {
  const pod = { metadata: { name: 'p', namespace: 'default', uid: 'u-1' }, spec: { nodeName: 'edge-1' } };
  const pods = { get: (_k: 'pods', ns: string, name: string) => (ns === 'default' && name === 'p' ? { uid: 'u-1', object: pod } : undefined) };
  assert.equal(podOf(pods, 'edge-1', exec(['true'])), pod);
  for (const [node, r] of [
    ['edge-2', exec(['true'])],
    ['edge-1', { ...exec(['true']), uid: 'u-2' }],
    ['edge-1', { ...exec(['true']), pod: 'other' }],
  ] as const) {
    assert.throws(() => podOf(pods, node, r), (e: unknown) => hasCode(e, 'STREAM_POD_NOT_FOUND'));
  }
});

test('port-forward: bytes both ways through the runtime\'s connection; a refused port fails before the stream is accepted; a failure the runtime reports later ends it', async () => {
  const forward = (port: number): StreamRequest => ({ kind: 'portforward', ...TARGET, port });
  /** A server that answers in capitals and closes once its input ends. */
  const shouting = (): Duplex =>
    new Duplex({
      read: () => undefined,
      write(chunk: Buffer, _encoding, callback) {
        this.push(chunk.toString().toUpperCase());
        callback();
      },
      final(callback) {
        this.push(null);
        callback();
      },
    });
  const { cloud } = tunnel((s) =>
    servePortForward(s, s.request as never, () => {
      const port = (s.request as { port: number }).port;
      if (port === 81) return Promise.reject(new EdgeError('EDGE_RUNTIME_ERROR', 'cannot connect to 127.0.0.1:81: connect ECONNREFUSED'));
      const d = shouting();
      if (port === 82) setImmediate(() => d.destroy(new EdgeError('EDGE_RUNTIME_ERROR', 'failed to connect to localhost:82 inside namespace "x": connection refused')));
      return Promise.resolve(d);
    }),
  );

  const ok = cloud.open(forward(80));
  await ok.ready();
  await ok.write(CHANNEL_STDIN, Buffer.from('hello'));
  ok.eof(CHANNEL_STDIN);
  const echoed = await drain(ok);
  assert.equal(echoed.text, 'HELLO');
  assert.deepEqual(echoed.end, { type: 'end', result: {} });

  await assert.rejects(cloud.open(forward(81)).ready(), (e: unknown) => hasCode(e, 'STREAM_PORT_UNREACHABLE') && /port 81 of the pod: .*ECONNREFUSED/.test((e as Error).message));

  const late = cloud.open(forward(82));
  await late.ready();
  const { end } = await drain(late);
  assert.equal(end.type === 'end' ? end.result.error?.code : undefined, 'STREAM_PORT_UNREACHABLE');
  assert.match(end.type === 'end' ? (end.result.error?.message ?? '') : '', /inside namespace "x": connection refused/);
});
