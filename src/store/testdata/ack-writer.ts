// A child process for the crash test in sqlite.test.ts: creates keys as fast as it can and prints
// `<key> <revision>` after each write is acknowledged, until it is killed.
import { silentLogger } from '../../log/logger.ts';
import { SqliteBackend } from '../sqlite.ts';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: ack-writer.ts <db-path>');
const backend = await SqliteBackend.open(path, { log: silentLogger() });
for (let i = 0; ; i++) {
  const kv = await backend.create(`/registry/acked/${i}`, JSON.stringify({ i, pad: 'x'.repeat(200) }));
  // Waiting for the write callback gives the pipe backpressure and the event loop a turn.
  await new Promise((resolve) => process.stdout.write(`${kv.key} ${kv.modRevision}\n`, resolve));
}
