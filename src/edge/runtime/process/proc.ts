import { readFileSync } from 'node:fs';

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
