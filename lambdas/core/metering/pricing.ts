/**
 * The price table (`config/prices.json`, overridable per deployment) and exact costs: prices are kept
 * as integer micro-dollars per million tokens, and a cost is integer micro-dollars, rounded half up
 * once per token kind, so sums never drift.
 */
import * as z from 'zod';
import { ConfigError, formatIssues } from '../errors';
import type { Usage } from '../ai/ports';
import { ProviderIdSchema, type ProviderId } from '../ai/route-table';

/** USD per million tokens, at most 6 decimals (1 micro-dollar per million tokens). */
const Price = z
  .number()
  .min(0)
  .max(10_000)
  .refine((v) => Math.abs(Math.round(v * 1e6) - v * 1e6) < 1e-6, { message: 'at most 6 decimals' });

const ModelPriceSchema = z.strictObject({ input: Price, cachedInput: Price.optional(), cacheWriteInput: Price.optional(), output: Price });

export const PriceTableSchema = z.object({
  version: z.string().min(1),
  currency: z.literal('USD'),
  unit: z.string().optional(),
  source: z.string().min(1),
  models: z.record(ProviderIdSchema, z.record(z.string().min(1), ModelPriceSchema)),
});
export type PriceTableDocument = z.infer<typeof PriceTableSchema>;

/** Micro-dollars per million tokens. */
export interface ModelPrice {
  input: number;
  cachedInput: number;
  /** Prompt tokens written to the prompt cache (Bedrock's Claude: 1.25x input). */
  cacheWriteInput: number;
  output: number;
}

export interface PriceTable {
  version: string;
  source: string;
  prices: Map<string, ModelPrice>;
}

const priceKey = (provider: ProviderId, model: string) => `${provider}\u0000${model}`;

export function parsePriceTable(document: unknown, source: string): PriceTable {
  const parsed = PriceTableSchema.safeParse(document);
  if (!parsed.success) {
    throw new ConfigError(`${source}: invalid price table: ${formatIssues(parsed.error)}`);
  }
  const prices = new Map<string, ModelPrice>();
  for (const [provider, models] of Object.entries(parsed.data.models)) {
    for (const [model, price] of Object.entries(models)) {
      const micros = (usd: number) => Math.round(usd * 1e6);
      // Without a cached-input (or cache-write) price, those tokens cost what other input tokens cost.
      prices.set(priceKey(provider, model), {
        input: micros(price.input),
        cachedInput: micros(price.cachedInput ?? price.input),
        cacheWriteInput: micros(price.cacheWriteInput ?? price.input),
        output: micros(price.output),
      });
    }
  }
  return { version: parsed.data.version, source: parsed.data.source, prices };
}

export function priceOf(table: PriceTable, provider: ProviderId, model: string): ModelPrice | undefined {
  return table.prices.get(priceKey(provider, model));
}

/** `tokens * microsPerMillion / 1e6`, rounded half up, in integers. */
function tokenCost(tokens: number, microsPerMillion: number): number {
  return Math.floor((tokens * microsPerMillion + 500_000) / 1_000_000);
}

/** The cost of `usage` in micro-dollars; cache reads and writes are parts of the prompt tokens. */
export function costMicros(
  price: ModelPrice,
  usage: Pick<Usage, 'promptTokens' | 'completionTokens' | 'cachedTokens' | 'cacheWriteTokens'>,
): number {
  const cached = Math.min(usage.cachedTokens ?? 0, usage.promptTokens);
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cached);
  return (
    tokenCost(usage.promptTokens - cached - written, price.input) +
    tokenCost(cached, price.cachedInput) +
    tokenCost(written, price.cacheWriteInput) +
    tokenCost(usage.completionTokens, price.output)
  );
}
