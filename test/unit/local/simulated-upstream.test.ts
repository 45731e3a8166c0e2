import { Agent, request } from 'undici';
import { estimateTokens, parseSimFail, SimulatedUpstream } from '../../../lambdas/local/simulated-upstream';

describe('parseSimFail', () => {
  it('reads provider, fault and optional count', () => {
    const faults = parseSimFail('azure-openai:503, openai:timeout:2');
    expect(faults.get('azure-openai')).toEqual({ fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });
    expect(faults.get('openai')).toEqual({ fault: { kind: 'timeout' }, times: 2 });
    expect(parseSimFail('openai:reset').get('openai')?.fault).toEqual({ kind: 'reset' });
    expect(parseSimFail('openai:midstream').get('openai')?.fault).toEqual({ kind: 'midstream' });
    expect(parseSimFail(undefined).size).toBe(0);
  });

  it('rejects what it does not understand', () => {
    expect(() => parseSimFail('anthropic:503')).toThrow(/unknown provider/);
    expect(() => parseSimFail('openai:boom')).toThrow(/unknown fault/);
    expect(() => parseSimFail('openai:503:0')).toThrow(/bad count/);
  });
});

describe('estimateTokens', () => {
  it('counts about four characters per token', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('hi')).toBe(1);
    expect(estimateTokens('x'.repeat(400))).toBe(100);
  });
});

describe('the calls it counts', () => {
  it('counts every request while keeping only the last 1,000', async () => {
    const sim = new SimulatedUpstream({ provider: 'openai', apiKey: 'sk-sim' });
    const base = await sim.listen();
    const agent = new Agent({ connections: 8 });
    try {
      const send = (i: number) =>
        request(`${base}/models?n=${i}`, { headers: { authorization: 'Bearer sk-sim' }, dispatcher: agent }).then((r) => r.body.text());
      for (let i = 0; i < 1005; i += 8) await Promise.all(Array.from({ length: Math.min(8, 1005 - i) }, (_, j) => send(i + j)));
      expect(sim.calls).toBe(1005);
      expect(sim.requests).toHaveLength(1000);
      const before = sim.calls;
      await send(2000);
      await send(2001);
      expect(sim.requestsSince(before).map((r) => r.path)).toEqual(['/v1/models?n=2000', '/v1/models?n=2001']);
      expect(sim.requestsSince(sim.calls)).toEqual([]);
      expect(() => sim.requestsSince(0)).toThrow(/more than the 1000 kept/);
    } finally {
      await agent.close();
      await sim.close();
    }
  });
});
