import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { GrpcChannel } from './grpc.ts';
import { decodeMessage, defineSchema, type Schema } from './protobuf.ts';

/**
 * The two calls of containerd's Tasks service that killing an exec needs, beside the CRI: the CRI
 * has no call to kill an exec, and containerd's streaming server leaves the command running when
 * its client goes (it runs it on a context of its own), so `kubectl exec` interrupted would leave
 * `sleep 1000` behind. Field numbers as in containerd's api/services/tasks/v1/tasks.proto,
 * api/types/task/task.proto and runtime/v2/runc/options/oci.proto.
 */
const TASKS_TABLE = {
  'google.protobuf': { messages: { Any: 'string type_url = 1; bytes value = 2', Empty: '' } },
  'containerd.v1.types': { messages: { ProcessInfo: 'uint32 pid = 1; google.protobuf.Any info = 2' } },
  'containerd.runc.v1': { messages: { ProcessDetails: 'string exec_id = 1' } },
  'containerd.services.tasks.v1': {
    messages: {
      KillRequest: 'string container_id = 1; string exec_id = 2; uint32 signal = 3; bool all = 4',
      ListPidsRequest: 'string container_id = 1',
      ListPidsResponse: 'repeated containerd.v1.types.ProcessInfo processes = 1',
    },
    services: { Tasks: 'Kill(KillRequest) google.protobuf.Empty; ListPids(ListPidsRequest) ListPidsResponse' },
  },
} as const;

let schema: Schema | undefined;
function tasksSchema(): Schema {
  schema ??= defineSchema(TASKS_TABLE);
  return schema;
}

const SIGKILL = 9;
/** How long an exec's process is looked for after its streams are set up (it starts right after). */
const FIND_FOR_MS = 3000;

/**
 * Finds and kills the processes of CRI execs. An exec's process is known to containerd by an exec
 * id the CRI never tells; it is found as the one that appeared in the container after the exec
 * was asked for and that no other session took, preferring one whose command line is the exec's.
 */
export class ExecProcesses {
  readonly #grpc: GrpcChannel;
  readonly #metadata: Readonly<Record<string, string>>;
  readonly #timeoutMs: number;
  /** Exec ids taken by sessions of this runtime, so two sessions never take the same process. */
  readonly #taken = new Set<string>();

  constructor(grpc: GrpcChannel, options: { namespace?: string; timeoutMs?: number } = {}) {
    this.#grpc = grpc;
    this.#metadata = { 'containerd-namespace': options.namespace ?? 'k8s.io' };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The exec processes of a container: exec id → pid. */
  async list(containerId: string): Promise<Map<string, number>> {
    const s = tasksSchema();
    const r = await this.#grpc.unary<{ processes: { pid: number; info: { typeUrl: string; value: Buffer } | null }[] }>(
      s.services.get('containerd.services.tasks.v1.Tasks')!,
      'ListPids',
      { containerId },
      { metadata: this.#metadata, timeoutMs: this.#timeoutMs },
    );
    const details = s.messages.get('containerd.runc.v1.ProcessDetails')!;
    const out = new Map<string, number>();
    for (const p of r.processes) {
      if (p.info === null || !p.info.typeUrl.endsWith('containerd.runc.v1.ProcessDetails')) continue;
      const execId = decodeMessage(details, p.info.value)['execId'];
      if (typeof execId === 'string' && execId !== '') out.set(execId, p.pid);
    }
    return out;
  }

  /**
   * Looks for the process of an exec started after `before` was listed, until it is found, `done`
   * settles (it exited) or {@link FIND_FOR_MS} pass. The id found stays taken until `done` settles.
   */
  async find(containerId: string, before: ReadonlyMap<string, number>, cmd: readonly string[], done: Promise<unknown>): Promise<string | undefined> {
    let over = false;
    void done.finally(() => (over = true));
    const deadline = Date.now() + FIND_FOR_MS;
    for (let wait = 10; !over && Date.now() < deadline; wait = Math.min(wait * 2, 250)) {
      const now = await this.list(containerId).catch(() => new Map<string, number>());
      const fresh = [...now].filter(([id]) => !before.has(id) && !this.#taken.has(id)).sort((a, b) => a[1] - b[1]);
      if (fresh.length > 0) {
        const matching = [];
        for (const f of fresh) if (await commandLineIs(f[1], cmd)) matching.push(f);
        const [execId] = matching[0] ?? fresh[0]!;
        this.#taken.add(execId);
        void done.finally(() => this.#taken.delete(execId));
        return execId;
      }
      await delay(wait);
    }
    return undefined;
  }

  /** SIGKILLs an exec's process (not its children, which lose their stdio with it). */
  async kill(containerId: string, execId: string): Promise<void> {
    await this.#grpc.unary(tasksSchema().services.get('containerd.services.tasks.v1.Tasks')!, 'Kill', { containerId, execId, signal: SIGKILL, all: false }, { metadata: this.#metadata, timeoutMs: this.#timeoutMs });
  }
}

/**
 * Whether a process's arguments end with the exec's (its first word may differ: an interpreter
 * runs a script by its path). False when /proc cannot tell (containerd in another pid namespace).
 */
async function commandLineIs(pid: number, cmd: readonly string[]): Promise<boolean> {
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(0, -1);
    const tail = cmd.slice(1);
    if (args.length === cmd.length && basename(args[0] ?? '') !== basename(cmd[0] ?? '')) return false;
    return args.length >= cmd.length && tail.every((a, i) => args[args.length - tail.length + i] === a);
  } catch {
    return false;
  }
}
