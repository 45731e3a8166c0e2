/**
 * One gateway process for multi-process tests: the local gateway on the shared dynalite and
 * upstreams given in its environment. Reports its URL, then serves until it is told to stop.
 */
import { startLocalGateway } from '../../lambdas/local/local-gateway';

async function main() {
  const gw = await startLocalGateway({ env: { DYNAMODB_TIMEOUT_MS: '5000', ...process.env, PORT: '0', LOG_LEVEL: 'SILENT' } });
  process.on('message', async (msg: { stop?: boolean }) => {
    if (!msg.stop) return;
    await gw.gateway.health.flushAll();
    await gw.close();
    process.exit(0);
  });
  process.send!({ ready: gw.url });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
