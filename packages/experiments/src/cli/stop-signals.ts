/**
 * Stopping a study cleanly: the first SIGINT (Ctrl-C) or SIGTERM asks the trainer to stop at the
 * end of the current step (it writes a checkpoint and the CLI prints the step and the command that
 * resumes); a second one exits at once.
 *
 * Under `pnpm ablate` this process is a child of tsx, a child of a shell, a child of pnpm: when
 * one of those launchers is killed outright (SIGKILL, a closed terminal) nothing is signalled
 * down to here, and training would go on unseen. So on Linux the launcher processes up to the
 * outermost pnpm (or npx) are watched (a killed one's child is re-parented), and their death counts as a SIGTERM. Without pnpm among the ancestors (node run
 * by hand, `nohup`) nothing is watched: a shell that exits must not stop a run started to outlive it.
 */
import { readFileSync } from 'node:fs';

export interface StopSignals {
  /** The signal that asked to stop, or null. */
  readonly requested: () => string | null;
}

const WATCH_MS = 1000;

function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * The ancestors from the parent up to the outermost package-manager process (pnpm, or the npx /
 * npm exec that started it), or [] when there is none among them.
 */
export function launcherPids(from: number = process.ppid): number[] {
  const chain: number[] = [];
  let outermost = -1;
  for (let pid: number | null = from; pid !== null && pid > 1 && chain.length < 12; pid = parentOf(pid)) {
    chain.push(pid);
    if (/\b(pnpm|npx|npm exec)\b/.test(commandLine(pid))) outermost = chain.length;
  }
  return chain.slice(0, Math.max(0, outermost));
}

/**
 * Whether every launcher is still where it was: a killed one's child is handed to another parent
 * (a dead process may linger as a zombie, so being signalable proves nothing).
 */
function chainIntact(chain: readonly number[]): boolean {
  return process.ppid === chain[0] && chain.slice(1).every((pid, i) => parentOf(chain[i]) === pid);
}

/**
 * Installs the handlers; `onFirst` is told which signal arrived (to print that the run will stop
 * after its step), `onSecond` exits.
 */
export function listenForStop(onFirst: (signal: string) => void, onSecond: (signal: string) => void): StopSignals {
  let requested: string | null = null;
  const handle = (signal: string) => {
    if (requested !== null) return onSecond(signal);
    requested = signal;
    onFirst(signal);
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
  const launchers = launcherPids();
  if (launchers.length) {
    const timer = setInterval(() => {
      if (requested === null && !chainIntact(launchers)) handle('the launching pnpm process exited');
    }, WATCH_MS);
    timer.unref();
  }
  return { requested: () => requested };
}
