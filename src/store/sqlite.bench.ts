// Throughput of the SQLite backend in-process: creates, updates, deletes, a paged list, a snapshot list,
// replay of history to a watcher and one compaction. Run:
//   node --disable-warning=ExperimentalWarning src/store/sqlite.bench.ts [count]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger.ts';
import { SqliteBackend } from './sqlite.ts';

const count = Number(process.argv[2] ?? 50_000);
const dir = mkdtempSync(join(tmpdir(), 'kedge-sqlite-bench-'));
const out = (line: string): boolean => process.stdout.write(line + '\n');

/** A pod-sized value (about 1.5 KiB), so row sizes are realistic. */
function podJson(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: `ns-${i % 100}`, uid: crypto.randomUUID(), labels: { app: `app-${i % 50}`, tier: 'web' } },
    spec: {
      nodeName: `node-${i % 1000}`,
      containers: [{ name: 'main', image: 'registry.local/app:1.0', resources: { requests: { cpu: '100m', memory: '64Mi' } }, env: Array.from({ length: 10 }, (_, j) => ({ name: `VAR_${j}`, value: 'x'.repeat(40) })) }],
    },
    status: { phase: 'Running', podIP: `10.0.${(i >> 8) & 255}.${i & 255}` },
  });
}

/** Prints wall-clock throughput and, since the machine may be shared, CPU time per operation too. */
async function timed(what: string, n: number, fn: () => Promise<void>): Promise<void> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await fn();
  const ms = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  const cpuUs = (user + system) / n;
  out(`${what.padEnd(34)} ${n.toString().padStart(7)} in ${ms.toFixed(0).padStart(6)} ms  = ${Math.round((n / ms) * 1000).toString().padStart(7)} /s  (${cpuUs.toFixed(1)} µs CPU each = ${Math.round(1e6 / cpuUs)} /s per core)`);
}

try {
  const backend = await SqliteBackend.open(join(dir, 'state.db'), { log: silentLogger() });
  const values = Array.from({ length: count }, (_, i) => podJson(i));
  const revs: number[] = [];
  await timed('create (one transaction each)', count, async () => {
    for (let i = 0; i < count; i++) revs.push((await backend.create(`/registry/core/pods/ns-${i % 100}/pod-${i}`, values[i]!)).modRevision);
  });
  await timed('update with precondition', count, async () => {
    for (let i = 0; i < count; i++) await backend.update(`/registry/core/pods/ns-${i % 100}/pod-${i}`, values[i]!, revs[i]!);
  });
  const afterUpdates = await backend.currentRevision();
  await timed('list 500 of one namespace', 500, async () => {
    await backend.list('/registry/core/pods/ns-42/', { limit: 500 });
  });
  await timed('list all, pages of 500', count, async () => {
    let startAfter: string | undefined;
    let more = true;
    while (more) {
      const page = await backend.list('/registry/core/pods/', { limit: 500, startAfter });
      startAfter = page.items.at(-1)?.key;
      more = page.more;
    }
  });
  await timed('snapshot list at an old revision', count, async () => {
    await backend.list('/registry/core/pods/', { revision: count });
  });
  await timed('watch replay of all updates', count, async () => {
    const ac = new AbortController();
    let seen = 0;
    for await (const batch of backend.watch('/registry/core/pods/', count, ac.signal)) {
      seen += batch.length;
      if (seen >= count) ac.abort();
    }
  });
  const deletes = Math.floor(count / 2);
  await timed('delete', deletes, async () => {
    for (let i = 0; i < deletes; i++) await backend.delete(`/registry/core/pods/ns-${i % 100}/pod-${i}`);
  });
  await timed('compact (rows deleted)', count + deletes * 2, async () => {
    await backend.compact(afterUpdates + deletes);
  });
  await backend.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
