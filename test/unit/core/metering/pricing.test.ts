import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { costMicros, parsePriceTable, priceOf } from '../../../../lambdas/core/metering/pricing';
import { parseRouteTable } from '../../../../lambdas/core/ai/route-table';

const table = parsePriceTable(
  JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'config', 'prices.json'), 'utf8')),
  'config/prices.json',
);

describe('price table', () => {
  it('prices every model the default route table can send, with a date and a source', () => {
    const routes = parseRouteTable(
      JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'config', 'routes.json'), 'utf8')),
      'routes',
    );
    for (const provider of Object.keys(routes.providers)) {
      for (const model of routes.providers[provider]?.models ?? [])
        expect({ provider, model, priced: priceOf(table, provider, model) !== undefined }).toEqual({ provider, model, priced: true });
    }
    expect(table.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(table.source).toContain('https://');
  });

  it('keeps prices as integer micro-dollars per million tokens', () => {
    // Without a cache-write price, cache writes cost what input costs.
    expect(priceOf(table, 'openai', 'gpt-4o')).toEqual({
      input: 2_500_000,
      cachedInput: 1_250_000,
      cacheWriteInput: 2_500_000,
      output: 10_000_000,
    });
    expect(priceOf(table, 'openai', 'gpt-4o-mini')).toEqual({
      input: 150_000,
      cachedInput: 75_000,
      cacheWriteInput: 150_000,
      output: 600_000,
    });
    expect(priceOf(table, 'bedrock', 'claude-3-5-haiku')).toEqual({
      input: 800_000,
      cachedInput: 80_000,
      cacheWriteInput: 1_000_000,
      output: 4_000_000,
    });
    expect(priceOf(table, 'openai', 'gpt-5-unknown')).toBeUndefined();
  });

  it('computes costs in integer micro-dollars, cached input at its own price', () => {
    const gpt4o = priceOf(table, 'openai', 'gpt-4o')!;
    expect(costMicros(gpt4o, { promptTokens: 1000, completionTokens: 500 })).toBe(2500 + 5000);
    expect(costMicros(gpt4o, { promptTokens: 1000, completionTokens: 500, cachedTokens: 200 })).toBe(2000 + 250 + 5000);
    // Bedrock's Claude: cache reads at 10% of input, writes at 125%; both are parts of the prompt tokens.
    const haiku = priceOf(table, 'bedrock', 'claude-3-5-haiku')!;
    expect(costMicros(haiku, { promptTokens: 3000, completionTokens: 100, cachedTokens: 1000, cacheWriteTokens: 1500 })).toBe(
      400 + 80 + 1500 + 400,
    );
    // Counts that overrun the prompt are capped by it (reads first), never a negative input part.
    expect(costMicros(haiku, { promptTokens: 100, completionTokens: 0, cachedTokens: 80, cacheWriteTokens: 50 })).toBe(6 + 20);
    // 7 x 0.15 = 1.05 -> 1; 3 x 0.6 = 1.8 -> 2 (half up, per token kind).
    expect(costMicros(priceOf(table, 'openai', 'gpt-4o-mini')!, { promptTokens: 7, completionTokens: 3 })).toBe(3);
    expect(
      Number.isInteger(
        costMicros(priceOf(table, 'openai', 'o4-mini')!, { promptTokens: 123_457, completionTokens: 98_765, cachedTokens: 1111 }),
      ),
    ).toBe(true);
  });

  it('sums without drift: a million one-token requests cost what one million-token request costs, to the rounding of each', () => {
    const price = priceOf(table, 'openai', 'gpt-4.1')!;
    let sum = 0;
    for (let i = 0; i < 1000; i += 1) sum += costMicros(price, { promptTokens: 1000, completionTokens: 1000 });
    expect(sum).toBe(costMicros(price, { promptTokens: 1_000_000, completionTokens: 1_000_000 }));
  });

  it.each([
    [{ version: '1', currency: 'EUR', source: 's', models: {} }, /currency/],
    [{ version: '1', currency: 'USD', source: 's', models: { openai: { x: { input: -1, output: 1 } } } }, /input/],
    [{ version: '1', currency: 'USD', source: 's', models: { openai: { x: { input: 0.0000001, output: 1 } } } }, /6 decimals/],
    [{ version: '1', currency: 'USD', models: {} }, /source/],
  ])('rejects an invalid table (%#)', (doc, message) => {
    expect(() => parsePriceTable(doc, 'test')).toThrow(message);
  });
});
