/**
 * The local DynamoDB engine in a process of its own (`npm start`), so dynalite's work never shares
 * the gateway's event loop, like DynamoDB is a service of its own on AWS. Started with `fork`: it
 * reports its endpoint over IPC, and stops (letting requests in flight finish) when told to or when
 * its parent goes away, however the parent ended.
 */
import { fork } from 'node:child_process';
import type { LocalDynamo } from './dynamodb-local';

interface Ready {
  endpoint: string;
}

/** Forks the engine (on disk under `path`, else in memory) and resolves once it accepts connections. */
export function startDynaliteProcess(options: { path?: string; onStopped?: () => void } = {}): Promise<LocalDynamo> {
  // The parent's loader (tsx) comes along; a debugger port would clash with the parent's.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--inspect'));
  const nodeOptions = (process.env['NODE_OPTIONS'] ?? '')
    .split(/\s+/)
    .filter((arg) => arg !== '' && !arg.startsWith('--inspect'))
    .join(' ');
  const child = fork(__filename, options.path ? [options.path] : [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
  });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error('the local DynamoDB engine did not start within 30 s')), 30_000);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the local DynamoDB engine exited with ${code} while starting`)));
    child.once('message', (message: Ready) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      let closing = false;
      const exited = new Promise<void>((done) =>
        child.once('exit', (code, signal) => {
          if (!closing) {
            process.stderr.write(`hybrid-orchestrator: the local DynamoDB engine stopped (${signal ?? code})\n`);
            options.onStopped?.();
          }
          done();
        }),
      );
      child.on('error', (error) => process.stderr.write(`hybrid-orchestrator: local DynamoDB engine: ${error.message}\n`));
      resolve({
        endpoint: message.endpoint,
        pid: child.pid,
        close: async () => {
          closing = true;
          if (child.connected) child.disconnect();
          else if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          // The engine lets requests in flight finish (2 s at most); past that it is stopped outright.
          const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(force);
        },
      });
    });
  });
}

// Running as the forked engine.
if (require.main === module && process.send) {
  // dynalite reports a database it cannot open (another process holds DATA_DIR's lock) by throwing
  // from a callback: say what it means instead of a stack trace.
  process.on('uncaughtException', (error) => {
    const locked = /lock|Database is closed/i.test(error.message);
    process.stderr.write(
      locked
        ? `hybrid-orchestrator: the local DynamoDB engine could not open DATA_DIR (${error.message}); is another gateway using it?\n`
        : `hybrid-orchestrator: local DynamoDB engine: ${error.message}\n`,
    );
    process.exit(1);
  });
  void (async () => {
    const { startDynalite } = await import('./dynamodb-local');
    const engine = await startDynalite(process.argv[2] ? { path: process.argv[2] } : {});
    // The parent disconnects to stop it, or disappears: either way the channel closes.
    let stopping: Promise<void> | undefined;
    const stop = () => void (stopping ??= engine.close().finally(() => process.exit(0)));
    process.once('disconnect', stop);
    process.once('SIGTERM', stop);
    // Ctrl-C reaches the whole process group: the parent decides when the engine stops.
    process.on('SIGINT', () => undefined);
    process.send!({ endpoint: engine.endpoint } satisfies Ready);
  })().catch((error: unknown) => {
    process.stderr.write(`local DynamoDB engine: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
