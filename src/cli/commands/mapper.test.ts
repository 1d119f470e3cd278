import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../flags.ts';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { compileMapperConfig, inputClosed } from './mapper.ts';

test('kedge mapper: protocol and node are required and checked; defaults point at the local EventBus', () => {
  const c = compileMapperConfig(['modbus'], { node: 'edge-1' });
  assert.equal(c.protocol, 'modbus');
  assert.equal(c.nodeName, 'edge-1');
  assert.equal(c.mqttUrl, 'mqtt://127.0.0.1:1883');
  assert.match(c.pkiDir, /mapper-pki\/modbus$/);
  assert.ok(Object.isFrozen(c));
  const refused: [readonly string[], Record<string, string>, RegExp][] = [
    [[], { node: 'n' }, /which protocol/],
    [['zigbee'], { node: 'n' }, /unknown protocol "zigbee"/],
    [['modbus'], {}, /--node <name> is required/],
    [['modbus'], { node: 'Not_A_Name' }, /flag --node/],
    [['modbus', 'extra'], { node: 'n' }, /unexpected argument/],
    [['opcua'], { node: 'n', mqtt: 'http://x' }, /flag --mqtt/],
  ];
  for (const [positionals, values, why] of refused) assert.throws(() => compileMapperConfig(positionals, values), (e) => e instanceof UsageError && why.test(e.message), why.source);
});

test('kedge mapper --stop-on-stdin-close: off unless asked; the signal aborts when the input ends, and release lets it go', async () => {
  assert.equal(compileMapperConfig(['virtual'], { node: 'n' }).stopOnStdinClose, false);
  assert.equal(compileMapperConfig(['virtual'], { node: 'n', 'stop-on-stdin-close': true }).stopOnStdinClose, true);
  const input = new PassThrough();
  const closed = inputClosed(input);
  input.write('anything the edge might send is ignored\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(closed.signal.aborted, false);
  input.end();
  await once(closed.signal, 'abort');
  closed.release();
  assert.ok(input.destroyed);
});
