import { readdirSync, readFileSync } from 'node:fs';

/**
 * The start time of a live process (field 22 of /proc/<pid>/stat, in clock ticks since boot), or
 * undefined when there is no such process or it is a zombie. A zombie has exited but was not reaped
 * (its parent died and the machine's PID 1 does not reap, as in some containers): it must count as
 * gone, or a stopped process would look alive forever. Comparing start times tells a process from
 * a later one that got the same pid.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** Whether a process exists and has not exited (zombies are not running). */
export function isRunning(pid: number): boolean {
  return pid > 0 && processStartTime(pid) !== undefined;
}

/**
 * The live processes of a process group that started no earlier than `notBefore` (a start time as
 * {@link processStartTime} returns it): the processes a container started, even after the one
 * that led the group has exited. The start-time bound keeps a later, unrelated group that reused
 * the number out.
 */
export function groupMembers(pgid: number, notBefore: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X' || Number(f[2]) !== pgid) continue;
    if (BigInt(f[19] ?? '0') < BigInt(notBefore)) continue;
    out.push(Number(e));
  }
  return out;
}
