import { estimateTokens, parseSimFail } from '../../../lambdas/local/simulated-upstream';

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
