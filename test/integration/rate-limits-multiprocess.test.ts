/**
 * The limit holds across separate Node processes (like separate Lambda instances) sharing one
 * DynamoDB engine: 200 messages from one user through 4 processes admit exactly 10.
 */
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { SimulatedOnlyFansGateway } from '../../lambdas/local/simulated-onlyfans';
import { startWorker, type Worker } from '../helpers/worker-process';

const PROCESSES = 4;
const PER_PROCESS = 50;
const KEY = 'sk-multiprocess-user-key';

describe('rate limits across processes', () => {
  let dynamo: LocalDynamo;
  const onlyfans = new SimulatedOnlyFansGateway();
  let workers: Worker[] = [];

  beforeAll(async () => {
    dynamo = await startDynalite();
    const env = { DYNAMODB_ENDPOINT: dynamo.endpoint, ONLYFANS_GATEWAY_URL: await onlyfans.listen(), LOCAL_API_KEY: KEY };
    // Sequentially: each creates the tables if missing and registers the same key.
    for (let i = 0; i < PROCESSES; i += 1) workers.push(await startWorker('limiter-worker.ts', env));
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
