/**
 * The limit holds across separate Node processes (like separate Lambda instances) sharing one
 * DynamoDB engine: 200 messages from one user through 4 processes admit exactly 10.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { SimulatedOnlyFansGateway } from '../../lambdas/local/simulated-onlyfans';

const PROCESSES = 4;
const PER_PROCESS = 50;
const KEY = 'sk-multiprocess-user-key';

function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(__dirname, '..', 'helpers', 'limiter-worker.ts'), [], {
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

describe('rate limits across processes', () => {
  let dynamo: LocalDynamo;
  const onlyfans = new SimulatedOnlyFansGateway();
  let workers: Array<{ child: ChildProcess; url: string }> = [];

  beforeAll(async () => {
    dynamo = await startDynalite();
    const env = { DYNAMODB_ENDPOINT: dynamo.endpoint, ONLYFANS_GATEWAY_URL: await onlyfans.listen(), LOCAL_API_KEY: KEY };
    // Sequentially: each creates the tables if missing and registers the same key.
    for (let i = 0; i < PROCESSES; i += 1) workers.push(await start(env));
  }, 60_000);

  const exited: Array<Promise<unknown>> = [];
  afterAll(async () => {
    for (const w of workers) w.child.kill();
    // The engine closes last, once no process can still be writing to it.
    await Promise.all(exited);
    await onlyfans.close();
    await dynamo.close();
  });

  it('admits exactly 10 of 200 concurrent messages from one user sent through 4 processes', async () => {
    // The minute is a sliding window: no need to keep the burst inside one calendar minute.
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<number[]>((resolve) => {
            w.child.removeAllListeners('exit');
            exited.push(new Promise((done) => w.child.once('exit', done)));
            w.child.once('message', (msg: { statuses: number[] }) => resolve(msg.statuses));
            w.child.send({ go: PER_PROCESS, key: KEY });
          }),
      ),
    );
    workers = [];
    const statuses = results.flat();
    expect(statuses).toHaveLength(PROCESSES * PER_PROCESS);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);
    expect(onlyfans.delivered).toHaveLength(10);
    // Per-process counters would have admitted 10 in each process (40 in all).
    for (const r of results) expect(r).toHaveLength(PER_PROCESS);
  }, 60_000);
});
