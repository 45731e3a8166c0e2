/**
 * One gateway process for the multi-process limiter test: runs the local gateway on the shared
 * dynalite and OnlyFans simulator given in its environment, then, when told, fires concurrent
 * messages at itself and reports the statuses.
 */
import { startLocalGateway } from '../../lambdas/local/local-gateway';

async function main() {
  const gw = await startLocalGateway({ env: { DYNAMODB_TIMEOUT_MS: '5000', ...process.env, PORT: '0', LOG_LEVEL: 'SILENT' } });
  process.on('message', async (msg: { go?: number; key?: string }) => {
    if (!msg.go) return;
    const statuses = await Promise.all(
      Array.from({ length: msg.go }, (_, i) =>
        fetch(`${gw.url}/api/onlyfans/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${msg.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ creatorId: 'c_1', fanId: `f_${process.pid}_${i}`, text: `hello ${i}` }),
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    // Finish this process's writes (usage records) before reporting, so the shared engine can close.
    await gw.gateway.background.drain();
    process.send!({ statuses });
    await gw.close();
    process.exit(0);
  });
  process.send!({ ready: gw.url });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
