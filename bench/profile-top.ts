// Summarizes a V8 .cpuprofile (from `--cpu-prof`, e.g. the server's under
// KEDGE_BENCH_SERVER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- api):
// the functions with the most self time, the most inclusive time, and self time per source area.
//   node bench/profile-top.ts <file.cpuprofile> [--top 30] [--from <s>] [--to <s>] [--callers <function>]
// --from/--to keep the samples between those seconds after the profile started: the api benchmark
// prints each phase's start as "t+<s>" since it spawned the server. --callers shows the call chains
// (four frames up) through which a function's inclusive time was spent.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { table } from './lib/bench.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

function where(f: CallFrame): string {
  if (f.url === '') return '';
  const path = f.url.startsWith('file://') ? relative(root, fileURLToPath(f.url)) : f.url;
  return `${path}:${f.lineNumber + 1}`;
}

/** The area a frame's code belongs to: a src/ directory, a package, Node.js internals, or V8. */
function area(f: CallFrame): string {
  if (f.url === '') return f.functionName.startsWith('(') ? f.functionName : '(native)';
  if (f.url.startsWith('node:')) return `node:${f.url.slice(5).split('/')[0]}`;
  const path = f.url.startsWith('file://') ? relative(root, fileURLToPath(f.url)) : f.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg !== null) return pkg[1]!;
  const parts = path.split('/');
  return parts.slice(0, Math.min(parts.length - 1, 3)).join('/');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, from: { type: 'string' }, to: { type: 'string' }, callers: { type: 'string' } },
});
const file = positionals[0];
if (file === undefined) {
  console.error('usage: node bench/profile-top.ts <file.cpuprofile> [--top 30] [--from <s>] [--to <s>]');
  process.exit(2);
}
const top = Number(values.top);
const fromUs = values.from !== undefined ? Number(values.from) * 1e6 : -Infinity;
const toUs = values.to !== undefined ? Number(values.to) * 1e6 : Infinity;

const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (f: CallFrame): string => `${f.functionName || '(anonymous)'}\t${where(f)}`;

const self = new Map<string, number>();
const total = new Map<string, number>();
const areas = new Map<string, number>();
const chains = new Map<string, number>();
let sampled = 0;
let idle = 0;
let t = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (t < fromUs || t > toUs) continue;
  const node = byId.get(profile.samples[i]!)!;
  if (node.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  sampled += dt;
  const k = key(node.callFrame);
  self.set(k, (self.get(k) ?? 0) + dt);
  const a = area(node.callFrame);
  areas.set(a, (areas.get(a) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const frame = byId.get(id)!.callFrame;
    if (values.callers !== undefined && frame.functionName === values.callers && !seen.has('\0callers')) {
      seen.add('\0callers');
      const chain: string[] = [];
      for (let up = parent.get(id); up !== undefined && chain.length < 4; up = parent.get(up)) {
        const f = byId.get(up)!.callFrame;
        chain.push(`${f.functionName || '(anonymous)'} ${where(f)}`);
      }
      const c = chain.join(' <- ');
      chains.set(c, (chains.get(c) ?? 0) + dt);
    }
    const kk = key(frame);
    if (seen.has(kk)) continue;
    seen.add(kk);
    total.set(kk, (total.get(kk) ?? 0) + dt);
  }
}

const ms = (us: number): string => (us / 1000).toFixed(0);
const pct = (us: number): string => `${((100 * us) / sampled).toFixed(1)}%`;
const rows = (m: Map<string, number>): string[][] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => {
      const [fn, loc] = k.split('\t');
      return [ms(us), pct(us), fn!, loc!];
    });

console.log(`${file}: ${ms(sampled)} ms busy, ${ms(idle)} ms idle in the window (${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled)\n`);
console.log('self time by area');
console.log(table(['ms', 'share', 'area'], [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([a, us]) => [ms(us), pct(us), a])));
console.log('\nself time');
console.log(table(['ms', 'share', 'function', 'where'], rows(self)));
console.log('\ninclusive time');
console.log(table(['ms', 'share', 'function', 'where'], rows(total)));

if (values.callers !== undefined) {
  console.log(`\ncallers of ${values.callers} (inclusive time)`);
  console.log(table(['ms', 'share', 'called from'], [...chains.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([c, us]) => [ms(us), pct(us), c])));
}
