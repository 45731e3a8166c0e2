/** Benchmark upstream: a simulated provider (OpenAI, or `SIM_PROVIDER`'s dialect) in its own process, zero added latency. */
import { SimulatedUpstream } from '../lambdas/local/simulated-upstream';

const sim = new SimulatedUpstream({
  provider: process.env['SIM_PROVIDER'] ?? 'openai',
  apiKey: process.env['SIM_KEY'] ?? 'sk-bench-upstream',
  latencyMs: 0,
  chunkDelayMs: 0,
  // The direct run alone sends ~400,000 requests a minute: limits a real provider would enforce would
  // make the gateway's run that follows see this upstream as near its limit and route around it.
  limits: { requests: 1e12, tokens: 1e15 },
});
// Keep the request log from growing: the benchmark does not read it.
sim.requests.push = () => 0;
void sim.listen().then((url) => process.stdout.write(`${JSON.stringify({ url })}\n`));
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
