/** `npm start`: the gateway on http://127.0.0.1:3000 with no AWS account. Ctrl-C stops it cleanly. */
import { ConfigError } from '../core/errors';
import { SHUTDOWN_GRACE_MS, startLocalGateway } from './local-gateway';

async function main() {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  // dynalite runs in a process of its own: its work never shares the gateway's event loop.
  let engineStopped = () => undefined as void;
  const local = await startLocalGateway({ engine: 'process', onEngineStopped: () => engineStopped() });
  const { config } = local;
  const modes = Object.entries(local.providerModes)
    .map(
      ([provider, mode]) =>
        `${provider}: ${mode === 'real' ? 'REAL (keys from the environment)' : 'SIMULATED (no keys set; answers are fake)'}`,
    )
    .join('\n    ');
  process.stdout.write(
    [
      '',
      `  Hybrid Orchestrator gateway listening on ${local.url}`,
      `  OpenAI-compatible base URL: ${local.url}/v1`,
      '  Providers:',
      `    ${modes}`,
      `  DynamoDB: ${process.env['DYNAMODB_ENDPOINT'] ? `${local.dynamoEndpoint} (DYNAMODB_ENDPOINT)` : `dynalite in its own process (pid ${local.dynamoPid}), ${config.local.dataDir ? `on disk in ${config.local.dataDir}` : 'in memory (set DATA_DIR to keep data)'}`}`,
      `  OnlyFans gateway: ${local.onlyfans ? `SIMULATED on ${local.onlyfans.url} (set ONLYFANS_GATEWAY_URL for a real one)` : config.onlyfans.gatewayUrl}`,
      `  Rollout flags: ${config.flags.file} (re-read every ${config.flags.refreshMs / 1000} s)`,
      `  Heartbeats: ${config.health.heartbeatIntervalMs > 0 ? `every ${config.health.heartbeatIntervalMs / 1000} s (GET /api/ai-providers/health)` : 'off'}`,
      `  User key:  ${config.local.userKey}`,
      `  Admin key: ${config.local.adminKey}`,
      ...(config.aiMetering ? [] : ['  AI metering: OFF (AI_METERING=off): AI requests have no per-user limits, quota or usage records']),
      ...(config.local.simFail ? [`  Injected failures (SIM_FAIL): ${config.local.simFail}`] : []),
      '',
      `  Try: curl ${local.url}/v1/chat/completions -H "Authorization: Bearer ${config.local.userKey}" \\`,
      `         -H "content-type: application/json" -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'`,
      '',
    ]
      .filter((line, i, all) => line !== '' || all[i - 1] !== '')
      .join('\n') + '\n',
  );

  let stopping = false;
  const stop = async (why: string) => {
    // A second Ctrl-C (or SIGTERM) while shutting down exits at once.
    if (stopping) {
      process.stdout.write('  stopping now.\n');
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`\n  ${why}, shutting down (Ctrl-C again to stop at once)...\n`);
    // Bounded even if storage hangs: streams end with an error event, the last usage records are
    // written or spilled to disk, and whatever is still running after SHUTDOWN_GRACE_MS is cut.
    const forced = setTimeout(() => {
      process.stdout.write('  shutdown took too long; stopping now.\n');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS + 10_000);
    forced.unref();
    await local.close();
    process.stdout.write('  stopped.\n');
    process.exit(0);
  };
  // Without its storage the gateway can only answer 503: stop, so a supervisor restarts both.
  engineStopped = () => void stop('the local DynamoDB engine stopped');
  process.on('SIGINT', () => void stop('SIGINT received'));
  process.on('SIGTERM', () => void stop('SIGTERM received'));
  // Stopped the way a process manager stops `npm start` (SIGTERM to npm): npm and its shell exit
  // without passing the signal on, and this process is left to init. It notices and stops too.
  const parent = process.ppid;
  const orphaned = setInterval(() => {
    if (process.ppid !== parent) void stop('the process that started the gateway has exited');
  }, 500);
  orphaned.unref();
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `failed to start: ${(error as Error).message}`;
  process.stderr.write(`hybrid-orchestrator: ${message}\n`);
  process.exit(1);
});
