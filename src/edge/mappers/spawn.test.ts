import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mapperLaunch, processSpawner, type MapperLaunchConfig } from './spawn.ts';

const BASE: MapperLaunchConfig = { nodeName: 'edge-1', dataDir: '/var/lib/kedge', logLevel: 'debug', bus: { mode: 'embedded', url: 'mqtt://127.0.0.1:1883' }, mqttExternal: undefined };

test('mapperLaunch: the node, log level, a PKI under the data dir, stdin as the lifeline, and the EventBus the edge uses', () => {
  assert.deepEqual(mapperLaunch(BASE, 'opcua'), {
    args: ['mapper', 'opcua', '--node', 'edge-1', '--log-level', 'debug', '--pki-dir', '/var/lib/kedge/mapper-pki/opcua', '--stop-on-stdin-close', '--mqtt', 'mqtt://127.0.0.1:1883'],
    env: {},
  });
  // An embedded broker beyond loopback asks for the password in the data dir.
  const remote = mapperLaunch({ ...BASE, bus: { mode: 'embedded', url: 'mqtt://10.1.2.3:1883' } }, 'modbus');
  assert.deepEqual(remote.args.slice(-6), ['--mqtt', 'mqtt://10.1.2.3:1883', '--mqtt-username', 'kedge', '--mqtt-password-file', '/var/lib/kedge/mqtt-password']);
  assert.deepEqual(mapperLaunch({ ...BASE, bus: { mode: 'embedded', url: 'mqtt://[::1]:1883' } }, 'modbus').args.slice(-2), ['--mqtt', 'mqtt://[::1]:1883']);
  // An external broker: its URL; with credentials, through the environment, out of `ps`.
  const plain = mapperLaunch({ ...BASE, bus: { mode: 'external', url: 'mqtt://broker:1883' }, mqttExternal: 'mqtt://broker:1883' }, 'virtual');
  assert.deepEqual([plain.args.slice(-2), plain.env], [['--mqtt', 'mqtt://broker:1883'], {}]);
  const secret = mapperLaunch({ ...BASE, bus: { mode: 'external', url: 'mqtt://broker:1883' }, mqttExternal: 'mqtt://user:pw@broker:1883' }, 'virtual');
  assert.ok(!secret.args.includes('--mqtt'));
  assert.ok(!secret.args.some((a) => a.includes('pw')));
  assert.deepEqual(secret.env, { KEDGE_MAPPER_MQTT: 'mqtt://user:pw@broker:1883' });
});

// Stands in for `kedge mapper`: says what it got, writes a JSON line in two pieces, and exits 7 when stdin ends.
const CHILD = `
process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env.KEDGE_TEST_ENV }) + '\\n');
process.stderr.write('{"level":30,"msg":"half');
setTimeout(() => process.stderr.write(' and half"}\\nno newline at the end'), 50);
process.stdin.on('end', () => process.exit(7));
process.stdin.resume();
`;

test('processSpawner: runs <file> <args> <launch args> with the launch environment, hands over whole lines, kills', async () => {
  const lines: string[] = [];
  const child = processSpawner({ file: process.execPath, args: ['-e', CHILD] })({ args: ['mapper', 'virtual'], env: { KEDGE_TEST_ENV: 'yes' } }, (l) => lines.push(l));
  assert.equal(typeof child.pid, 'number');
  const deadline = Date.now() + 10_000;
  while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGTERM');
  assert.deepEqual(await child.exited, { code: null, signal: 'SIGTERM' });
  child.kill('SIGKILL');
  // The last piece comes with the end of the stream, which may follow the exit.
  while (lines.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(JSON.parse(lines[0]!), { argv: ['mapper', 'virtual'], env: 'yes' });
  assert.ok(lines.includes('{"level":30,"msg":"half and half"}'));
  assert.ok(lines.includes('no newline at the end'));
});

test('processSpawner: a file that does not exist ends in an exit with the error', async () => {
  const child = processSpawner({ file: '/nonexistent/kedge', args: [] })({ args: ['mapper', 'virtual'], env: {} }, () => undefined);
  const exit = await child.exited;
  assert.equal(exit.code, null);
  assert.match(String((exit.error as Error).message), /ENOENT/);
});

test('a mapper sees its stdin end when the edge that started it is killed with SIGKILL', async () => {
  const spawnModule = fileURLToPath(new URL('./spawn.ts', import.meta.url));
  // The "edge": starts the stand-in mapper through processSpawner, prints its pid, then waits to be killed.
  const edgeScript = `
import { processSpawner } from ${JSON.stringify(spawnModule)};
const child = processSpawner({ file: process.execPath, args: ['-e', ${JSON.stringify(CHILD)}] })({ args: [], env: {} }, () => undefined);
console.log(child.pid);
setInterval(() => undefined, 1000);
`;
  const edge = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', edgeScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(edge.stdout, 'data')) as [Buffer];
  const pid = Number(chunk.toString().trim());
  assert.ok(pid > 0);
  assert.ok(isAlive(pid));
  edge.kill('SIGKILL');
  await once(edge, 'exit');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!isAlive(pid), 'the mapper outlived the edge');
});

/** Running, not a zombie waiting for a reaper (orphans are re-parented to whatever reaps here). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
