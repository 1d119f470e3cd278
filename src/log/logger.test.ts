import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, type LogSink } from './logger.ts';

function capture(): LogSink & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    write(line: string) {
      assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'), 'one JSON object per line');
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}

test('lines are JSON objects with level, time, the child and call fields, and msg last', () => {
  const sink = capture();
  const before = Date.now();
  createLogger('info', sink).child({ process: 'edge' }).child({ component: 'hub' }).info('in sync with the cloud', { node: 'n1', objects: 3 });
  const [line] = sink.lines;
  assert.deepEqual(Object.keys(line!), ['level', 'time', 'process', 'component', 'node', 'objects', 'msg']);
  assert.deepEqual({ ...line, time: 0 }, { level: 30, time: 0, process: 'edge', component: 'hub', node: 'n1', objects: 3, msg: 'in sync with the cloud' });
  assert.ok((line!['time'] as number) >= before);
});

test('levels below the threshold are not written; silent writes nothing', () => {
  const sink = capture();
  const log = createLogger('warn', sink);
  log.trace('t');
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  assert.deepEqual(
    sink.lines.map((l) => [l['level'], l['msg']]),
    [
      [40, 'w'],
      [50, 'e'],
    ],
  );
  const quiet = capture();
  createLogger('silent', quiet).error('nothing');
  assert.equal(quiet.lines.length, 0);
});

test('errors, bigints, undefined and circular fields: the line is always written', () => {
  const sink = capture();
  const err = Object.assign(new Error('boom'), { code: 'EDGE_X' });
  const circular: Record<string, unknown> = { a: 1 };
  circular['self'] = circular;
  createLogger('trace', sink).error('failed', { err, big: 2n ** 70n, gone: undefined, circular, quote: 'a"b\nc' });
  const line = sink.lines[0]!;
  const e = line['err'] as Record<string, unknown>;
  assert.equal(e['message'], 'boom');
  assert.equal(e['code'], 'EDGE_X');
  assert.match(String(e['stack']), /logger\.test\.ts/);
  assert.equal(line['big'], (2n ** 70n).toString());
  assert.ok(!('gone' in line));
  assert.match(String(line['circular']), /^\[unserializable: /);
  assert.equal(line['quote'], 'a"b\nc');
});

test('lines still queued when the process exits are written, in order', () => {
  const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));
  const script = `import { createLogger } from ${JSON.stringify(logger)}; const log = createLogger('info'); for (let i = 0; i < 2000; i++) log.info('line', { i }); process.exit(3);`;
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 3);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
  assert.deepEqual(
    lines.map((l) => l.i),
    Array.from({ length: 2000 }, (_, i) => i),
  );
});
