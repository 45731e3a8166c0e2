/** Starts a gateway worker process (a `test/helpers/*-worker.ts` file) for multi-process tests, and stops it. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Worker {
  child: ChildProcess;
  url: string;
}

/** Forks `helpers/<file>` with `env` and resolves once it reports the URL it serves on. */
export function startWorker(file: string, env: Record<string, string>): Promise<Worker> {
  const child = fork(join(__dirname, file), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    child.once('message', (msg: { ready?: string }) =>
      msg.ready ? resolve({ child, url: msg.ready }) : reject(new Error('unexpected message')),
    );
  });
}

/** Asks a `gateway-worker.ts` process to flush its writes and stop, and resolves once it has exited. */
export function stopWorker(worker: Worker): Promise<unknown> {
  return new Promise((resolve) => {
    worker.child.removeAllListeners('exit');
    worker.child.once('exit', resolve);
    worker.child.send({ stop: true });
  });
}
