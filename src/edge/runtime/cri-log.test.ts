import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriLogEncoder, MAX_LOG_LINE, parseLogLine, readCriLog } from './cri-log.ts';
import type { LogEntry } from './runtime.ts';

const text = (entries: LogEntry[]): string => entries.map((e) => e.content.toString()).join('');

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

test('the encoder writes CRI records: full lines F, long lines split into P pieces, a trailing piece P', () => {
  const enc = new CriLogEncoder('stdout');
  const t = Date.parse('2024-05-01T10:00:00.123Z');
  const out = enc.push(Buffer.from('one\ntw'), t) + enc.push(Buffer.from('o\n'), t) + enc.push(Buffer.from('x'.repeat(MAX_LOG_LINE + 5)), t) + enc.end(t);
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^2024-05-01T10:00:00\.123\d{6}Z stdout F one$/);
  assert.match(lines[1]!, / stdout F two$/);
  assert.match(lines[2]!, / stdout P x{16384}$/);
  assert.match(lines[3]!, / stdout P x{5}$/);
  assert.deepEqual(parseLogLine(Buffer.from('2024-05-01T10:00:00.1Z stderr F boom')), { time: '2024-05-01T10:00:00.1Z', stream: 'stderr', content: Buffer.from('boom\n') });
  assert.equal(parseLogLine(Buffer.from('garbage')), undefined);
});

test('reading a log: all, tail counted in lines, since, and follow until the writer is done', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-log-'));
  try {
    const file = join(dir, '0.log');
    const enc = new CriLogEncoder('stdout');
    let t = Date.parse('2024-05-01T10:00:00Z');
    let body = '';
    for (let i = 1; i <= 5; i++) body += enc.push(Buffer.from(i === 3 ? `${'y'.repeat(MAX_LOG_LINE)}tail\n` : `line ${i}\n`), (t += 1000));
    writeFileSync(file, body);
    const done = { stillWriting: () => Promise.resolve(false) };
    assert.equal(text(await collect(readCriLog(file, {}, done))), `line 1\nline 2\n${'y'.repeat(MAX_LOG_LINE)}tail\nline 4\nline 5\n`);
    assert.equal(text(await collect(readCriLog(file, { tail: 2 }, done))), 'line 4\nline 5\n');
    assert.equal(text(await collect(readCriLog(file, { tail: 3 }, done))), `${'y'.repeat(MAX_LOG_LINE)}tail\nline 4\nline 5\n`, 'a split line counts once');
    assert.equal(text(await collect(readCriLog(file, { tail: 0 }, done))), '');
    assert.equal(text(await collect(readCriLog(file, { tail: 50 }, done))).split('\n').length, 6);
    assert.equal(text(await collect(readCriLog(file, { since: Date.parse('2024-05-01T10:00:04Z') }, done))), 'line 4\nline 5\n');

    let writing = true;
    const followed: string[] = [];
    const reader = (async () => {
      for await (const e of readCriLog(file, { tail: 1, follow: true }, { stillWriting: () => Promise.resolve(writing), pollMs: 50 })) {
        followed.push(e.content.toString());
        if (followed.length === 1) appendFileSync(file, enc.push(Buffer.from('late 1\nlate 2\n'), (t += 1000)));
        if (followed.length === 3) writing = false;
      }
    })();
    await reader;
    assert.deepEqual(followed, ['line 5\n', 'late 1\n', 'late 2\n']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without follow, a log is read as it was when asked: lines written meanwhile are not added to --tail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-log-'));
  try {
    const file = join(dir, '0.log');
    const enc = new CriLogEncoder('stderr');
    writeFileSync(file, enc.push(Buffer.from('err 1\nerr 2\nerr 3\n'), Date.now()));
    const got: string[] = [];
    for await (const e of readCriLog(file, { tail: 1 }, { stillWriting: () => Promise.resolve(true) })) {
      got.push(e.content.toString());
      if (got.length <= 3) appendFileSync(file, enc.push(Buffer.from(`line ${got.length + 3}\n`), Date.now()));
    }
    assert.deepEqual(got, ['err 3\n']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
