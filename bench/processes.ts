/** Child processes of the bench: started, read until ready, and stopped at the end. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(__dirname, '..');

/** Every child started, in start order (stopped by the caller at the end). */
export const children: ChildProcess[] = [];

/** Peak resident memory of a child process in MiB (Linux /proc), or null where unavailable. */
export function peakRssMiB(child: ChildProcess | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${child?.pid}/status`, 'utf8');
    const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kib ? Math.round(Number(kib) / 1024) : null;
  } catch {
    return null;
  }
}

export function start(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: (line: string) => string | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const value = ready(line);
      if (value) {
        clearTimeout(timer);
        // Keep draining stdout (request logs) so the child never blocks on a full pipe.
        lines.removeAllListeners('line');
        child.stdout!.resume();
        resolve(value);
      }
    });
  });
}
