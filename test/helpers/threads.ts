// The threads of this process by name, with their nice values, from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadInfo {
  tid: number;
  name: string;
  nice: number;
}

export function threadsNamed(name: string): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    let comm: string;
    let stat: string;
    try {
      comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    if (comm !== name) continue;
    // The fields after the name, which is in parentheses and may hold any character: state is
    // field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ tid: Number(tid), name: comm, nice: Number(fields[19 - 3]) });
  }
  return out;
}

/** This thread's nice value (the event loop's, when called from the main thread). */
export function ownNice(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
}
